"""The `replies` asset over HTTP to the simulator's send.php, through real Dagster runs and real
Parquet: the simulator's own log of what it sent is the truth (docs/rules.md §9).

Today's messages arrive a minute before the test; the simulator's stop list holds one sender,
and send.php's answer to another is lost after the SMS went out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest
from dagster import AssetCheckSeverity, AssetKey, ExecuteInProcessResult
from pipeline import Pipeline

from lightsms_pipeline.contract import (
    CLASSIFIED,
    INCOMING,
    NO_UNKNOWN_REPLIES_CHECK,
    OPT_OUT_LIST,
    POOL,
    REPLIES,
    REPLY_RECORD_PARQUET,
    STOP_LIST_SYNC,
)
from lightsms_pipeline.datasets.replies import write_record
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.rules.replies import RECORD_SCHEMA, ReplyRow, merge_record
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import SimMessage, Traffic
from lightsms_pipeline.storage.parquet import Dataset

TZ = ZoneInfo("Europe/Vilnius")
TODAY = datetime.now(TZ).date()
OLD_DAY = date(2025, 1, 12)
ALICE, BOB, CAROL, DAVE = "37061234567", "37069999999", "37062222222", "37063333333"
REPLY_PATH = (INCOMING, CLASSIFIED, OPT_OUT_LIST, REPLIES)
RULES_YAML = 'replies:\n  sender: MyBrand\n  help: "MyBrand: help at support@mybrand.example."\n'


def minutes_ago(minutes: float) -> str:
    """Provider-local time `minutes` ago, kept inside today (a test run just after midnight)."""
    midnight = datetime.combine(TODAY, datetime.min.time(), TZ)
    return max(datetime.now(TZ) - timedelta(minutes=minutes), midnight).strftime("%Y-%m-%d %H:%M:%S")


class DaysTraffic(Traffic):
    """Exactly these messages on these days, nothing elsewhere."""

    def __init__(self, days: dict[date, Sequence[SimMessage]]) -> None:
        super().__init__(per_day=0)
        self.days = {d: tuple(m) for d, m in days.items()}

    def day_messages(self, d: date) -> tuple[SimMessage, ...]:
        return self.days.get(d, ())


def message(id_sms: str, sender: str, text: str, when: str) -> SimMessage:
    return SimMessage(id_sms, when, sender, "5163251632", "", text)


@pytest.fixture
def traffic() -> Traffic:
    return DaysTraffic(
        {
            TODAY: [
                message("101", ALICE, "STOP", minutes_ago(1)),
                message("102", BOB, "HELP", minutes_ago(1)),
                message("103", CAROL, "help", minutes_ago(1)),  # on LightSMS's stop list: 34
                message("104", DAVE, "info", minutes_ago(1)),  # the answer is lost after sending
                message("105", "Telia", "STOP", minutes_ago(1)),  # a name: never answered
            ],
            OLD_DAY: [
                message("1", ALICE, "STOP", "2025-01-12 09:00:00"),
                message("2", BOB, "help", "2025-01-12 09:01:00"),
            ],
        }
    )


@pytest.fixture
def replying(pipeline: Pipeline, simulator: SimulatorServer, tmp_path: Path) -> Pipeline:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_YAML, encoding="utf-8")
    simulator.stop_list.add(CAROL, "2025-01-01 00:00:00")
    simulator.faults = FaultPlan(fail_sends={DAVE: FaultKind.APPLY_THEN_500})
    return pipeline.with_settings(rules_file=str(rules), replies="on")


def record(p: Pipeline) -> dict[str, dict[str, Any]]:
    rows = pq.read_table(Path(p.settings.data_dir) / REPLY_RECORD_PARQUET).to_pylist()
    assert len({(r["id_sms"], r["class"]) for r in rows}) == len(rows), "a reply recorded twice"
    return {r["id_sms"]: r for r in rows}


def sent(simulator: SimulatorServer) -> list[tuple[str, str, str]]:
    return [(m.phone, m.sender, m.text) for m in simulator.sent_messages()]


def unknown_check(result: ExecuteInProcessResult) -> Any:
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == NO_UNKNOWN_REPLIES_CHECK
    ]
    return evaluation


def metadata(result: ExecuteInProcessResult) -> dict[str, Any]:
    (mat,) = result.asset_materializations_for_node(REPLIES)
    return {k: v.value for k, v in mat.metadata.items()}


def test_a_stop_is_confirmed_once_help_answered_once_and_nothing_sent_twice(
    replying: Pipeline, simulator: SimulatorServer
) -> None:
    result = replying.materialize(TODAY, assets=REPLY_PATH)
    assert result.success
    assert sorted(sent(simulator)) == sorted(
        [
            (
                ALICE,
                "MyBrand",
                "You are unsubscribed. No more messages will be sent. Reply START to resubscribe.",
            ),
            (BOB, "MyBrand", "MyBrand: help at support@mybrand.example."),
            (DAVE, "MyBrand", "MyBrand: help at support@mybrand.example."),  # sent, answer lost
        ]
    )
    rows = record(replying)
    assert {k: r["state"] for k, r in rows.items()} == {
        "101": "sent",
        "102": "sent",
        "103": "refused",
        "104": "unknown",
        "105": "skipped_not_a_phone",
    }
    assert rows["103"]["error_code"] == 34
    by_phone = {m.phone: m for m in simulator.sent_messages()}
    assert (rows["101"]["provider_id"], rows["101"]["cost"], rows["101"]["count_sms"]) == (
        by_phone[ALICE].id_sms, by_phone[ALICE].cost, 1,
    )  # fmt: skip
    check = unknown_check(result)
    assert (check.passed, check.severity) == (False, AssetCheckSeverity.WARN)
    assert "id_sms 104" in check.description
    meta = metadata(result)
    assert (meta["sent"], meta["refused"], meta["unknown"], meta["mode"]) == (2, 1, 1, "on")

    # Re-run: the day fetched again and every reply decided again sends nothing, not even the lost one.
    again = replying.materialize(TODAY, assets=REPLY_PATH)
    assert again.success
    assert len(simulator.sent_messages()) == 3
    assert record(replying)["104"]["state"] == "unknown"
    assert not unknown_check(again).passed  # still shown to a person


def test_a_stop_is_confirmed_before_its_number_goes_on_the_stop_list_in_the_same_run(
    replying: Pipeline, simulator: SimulatorServer
) -> None:
    """LightSMS refuses a number on its stop list (34): in the run that pushes an opt-out, the
    confirmation must leave first, or the FCC's one confirmation is lost for good."""
    defs = build_definitions(replying.settings)
    assert AssetKey(REPLIES) in defs.resolve_assets_def(STOP_LIST_SYNC).asset_deps[AssetKey(STOP_LIST_SYNC)]
    pushing = replying.with_settings(stop_list_sync="on")
    assert pushing.materialize(TODAY, assets=(*REPLY_PATH, STOP_LIST_SYNC)).success
    assert ALICE in simulator.stop_list
    assert record(pushing)["101"]["state"] == "sent"
    assert [m.text for m in simulator.sent_messages() if m.phone == ALICE] == [
        "You are unsubscribed. No more messages will be sent. Reply START to resubscribe."
    ]


def test_a_backfill_of_an_old_day_answers_nothing(replying: Pipeline, simulator: SimulatorServer) -> None:
    assert replying.materialize(OLD_DAY, assets=REPLY_PATH).success
    assert simulator.sent_messages() == []
    assert {k: r["state"] for k, r in record(replying).items()} == {"1": "skipped_late", "2": "skipped_late"}


def test_dry_run_records_the_plan_and_sends_nothing(replying: Pipeline, simulator: SimulatorServer) -> None:
    dry = replying.with_settings(replies="dry-run")
    result = dry.materialize(TODAY, assets=REPLY_PATH)
    assert result.success
    assert simulator.sent_messages() == []
    assert [r["state"] for r in record(dry).values()].count("dry_run") == 4
    assert unknown_check(result).passed


def test_without_a_sender_nothing_is_sent_and_the_metadata_says_so(
    replying: Pipeline, simulator: SimulatorServer, tmp_path: Path
) -> None:
    rules = tmp_path / "no-sender.yaml"
    rules.write_text('replies:\n  help: "Call us"\n', encoding="utf-8")
    result = replying.with_settings(rules_file=str(rules)).materialize(TODAY, assets=REPLY_PATH)
    assert result.success
    assert simulator.sent_messages() == []
    assert metadata(result)["sender"].startswith("not set: nothing is sent")


def test_the_texts_parts_are_shown_in_the_metadata(replying: Pipeline) -> None:
    result = replying.materialize(OLD_DAY, assets=REPLY_PATH)
    texts = {r.data["answers"]: r.data for r in metadata(result)["texts"].records}
    assert texts["help"]["parts"] == 1 and texts["opt_out"]["encoding"] == "GSM-7"


def test_replies_is_whole_history_after_classified_and_the_opt_out_list_with_its_check(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_YAML, encoding="utf-8")
    settings = Settings(rules_file=str(rules), data_dir=str(tmp_path / "data"))
    defs = build_definitions(settings)
    asset = defs.resolve_assets_def(REPLIES)
    (spec,) = asset.specs
    assert asset.partitions_def is None
    assert [d.asset_key for d in spec.deps] == [AssetKey(CLASSIFIED), AssetKey(OPT_OUT_LIST)]
    assert [c.name for c in asset.check_specs] == [NO_UNKNOWN_REPLIES_CHECK]
    assert asset.op.pool == POOL
    # A new reply text changes the replies' code version, and no other asset's.
    other = tmp_path / "other.yaml"
    other.write_text(RULES_YAML + '  other: "Thanks"\n', encoding="utf-8")
    changed = build_definitions(settings.replace(rules_file=str(other)))
    assert changed.resolve_assets_def(REPLIES).code_versions_by_key != asset.code_versions_by_key
    assert (
        changed.resolve_assets_def(CLASSIFIED).code_versions_by_key
        == defs.resolve_assets_def(CLASSIFIED).code_versions_by_key
    )


def test_with_a_salt_the_reply_reaches_the_number_and_the_record_names_the_hash(
    replying: Pipeline, simulator: SimulatorServer
) -> None:
    salted = replying.with_settings(sender_hash_salt="pepper-for-the-test")
    assert salted.materialize(TODAY, assets=REPLY_PATH).success
    assert {phone for phone, _, _ in sent(simulator)} == {ALICE, BOB, DAVE}
    rows = record(salted)
    assert rows["101"]["state"] == "sent"
    assert all(r["subscriber"].startswith("h:") for r in rows.values())
    assert not any(number in str(rows) for number in (ALICE, BOB, CAROL, DAVE))


def test_off_sends_nothing_and_still_shows_a_reply_interrupted_mid_request(
    replying: Pipeline, simulator: SimulatorServer
) -> None:
    store = Dataset(replying.settings.data_dir)
    interrupted = ReplyRow("77", "+" + ALICE, "help", "Call us", 1, "sending", datetime.now(UTC))
    write_record(store, merge_record(RECORD_SCHEMA.empty_table(), [interrupted]))
    result = replying.with_settings(replies="off").materialize(TODAY, assets=REPLY_PATH)
    assert result.success
    assert simulator.sent_messages() == []
    assert list(record(replying)) == ["77"]  # off decides and writes nothing
    check = unknown_check(result)
    assert (check.passed, check.severity) == (False, AssetCheckSeverity.WARN)
    assert "id_sms 77" in check.description
