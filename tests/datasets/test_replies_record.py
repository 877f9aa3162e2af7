"""The reply record's exactly-once protocol (docs/rules.md §9) on real Parquet, with the send
injected: what reaches `send` is what a real run would hand to send.php, and a `send` that
raises is a run killed between the record and LightSMS's answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lightsms_pipeline.api.send import SendOutcome
from lightsms_pipeline.contract import CLASSIFIED, REPLY_RECORD_PARQUET
from lightsms_pipeline.datasets.replies import RepliesOptions, answer_messages, read_record
from lightsms_pipeline.normalize.schema import incoming_schema
from lightsms_pipeline.rules import classify, rules_from_mapping
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.storage.parquet import Dataset

TZ = "Europe/Vilnius"
ALICE, BOB = "37061234567", "37069999999"
RULES = rules_from_mapping({"replies": {"sender": "MyBrand", "help": "Call us"}})


class Sends:
    """An injected `send`: answers `outcomes` in turn (the last one repeated) and keeps the calls,
    each with the record's state for that reply as it was on disk when the request went out."""

    def __init__(self, dataset: Dataset, *outcomes: SendOutcome | BaseException) -> None:
        self.dataset, self.outcomes, self.calls = dataset, list(outcomes), []

    def __call__(self, client: Any, *, phone: str, text: str, sender: str, label: str | None) -> SendOutcome:
        on_disk = {r["subscriber"]: r["state"] for r in read_record(self.dataset).to_pylist()}
        self.calls.append({"phone": phone, "text": text, "sender": sender, "recorded": on_disk.get(label)})
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


SENT = SendOutcome("sent", error_code=0, provider_id="4092112510348380960001", cost="0.0144", count_sms=1)


def never(client: Any, **_: Any) -> SendOutcome:
    raise AssertionError("nothing may be sent")


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    """Today's classified messages: Alice's STOP and Bob's HELP a minute ago, an old HELP."""
    store = Dataset(tmp_path / "data")
    write_today(store, [("1", ALICE, "STOP", 1), ("2", BOB, "help", 1)])
    return store


def write_today(store: Dataset, messages: list[tuple[str, str, str, float]], rules: Rules = RULES) -> None:
    """(id_sms, sender, text, minutes ago) as today's classified_messages partition. "Ago" from
    the real clock at the call, as the run that follows decides by it (a time taken at import
    is minutes old by the time a slow suite runs the test, past confirm_within_minutes)."""
    now = datetime.now(UTC)
    rows = []
    for id_sms, sender, text, minutes in messages:
        received = (now - timedelta(minutes=minutes)).astimezone(ZoneInfo(TZ)).replace(microsecond=0)
        rows.append(
            {
                "id_sms": id_sms,
                "received_at": received,
                "sender": sender,
                "sender_e164": "+" + sender if sender.isdigit() else None,
                "phone": "5163251632",
                "prefix": "",
                "text": text,
                "account": "acc",
                "fetched_at": now,
            }
        )
    table = classify(pa.Table.from_pylist(rows, schema=incoming_schema(TZ)), rules)
    store.write_partition(CLASSIFIED, now.astimezone(ZoneInfo(TZ)).date(), table)


def run(store: Dataset, send: Callable[..., SendOutcome], mode: str = "on", rules: Rules = RULES) -> Any:
    return answer_messages(store, object(), RepliesOptions(mode, rules), datetime.now(UTC), send=send)  # type: ignore[arg-type]


def states(store: Dataset) -> dict[tuple[str, str], str]:
    return {(r["id_sms"], r["class"]): r["state"] for r in read_record(store).to_pylist()}


def test_each_reply_is_recorded_sending_before_its_request_and_sent_after(dataset: Dataset) -> None:
    sends = Sends(dataset, SENT)
    outcome = run(dataset, sends)
    assert [(c["phone"], c["sender"], c["recorded"]) for c in sends.calls] == [
        ("+37061234567", "MyBrand", "sending"),
        ("+37069999999", "MyBrand", "sending"),
    ]
    assert states(dataset) == {("1", "opt_out"): "sent", ("2", "help"): "sent"}
    sent = read_record(dataset).to_pylist()[0]
    assert (sent["provider_id"], sent["cost"], sent["count_sms"], sent["parts"]) == (
        "4092112510348380960001", "0.0144", 1, 1,
    )  # fmt: skip
    assert outcome.cost() == Decimal("0.0288")


def test_a_second_run_sends_nothing_twice(dataset: Dataset) -> None:
    run(dataset, Sends(dataset, SENT))
    again = Sends(dataset, SENT)
    run(dataset, again)
    assert again.calls == []


def test_a_run_killed_between_record_and_answer_leaves_unknown_and_never_sends_it_again(
    dataset: Dataset,
) -> None:
    crashing = Sends(dataset, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run(dataset, crashing)
    assert len(crashing.calls) == 1
    assert states(dataset) == {("1", "opt_out"): "sending"}  # durable before the request
    after = Sends(dataset, SENT)
    outcome = run(dataset, after)
    assert [c["phone"] for c in after.calls] == ["+37069999999"]  # Bob's HELP, not Alice again
    assert states(dataset) == {("1", "opt_out"): "unknown", ("2", "help"): "sent"}
    assert outcome.settled == 1
    assert run(dataset, Sends(dataset, SENT)).settled == 0


def test_a_lost_answer_is_unknown_and_never_sent_again(dataset: Dataset) -> None:
    run(dataset, Sends(dataset, SendOutcome("unknown", detail="read timed out"), SENT))
    assert states(dataset)[("1", "opt_out")] == "unknown"
    again = Sends(dataset, SENT)
    run(dataset, again)
    assert again.calls == []


def test_a_refusal_is_recorded_with_its_code_and_not_retried(dataset: Dataset) -> None:
    run(dataset, Sends(dataset, SendOutcome("refused", error_code=34, detail="error 34"), SENT))
    row = read_record(dataset).to_pylist()[0]
    assert (row["state"], row["error_code"]) == ("refused", 34)
    again = Sends(dataset, SENT)
    run(dataset, again)
    assert again.calls == []


def test_a_request_that_never_left_is_tried_again_next_run_and_the_rest_wait(dataset: Dataset) -> None:
    refused_connection = SendOutcome("not_sent", detail="connection refused")
    outcome = run(dataset, Sends(dataset, refused_connection))
    assert states(dataset) == {("1", "opt_out"): "not_sent"}
    assert outcome.deferred == 1  # Bob's HELP is left undecided, not sent into a dead link
    later = Sends(dataset, SENT)
    run(dataset, later)
    assert [c["phone"] for c in later.calls] == ["+37061234567", "+37069999999"]
    assert set(states(dataset).values()) == {"sent"}


def test_dry_run_records_the_same_decisions_and_sends_nothing(dataset: Dataset) -> None:
    outcome = run(dataset, never, mode="dry-run")
    assert states(dataset) == {("1", "opt_out"): "dry_run", ("2", "help"): "dry_run"}
    assert outcome.count("dry_run") == 2
    run(dataset, never, mode="dry-run")  # the plan stands: nothing decided again
    # Turned on while the messages are fresh: the plans are decided again, and sent.
    sends = Sends(dataset, SENT)
    run(dataset, sends)
    assert len(sends.calls) == 2


def test_no_sender_sends_nothing_even_when_on(dataset: Dataset) -> None:
    no_sender = rules_from_mapping({"replies": {"help": "Call us"}})
    outcome = run(dataset, never, rules=no_sender)
    assert not outcome.sender_set
    assert set(states(dataset).values()) == {"dry_run"}


def test_off_reads_decides_and_writes_nothing(dataset: Dataset) -> None:
    outcome = run(dataset, never, mode="off")
    assert outcome.new_rows == ()
    assert not (Path(dataset.root) / REPLY_RECORD_PARQUET).exists()


def test_old_messages_are_recorded_late_and_never_sent(tmp_path: Path) -> None:
    store = Dataset(tmp_path / "data")
    write_today(store, [("1", ALICE, "STOP", 6), ("2", BOB, "help", 61)])
    run(store, never)
    assert states(store) == {("1", "opt_out"): "skipped_late", ("2", "help"): "skipped_late"}


def test_the_record_is_a_plain_parquet_file_with_every_column(dataset: Dataset) -> None:
    run(dataset, Sends(dataset, SENT))
    columns = pq.read_schema(Path(dataset.root) / REPLY_RECORD_PARQUET).names
    assert columns == [
        "id_sms", "subscriber", "class", "text", "parts", "state", "error_code",
        "decided_at", "sent_at", "provider_id", "cost", "count_sms", "detail",
    ]  # fmt: skip


def test_two_runs_started_together_send_each_reply_once(dataset: Dataset) -> None:
    # The first run holds the record's lock while it sends; the second waits, then finds all done.
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow(client: Any, *, phone: str, **_: Any) -> SendOutcome:
        calls.append(phone)
        started.set()
        release.wait(10)
        return SENT

    first = threading.Thread(target=run, args=(dataset, slow))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=run, args=(dataset, slow))
    second.start()
    time.sleep(0.5)  # the second run is now waiting for the lock (or, unlocked, sending)
    release.set()
    first.join(10)
    second.join(10)
    assert sorted(calls) == ["+37061234567", "+37069999999"]
    assert states(dataset) == {("1", "opt_out"): "sent", ("2", "help"): "sent"}
