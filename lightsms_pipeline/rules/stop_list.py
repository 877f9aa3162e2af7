"""The stop list's decisions (docs/rules.md §8), pure: who is still to be pushed, the record, the
conflicts for a person, and the opt-outs that have waited too long.

No HTTP and no files: `stop_list_sync` asks LightSMS and writes; everything it decides on is
here, as functions of the opt-out list, the record of earlier runs and the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.normalize.phones import to_e164

SyncMode = Literal["off", "dry-run", "on"]
Action = Literal["pushed", "already_listed", "would_push"]
ConflictKind = Literal["opted_in_after_push", "not_a_phone_number", "sender_not_found"]

PUSHED: Action = "pushed"
ALREADY_LISTED: Action = "already_listed"
WOULD_PUSH: Action = "would_push"
# Rows that say the number IS on the provider's list: such a subscriber is never pushed again.
ON_THE_LIST: tuple[Action, ...] = (PUSHED, ALREADY_LISTED)

RECORD_COLUMNS = ("subscriber", "action", "mode", "at", "provider_answer", "id_sms", "first_opted_out_at")
CONFLICT_COLUMNS = ("subscriber", "conflict", "id_sms", "detail")


def record_schema(timezone: str) -> pa.Schema:
    """`stop_list_record.parquet`: one row per number pushed, found listed, or (latest dry run
    only) that would be pushed. `provider_answer` is the new entry's id (pushed) or its
    `time_in` (already listed); `id_sms` is the opt-out behind it."""
    return pa.schema(
        [
            pa.field("subscriber", pa.string(), nullable=False),
            pa.field("action", pa.string(), nullable=False),
            pa.field("mode", pa.string(), nullable=False),
            pa.field("at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("provider_answer", pa.string()),
            pa.field("id_sms", pa.string(), nullable=False),
            pa.field("first_opted_out_at", pa.timestamp("us", tz=timezone), nullable=False),
        ]
    )


CONFLICTS_SCHEMA = pa.schema(
    [
        pa.field("subscriber", pa.string(), nullable=False),
        pa.field("conflict", pa.string(), nullable=False),
        pa.field("id_sms", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class Pending:
    """A subscriber on the opt-out list whose number is not yet known to be on the stop list."""

    subscriber: str
    id_sms: str  # the latest opt-out on the list row
    opted_out_at: datetime
    first_opted_out_at: datetime


@dataclass(frozen=True)
class RecordRow:
    subscriber: str
    action: Action
    mode: SyncMode
    at: datetime
    provider_answer: str | None
    id_sms: str
    first_opted_out_at: datetime


@dataclass(frozen=True)
class Conflict:
    subscriber: str
    conflict: ConflictKind
    id_sms: str
    detail: str


@dataclass(frozen=True)
class Waiting:
    """Opt-outs past the delay limit that have not reached the stop list."""

    count: int
    oldest: Pending | None


def listed_subscribers(record: pa.Table) -> set[str]:
    """Subscribers the record shows on the provider's stop list (pushed or found there)."""
    on_list = record.filter(pc.is_in(record["action"], pa.array(ON_THE_LIST, pa.string())))
    return set(on_list["subscriber"].to_pylist())


def opt_outs_by_subscriber(opt_outs: pa.Table) -> list[Pending]:
    """One entry per subscriber of the opt-out list, sorted by subscriber.

    The stop list is account-wide: in `per_number` scope a subscriber opted out on two numbers
    is one push, whose clock started at the earlier `first_opted_out_at`.
    """
    earliest: dict[str, Pending] = {}
    columns = opt_outs.select(["subscriber", "id_sms", "opted_out_at", "first_opted_out_at"]).to_pylist()
    for row in columns:
        entry = Pending(row["subscriber"], row["id_sms"], row["opted_out_at"], row["first_opted_out_at"])
        known = earliest.get(entry.subscriber)
        if known is None or entry.first_opted_out_at < known.first_opted_out_at:
            earliest[entry.subscriber] = entry
    return [earliest[key] for key in sorted(earliest)]


def still_to_push(opt_outs: pa.Table, record: pa.Table) -> list[Pending]:
    """The opt-out list's subscribers the record does not show on the stop list yet."""
    done = listed_subscribers(record)
    return [entry for entry in opt_outs_by_subscriber(opt_outs) if entry.subscriber not in done]


def phone_number(subscriber: str, region: str) -> str | None:
    """The E.164 number of an unhashed subscriber key, None for a short code or alphanumeric
    sender (the key is then the raw sender, docs/rules.md §3)."""
    return subscriber if to_e164(subscriber, region) == subscriber else None


def opted_in_after_push(opt_outs: pa.Table, record: pa.Table) -> list[Conflict]:
    """Subscribers on the stop list (per the record) who are no longer opted out: they opted
    back in, and the API cannot take a number off the stop list (docs/rules.md §8)."""
    current = set(opt_outs["subscriber"].to_pylist())
    on_list = record.filter(pc.is_in(record["action"], pa.array(ON_THE_LIST, pa.string())))
    conflicts = {}
    for row in on_list.select(["subscriber", "action", "at", "id_sms"]).to_pylist():
        if row["subscriber"] not in current and row["subscriber"] not in conflicts:
            detail = (
                f"opted back in after reaching the stop list ({row['action']} at "
                f"{row['at']:%Y-%m-%d %H:%M:%S} UTC); LightSMS cannot remove a number: "
                "ask its support, or keep the person blocked"
            )
            conflicts[row["subscriber"]] = Conflict(
                row["subscriber"], "opted_in_after_push", row["id_sms"], detail
            )
    return [conflicts[key] for key in sorted(conflicts)]


def merge_record(previous: pa.Table, new_rows: Sequence[RecordRow], timezone: str) -> pa.Table:
    """The record after a run: every earlier push and lookup kept (append-only), the previous
    dry run's `would_push` plan replaced by this run's, rows in time order."""
    schema = record_schema(timezone)
    kept = previous.cast(schema).filter(pc.not_equal(previous["action"], WOULD_PUSH))
    added = pa.Table.from_pylist([_row_dict(row) for row in new_rows], schema=schema)
    merged = pa.concat_tables([kept, added])
    return merged.take(pc.sort_indices(merged, [("at", "ascending"), ("subscriber", "ascending")]))


def conflicts_table(conflicts: Iterable[Conflict]) -> pa.Table:
    rows = sorted(conflicts, key=lambda c: (c.conflict, c.subscriber))
    return pa.Table.from_pylist(
        [{name: getattr(c, name) for name in CONFLICT_COLUMNS} for c in rows], schema=CONFLICTS_SCHEMA
    )


def waiting_too_long(
    opt_outs: pa.Table, record: pa.Table, unpushable: set[str], now: datetime, max_delay: timedelta
) -> Waiting:
    """Opt-outs whose clock (`first_opted_out_at`) has run longer than `max_delay` while the
    record does not show their number on the stop list. Senders that cannot be pushed are
    conflicts for a person, not waiting opt-outs."""
    done = listed_subscribers(record) | unpushable
    late = [
        entry
        for entry in opt_outs_by_subscriber(opt_outs)
        if entry.subscriber not in done and now - entry.first_opted_out_at > max_delay
    ]
    oldest = min(late, key=lambda e: (e.first_opted_out_at, e.subscriber), default=None)
    return Waiting(len(late), oldest)


def _row_dict(row: RecordRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in RECORD_COLUMNS}
