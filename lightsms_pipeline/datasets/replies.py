"""The replies' dataset: answering the sender with `send.php`, exactly once, and the record of it
(docs/rules.md §9).

No Dagster here: the `replies` asset calls `answer_messages`. One run:

1. Takes the record's lock (a local data dir: one run decides and sends at a time, so two runs
   started together cannot both decide to send the same reply).
2. Reads `reply_record.parquet`; a `sending` row left there is a run that stopped between the
   record and LightSMS's answer: it becomes `unknown`, and is never sent again.
3. Reads the messages that may be answered (kept per-day extracts of `classified_messages`, as
   `opt_out_list` reads them), computes the opt-out state from the same messages, and decides
   (`rules/replies.py`). Skips are recorded with the plan in one write.
4. Mode `on` with a `sender`: for each reply to send, the row is written `sending` (atomically,
   durably) BEFORE the request, then replaced by the outcome: `sent`, `refused` (LightSMS's
   code), `unknown` (the answer was lost: never sent again), `not_sent` (the request surely
   never left: decided again next run, when it may be late). Mode `dry-run`, or no `sender`:
   the replies to send are recorded `dry_run` and nothing is sent. Mode `off`: nothing is read,
   decided or written.

With `LIGHTSMS_SENDER_HASH_SALT` the subscriber is a hash; the number is read again from
LightSMS as the stop-list sync reads it (the day is fetched, the message found by `id_sms`, its
sender used only if it hashes to the subscriber), and lives only in memory for the request.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import pyarrow as pa

from lightsms_pipeline.api.client import LightSMSClient
from lightsms_pipeline.api.send import SendOutcome, send_sms
from lightsms_pipeline.contract import REPLIES, REPLY_RECORD_PARQUET
from lightsms_pipeline.datasets.stop_list import SyncOptions, numbers_behind_hashes
from lightsms_pipeline.rules.classify import classified_schema
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.rules.replies import (
    DRY_RUN,
    NOT_SENT,
    RECORD_SCHEMA,
    SEND,
    SENDING,
    Decision,
    OptOutState,
    RepliesMode,
    ReplyRow,
    answered_classes,
    merge_record,
    message_columns,
    messages_filter,
    messages_to_answer,
    row_of,
    settled_record,
    undecided,
    with_outcome,
)
from lightsms_pipeline.rules.replies import decide as decide_replies
from lightsms_pipeline.rules.stop_list import Pending
from lightsms_pipeline.storage.history_state import DayExtracts, HistoryRead, HistoryState
from lightsms_pipeline.storage.parquet import Dataset

log = logging.getLogger(__name__)

# `send_sms`'s signature: tests inject their own (one that raises simulates a crash after the
# `sending` row is written and before LightSMS answers).
SendFunction = Callable[..., SendOutcome]
LOCK_FILE = ".reply_record.lock"


@dataclass(frozen=True)
class RepliesOptions:
    mode: RepliesMode
    rules: Rules
    # A secret (README "Personal data"): kept out of repr, so no log line or error shows it.
    sender_hash_salt: str = field(default="", repr=False)

    @property
    def sending(self) -> bool:
        """Whether this run may send: mode on AND a `sender` configured."""
        return self.mode == "on" and self.rules.replies.sender is not None


@dataclass(frozen=True)
class RepliesOutcome:
    mode: RepliesMode
    sender_set: bool
    new_rows: tuple[ReplyRow, ...]  # this run's rows, each in its final state for the run
    record: pa.Table
    settled: int  # `sending` rows found at the start and made `unknown`
    deferred: int  # replies to send left undecided (the provider unreachable): next run
    history: HistoryRead | None = None
    path: str | None = None

    def count(self, state: str) -> int:
        return sum(1 for row in self.new_rows if row.state == state)

    def cost(self) -> Decimal:
        """What this run's sent replies cost, as LightSMS reported it."""
        return _total_cost(row.cost for row in self.new_rows)


def answer_messages(
    dataset: Dataset,
    client: LightSMSClient | None,
    options: RepliesOptions,
    now: datetime,
    *,
    send: SendFunction = send_sms,
) -> RepliesOutcome:
    """One run of the replies in `options.mode`; `client` may be None unless the run may send."""
    sender = options.rules.replies.sender
    if options.mode == "off":
        return RepliesOutcome("off", sender is not None, (), read_record(dataset), 0, 0)
    if options.sending and client is None:
        raise ValueError("a client is needed to send replies")
    with record_lock(dataset):
        record, settled = settled_record(read_record(dataset), now)
        if settled:
            log.warning("replies: %d interrupted before LightSMS answered are now unknown", settled)
            write_record(dataset, record)
        history = reply_messages(dataset, options.rules)
        fresh = undecided(history.table, record, dry_run=not options.sending)
        decisions = decide_replies(
            messages_to_answer(fresh, options.rules),
            OptOutState.of(history.table, options.rules),
            record,
            options.rules.replies,
            options.rules.timezone,
            now,
            dry_run=not options.sending,
        )
        decided_at = datetime.now(UTC)
        planned = DRY_RUN if not options.sending else None
        rows = [row_of(d, d.state if d.state != SEND else planned or SENDING, decided_at) for d in decisions]
        # Skips and the dry run's plan in one write; the sends follow one by one.
        settled_rows = [r for r in rows if r.state != SENDING]
        record = merge_record(record, settled_rows)
        path = write_record(dataset, record) if rows or settled else None
        to_send = [(d, r) for d, r in zip(decisions, rows, strict=True) if r.state == SENDING]
        sent_rows, deferred, record = _send_all(dataset, record, client, options, to_send, send)
        if sent_rows:
            path = dataset.file_path(REPLY_RECORD_PARQUET)
    return RepliesOutcome(
        options.mode,
        sender is not None,
        (*settled_rows, *sent_rows),
        record,
        settled,
        deferred,
        history,
        path,
    )


def _send_all(
    dataset: Dataset,
    record: pa.Table,
    client: LightSMSClient | None,
    options: RepliesOptions,
    to_send: list[tuple[Decision, ReplyRow]],
    send: SendFunction,
) -> tuple[list[ReplyRow], int, pa.Table]:
    """Send each reply, each recorded `sending` before its request and replaced by its outcome;
    returns the rows, how many were left, and the record as written last.

    Stops at the first `not_sent` (LightSMS unreachable): the rest are left undecided, for the
    next run to decide (and find late, if it comes too late)."""
    if not to_send:
        return [], 0, record
    assert client is not None and options.rules.replies.sender is not None
    numbers = _numbers(client, [d for d, _ in to_send], options)
    done: list[ReplyRow] = []
    for position, (_, row) in enumerate(to_send):
        number = numbers.get(row.subscriber)
        if number is None:
            # Salted, and the message could not be read back: nothing can be sent to it.
            detail = "the number could not be read again from LightSMS (was the salt changed?)"
            final = with_outcome(row, state=NOT_SENT, detail=detail)
            record = merge_record(record, [final])
            write_record(dataset, record)
            done.append(final)
            continue
        # Durable BEFORE the request: a crash from here on leaves `sending`, read as unknown.
        record = merge_record(record, [row])
        write_record(dataset, record)
        outcome = send(
            client,
            phone=number,
            text=row.text,
            sender=options.rules.replies.sender,
            label=row.subscriber,
        )
        final = _with_send_outcome(row, outcome)
        record = merge_record(record, [final])
        write_record(dataset, record)
        done.append(final)
        if outcome.state == NOT_SENT:
            rest = len(to_send) - position - 1
            if rest:
                log.warning("replies: LightSMS unreachable (%s); %d left for later", outcome.detail, rest)
            return done, rest, record
    return done, 0, record


def _with_send_outcome(row: ReplyRow, outcome: SendOutcome) -> ReplyRow:
    answered = datetime.now(UTC)
    return with_outcome(
        row,
        state=outcome.state,
        error_code=outcome.error_code,
        sent_at=answered if outcome.state == "sent" else None,
        provider_id=outcome.provider_id,
        cost=outcome.cost,
        count_sms=outcome.count_sms,
        detail=outcome.detail or row.detail,
    )


def _numbers(client: LightSMSClient, decisions: list[Decision], options: RepliesOptions) -> dict[str, str]:
    """The E.164 number of each subscriber to answer. Unsalted, the key is the number (a
    message without a valid number never gets here); salted, it is read again from LightSMS."""
    if not options.sender_hash_salt:
        return {d.message.subscriber: d.message.subscriber for d in decisions}
    pending = [
        Pending(d.message.subscriber, d.message.id_sms, d.message.received_at, d.message.received_at)
        for d in decisions
    ]
    rules = options.rules
    lookup = SyncOptions("on", rules.timezone, rules.default_region, timedelta(0), options.sender_hash_salt)
    numbers, _, failures = numbers_behind_hashes(client, pending, lookup)
    for failure in failures:
        log.warning("replies: %s", failure.error)
    return numbers


def _total_cost(costs: Iterable[str | None]) -> Decimal:
    total = Decimal(0)
    for cost in costs:
        if cost is None:
            continue
        with contextlib.suppress(InvalidOperation):
            total += Decimal(cost)
    return total


def record_cost(record: pa.Table) -> Decimal:
    """What every sent reply of the record cost, as LightSMS reported it."""
    return _total_cost(record["cost"].to_pylist())


# --- the messages ---------------------------------------------------------------------------------


def reply_extracts(rules: Rules) -> DayExtracts:
    """What `replies` takes from each day: the messages of the classes it answers, and the
    opt-outs and opt-ins the state is computed from."""
    return DayExtracts(
        REPLIES, classified_schema(rules.timezone), message_columns(), messages_filter(rules.replies)
    )


def reply_messages(dataset: Dataset, rules: Rules) -> HistoryRead:
    """Those messages over every stored day, reading only days that changed since the last run.
    The extracts are kept under the rules and the classes read, so a new reply text for another
    class reads the days again, and a changed text alone does not."""
    classes = ",".join(answered_classes(rules.replies))
    key = hashlib.sha256(f"{rules.fingerprint()}|{classes}".encode()).hexdigest()[:16]
    return HistoryState(dataset, reply_extracts(rules), key).read()


# --- the files ------------------------------------------------------------------------------------


def read_record(dataset: Dataset) -> pa.Table:
    """The record of earlier runs; empty (with its schema) before the first one."""
    return dataset.read_record(REPLY_RECORD_PARQUET, RECORD_SCHEMA)


def write_record(dataset: Dataset, record: pa.Table) -> str:
    """Replace the record atomically and durably (written, fsynced, renamed, folder fsynced): a
    run killed mid-write leaves the previous record whole, and a `sending` row written before a
    request survives a power cut."""
    return dataset.write_file(REPLY_RECORD_PARQUET, record)


@contextlib.contextmanager
def record_lock(dataset: Dataset) -> Iterator[None]:
    """One run at a time decides and sends (a second one waits): two runs deciding from the same
    record would both send. An OS lock, so a killed run releases it. A remote data dir (s3://)
    has no such lock: run one deployment, as docs/rules.md §9 says."""
    if not dataset.is_local:
        yield
        return
    import fcntl

    os.makedirs(dataset.file_path(""), exist_ok=True)
    with open(dataset.file_path(LOCK_FILE), "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
