"""The stop list's dataset: the opt-out list pushed to LightSMS's stop list, once in effect
(docs/rules.md §8), and the files that record it.

No Dagster here: the `stop_list_sync` asset calls `sync_stop_list`. For each subscriber on the
opt-out list that the record does not show on the stop list yet: look the number up
(`find_on_stop.php`); listed -> recorded `already_listed`; else `add2stop.php` (mode `on`) ->
recorded `pushed` with the provider's id, or `would_push` (mode `dry-run`, nothing changes at
the provider). In mode `on` the record is rewritten after every number, so a run killed after a
push loses at most that one row, and the next run's lookup finds the number and records it.

With `LIGHTSMS_SENDER_HASH_SALT` the published opt-out list holds hashes, not numbers. The
number is then read again from LightSMS: the day of the opt-out is fetched, the message is found
by its `id_sms`, and its sender is used only if it hashes to the subscriber. The number lives in
memory for the push; the record, the conflicts, errors and logs name the hash.

The files, beside the opt-out list they are computed from: `stop_list_record.parquet` (append-only,
rewritten atomically) and `stop_list_conflicts.parquet`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from lightsms_pipeline.api.client import LightSMSClient
from lightsms_pipeline.api.stop_list import add_to_stop, find_on_stop
from lightsms_pipeline.contract import (
    OPT_OUT_LIST,
    OPT_OUT_PARQUET,
    STOP_LIST_CONFLICTS_PARQUET,
    STOP_LIST_RECORD_PARQUET,
)
from lightsms_pipeline.datasets.upstream import MissingUpstreamError
from lightsms_pipeline.errors import LightSMSError
from lightsms_pipeline.normalize.phones import to_e164
from lightsms_pipeline.normalize.privacy import hash_value
from lightsms_pipeline.rules.stop_list import (
    ALREADY_LISTED,
    PUSHED,
    WOULD_PUSH,
    Conflict,
    Pending,
    RecordRow,
    SyncMode,
    Waiting,
    conflicts_table,
    listed_subscribers,
    merge_record,
    opted_in_after_push,
    phone_number,
    record_schema,
    still_to_push,
    waiting_too_long,
)
from lightsms_pipeline.storage.parquet import Dataset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncOptions:
    mode: SyncMode
    timezone: str
    region: str
    max_delay: timedelta
    # A secret (README "Personal data"): kept out of repr, so no log line or error shows it.
    sender_hash_salt: str = field(default="", repr=False)


@dataclass(frozen=True)
class SyncFailure:
    """A number that did not reach the stop list this run; `error` names the subscriber key
    (a hash when salted), the endpoint and the problem, never the digits of a salted number."""

    subscriber: str
    error: str


@dataclass(frozen=True)
class SyncOutcome:
    mode: SyncMode
    opted_out: int  # subscribers on the opt-out list
    already_recorded: int  # skipped: the record shows them on the stop list
    new_rows: tuple[RecordRow, ...]
    record: pa.Table
    conflicts: pa.Table
    failures: tuple[SyncFailure, ...]
    waiting: Waiting
    paths: tuple[str, ...] = ()  # record, conflicts; none when nothing was written

    def count(self, action: str) -> int:
        return sum(1 for row in self.new_rows if row.action == action)


def sync_stop_list(
    dataset: Dataset, client: LightSMSClient | None, options: SyncOptions, now: datetime
) -> SyncOutcome:
    """One run of the sync in `options.mode`; `client` may be None only when the mode is off."""
    opt_outs = read_opt_out_list(dataset)
    record = read_record(dataset, options.timezone)
    pending = still_to_push(opt_outs, record)
    salted = bool(options.sender_hash_salt)
    conflicts = opted_in_after_push(opt_outs, record)
    if options.mode == "off" or client is None:
        # No call to LightSMS and no file: the clock still shows who is waiting.
        if not salted:  # salted keys say nothing of the number until it is read again
            conflicts.extend(_numbers_of_keys(pending, options.region)[1])
        return SyncOutcome(
            options.mode,
            len(set(opt_outs["subscriber"].to_pylist())),
            len(listed_subscribers(record)),
            (),
            record,
            conflicts_table(conflicts),
            (),
            waiting_too_long(opt_outs, record, _unpushable(conflicts), now, options.max_delay),
        )
    failures: list[SyncFailure] = []
    if salted:
        numbers, resolved_conflicts, resolve_failures = numbers_behind_hashes(client, pending, options)
        failures.extend(resolve_failures)
    else:
        numbers, resolved_conflicts = _numbers_of_keys(pending, options.region)
    conflicts.extend(resolved_conflicts)
    rows: list[RecordRow] = []
    for entry in pending:
        number = numbers.get(entry.subscriber)
        if number is None:
            continue
        try:
            row = _sync_one(client, entry, number, options.mode)
        except LightSMSError as exc:
            failures.append(SyncFailure(entry.subscriber, str(exc)))
            log.warning("stop list: %s", exc)
            continue
        rows.append(row)
        if options.mode == "on":
            # Durable before the next push: what changed the account is on record at once.
            write_record(dataset, merge_record(record, rows, options.timezone))
    final = merge_record(record, rows, options.timezone)
    conflicts_out = conflicts_table(conflicts)
    paths = (write_record(dataset, final), write_conflicts(dataset, conflicts_out))
    return SyncOutcome(
        options.mode,
        len(set(opt_outs["subscriber"].to_pylist())),
        len(listed_subscribers(record)),
        tuple(rows),
        final,
        conflicts_out,
        tuple(failures),
        waiting_too_long(opt_outs, final, _unpushable(conflicts), now, options.max_delay),
        paths,
    )


def _sync_one(client: LightSMSClient, entry: Pending, number: str, mode: SyncMode) -> RecordRow:
    """Look up, then push (mode on) or plan (dry-run) one number."""
    found = find_on_stop(client, number, label=entry.subscriber)
    if found is not None:
        return _row(entry, ALREADY_LISTED, mode, found.time_in)
    if mode != "on":
        return _row(entry, WOULD_PUSH, mode, None)
    push = add_to_stop(client, number, label=entry.subscriber)
    return _row(entry, ALREADY_LISTED if push.already_listed else PUSHED, mode, push.provider_answer)


def _row(entry: Pending, action: str, mode: SyncMode, answer: str | None) -> RecordRow:
    return RecordRow(
        subscriber=entry.subscriber,
        action=action,  # type: ignore[arg-type]
        mode=mode,
        at=datetime.now(UTC),
        provider_answer=answer,
        id_sms=entry.id_sms,
        first_opted_out_at=entry.first_opted_out_at,
    )


def _numbers_of_keys(pending: list[Pending], region: str) -> tuple[dict[str, str], list[Conflict]]:
    """Unsalted keys are the numbers themselves, or raw senders that cannot be pushed."""
    numbers: dict[str, str] = {}
    conflicts: list[Conflict] = []
    for entry in pending:
        number = phone_number(entry.subscriber, region)
        if number is None:
            conflicts.append(_not_a_phone(entry))
        else:
            numbers[entry.subscriber] = number
    return numbers, conflicts


def numbers_behind_hashes(
    client: LightSMSClient, pending: list[Pending], options: SyncOptions
) -> tuple[dict[str, str], list[Conflict], list[SyncFailure]]:
    """The numbers behind salted keys, read again from LightSMS: one request per day of an
    opt-out, the message found by `id_sms`, its sender kept only if it hashes to the key."""
    by_day: dict[date, list[Pending]] = defaultdict(list)
    for entry in pending:
        by_day[entry.opted_out_at.date()].append(entry)
    numbers: dict[str, str] = {}
    conflicts: list[Conflict] = []
    failures: list[SyncFailure] = []
    for day in sorted(by_day):
        try:
            raw = client.fetch_day(day)
        except LightSMSError as exc:
            failures.extend(
                SyncFailure(e.subscriber, f"reading the sender again: {exc}") for e in by_day[day]
            )
            continue
        senders = dict(zip(raw.id_sms.to_pylist(), raw.sender.to_pylist(), strict=True))
        for entry in by_day[day]:
            sender = senders.get(entry.id_sms)
            e164 = None if sender is None else to_e164(sender, options.region)
            key = e164 if e164 is not None else sender
            if sender is None or hash_value(key or "", options.sender_hash_salt) != entry.subscriber:
                detail = (
                    f"LightSMS's {day} holds no message {entry.id_sms} from this subscriber "
                    "(was LIGHTSMS_SENDER_HASH_SALT changed?); push the number by hand"
                )
                conflicts.append(Conflict(entry.subscriber, "sender_not_found", entry.id_sms, detail))
            elif e164 is None:
                conflicts.append(_not_a_phone(entry))
            else:
                numbers[entry.subscriber] = e164
    return numbers, conflicts, failures


def _unpushable(conflicts: list[Conflict]) -> set[str]:
    """Senders no stop list takes: their clock is a person's matter, not a waiting push. A number
    whose message could not be read back (`sender_not_found`) still waits, and shows."""
    return {c.subscriber for c in conflicts if c.conflict == "not_a_phone_number"}


def _not_a_phone(entry: Pending) -> Conflict:
    detail = "a short code or alphanumeric sender: the stop list takes phone numbers only"
    return Conflict(entry.subscriber, "not_a_phone_number", entry.id_sms, detail)


# --- the files ------------------------------------------------------------------------------------


def read_opt_out_list(dataset: Dataset) -> pa.Table:
    """The opt-out list as `opt_out_list` last wrote it."""
    if not dataset.fs.exists(dataset.file_path(OPT_OUT_PARQUET)):
        raise MissingUpstreamError(f"{OPT_OUT_PARQUET} does not exist: materialize {OPT_OUT_LIST} first")
    table = dataset.read_file(OPT_OUT_PARQUET)
    if "first_opted_out_at" not in table.column_names:
        raise MissingUpstreamError(
            f"{OPT_OUT_PARQUET} was written by an older version (no first_opted_out_at): "
            f"materialize {OPT_OUT_LIST} again"
        )
    return table


def read_record(dataset: Dataset, timezone: str) -> pa.Table:
    """The record of earlier runs; empty (with its schema) before the first one."""
    return dataset.read_record(STOP_LIST_RECORD_PARQUET, record_schema(timezone))


def write_record(dataset: Dataset, record: pa.Table) -> str:
    """Replace the record atomically: a run killed mid-write leaves the previous record whole."""
    return dataset.write_file(STOP_LIST_RECORD_PARQUET, record)


def write_conflicts(dataset: Dataset, conflicts: pa.Table) -> str:
    return dataset.write_file(STOP_LIST_CONFLICTS_PARQUET, conflicts)
