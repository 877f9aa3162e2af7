"""Answering the sender (docs/rules.md §9), pure: which message gets which reply, and the record.

No HTTP, no files, no clock of its own: `datasets/replies.py` reads the messages and the record,
asks `decide` with the time it was given, sends, and writes. Every rule errs towards sending less,
because an SMS costs money, reaches a person and cannot be taken back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.normalize.sms_parts import is_gsm7, sms_parts
from lightsms_pipeline.rules.model import HELP, OPT_IN, OPT_OUT, Replies, Rules
from lightsms_pipeline.rules.subscriptions import opt_out_list, opt_out_list_columns, subscriber
from lightsms_pipeline.rules.tables import id_order

RepliesMode = Literal["off", "dry-run", "on"]
DecisionState = Literal[
    "send",
    "skipped_late",
    "skipped_opted_out",
    "skipped_not_a_phone",
    "skipped_rate",
    "skipped_cap",
    "skipped_superseded",
]

SEND: DecisionState = "send"
SKIPPED_LATE: DecisionState = "skipped_late"
SKIPPED_OPTED_OUT: DecisionState = "skipped_opted_out"
SKIPPED_NOT_A_PHONE: DecisionState = "skipped_not_a_phone"
SKIPPED_RATE: DecisionState = "skipped_rate"
SKIPPED_CAP: DecisionState = "skipped_cap"
# An opt-out that is no longer the subscriber's latest (a later STOP or a START came): only the
# latest opt-out is confirmed, so that a person sends STOP twice and gets one confirmation.
SKIPPED_SUPERSEDED: DecisionState = "skipped_superseded"

# The record's states beyond the skips: what happened to a reply that was to be sent.
DRY_RUN = "dry_run"  # LIGHTSMS_REPLIES=dry-run (or no sender): would have been sent
SENDING = "sending"  # recorded before the request; found at the start of a run it means a crash
SENT = "sent"
REFUSED = "refused"  # LightSMS answered an error code: nothing was sent
UNKNOWN = "unknown"  # the request may have reached LightSMS: never sent again, a person looks
NOT_SENT = "not_sent"  # the request surely never reached LightSMS: decided again next run

# Rows that may have reached a phone: they count for `min_hours_between` and `max_per_day`.
MAY_HAVE_REACHED = (SENT, SENDING, UNKNOWN)
# The only classes an opted-out subscriber is still answered in: the confirmation, and HELP
# (carriers require HELP to be answered whatever the subscription state).
ANSWERED_WHEN_OPTED_OUT = (OPT_OUT, HELP)

RECORD_COLUMNS = (
    "id_sms",
    "subscriber",
    "class",
    "text",
    "parts",
    "state",
    "error_code",
    "decided_at",
    "sent_at",
    "provider_id",
    "cost",
    "count_sms",
    "detail",
)

RECORD_SCHEMA = pa.schema(
    [
        pa.field("id_sms", pa.string(), nullable=False),  # the message answered
        pa.field("subscriber", pa.string(), nullable=False),  # its key (a hash with a salt)
        pa.field("class", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("parts", pa.int32(), nullable=False),  # billed parts, counted before sending
        pa.field("state", pa.string(), nullable=False),
        pa.field("error_code", pa.int32()),  # LightSMS's code of a refused reply
        pa.field("decided_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("sent_at", pa.timestamp("us", tz="UTC")),  # when the answer came back
        pa.field("provider_id", pa.string()),  # send.php's id_sms of the sent reply
        pa.field("cost", pa.string()),  # as LightSMS answers it (decimal text), kept exact
        pa.field("count_sms", pa.int32()),  # parts LightSMS billed
        pa.field("detail", pa.string(), nullable=False),  # words for a person; never a secret
    ]
)


@dataclass(frozen=True)
class Message:
    """A message that has a reply configured for it."""

    id_sms: str
    subscriber: str
    is_phone: bool  # sender_e164 present: a valid phone number (hashed or not)
    message_class: str
    keyword: str | None
    received_at: datetime
    key: tuple[str | None, ...]  # its subscription in the rules' scope
    text: str


@dataclass(frozen=True)
class Decision:
    """What to do with one (message, class): `send`, or the skip that holds it back."""

    message: Message
    state: DecisionState
    detail: str = ""


@dataclass(frozen=True)
class ReplyRow:
    """One row of the record."""

    id_sms: str
    subscriber: str
    message_class: str
    text: str
    parts: int
    state: str
    decided_at: datetime
    error_code: int | None = None
    sent_at: datetime | None = None
    provider_id: str | None = None
    cost: str | None = None
    count_sms: int | None = None
    detail: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.id_sms, self.message_class)


@dataclass(frozen=True)
class TextCost:
    """What one configured text costs: shown where the rules are shown (the asset's metadata)."""

    answers: str  # `opt_out`, `keyword стоп`, ...
    characters: int
    encoding: Literal["GSM-7", "UCS-2"]
    parts: int


def text_costs(replies: Replies) -> list[TextCost]:
    """The billed parts of every configured text: a text over one part is allowed, and shown."""
    return [
        TextCost(answers, len(text), "GSM-7" if is_gsm7(text) else "UCS-2", sms_parts(text))
        for answers, text in replies.texts()
    ]


# --- the messages ---------------------------------------------------------------------------------


def answered_classes(replies: Replies) -> tuple[str, ...]:
    """The classes a message of which may get a reply. Opt-outs and opt-ins are always read too:
    the opt-out state is computed from the same messages the replies are decided on."""
    keyword_classes = {OPT_OUT, OPT_IN, HELP} if replies.by_keyword else set()
    configured = {name for name, _ in replies.texts() if not name.startswith("keyword ")}
    return tuple(sorted(configured | keyword_classes | {OPT_OUT, OPT_IN}))


def message_columns() -> tuple[str, ...]:
    """The `classified_messages` columns the replies read (the opt-out list's, which hold them)."""
    return opt_out_list_columns()


def messages_filter(replies: Replies) -> pc.Expression:
    """A Parquet read filter keeping the rows the replies look at."""
    return pc.field("class").isin(list(answered_classes(replies)))


def undecided(classified: pa.Table, record: pa.Table, *, dry_run: bool) -> pa.Table:
    """The rows of `classified` whose (id_sms, class) the record does not settle: filtered in
    Arrow, so that a long history of answered messages is not turned into Python objects on
    every run (live pick-up runs every half minute)."""
    final = record.filter(pc.invert(_decided_again_mask(record["state"], dry_run)))
    if not final.num_rows or not classified.num_rows:
        return classified
    return classified.filter(pc.invert(pc.is_in(_reply_keys(classified), value_set=_reply_keys(final))))


def _reply_keys(table: pa.Table) -> pa.ChunkedArray:
    """(id_sms, class) as one text per row, the key of a reply: compared in Arrow, so a long
    record is never turned into Python objects (a live run merges a row per send)."""
    return pc.binary_join_element_wise(table["id_sms"], table["class"], "\x1f")


def _decided_again_mask(states: pa.ChunkedArray, dry_run: bool) -> pa.ChunkedArray:
    again = [NOT_SENT] if dry_run else [NOT_SENT, DRY_RUN]
    return pc.is_in(states, value_set=pa.array(again, pa.string()))


def messages_to_answer(classified: pa.Table, rules: Rules) -> list[Message]:
    """The messages a reply is configured for, in time order (then `id_sms` as an integer), so
    that the rate limit and the daily cap hold back the later ones."""
    if not classified.num_rows:
        return []
    table = classified.append_column("subscriber", subscriber(classified))
    table = table.take(
        pc.sort_indices(
            table.append_column("_order", id_order(table["id_sms"])),
            [("received_at", "ascending"), ("_order", "ascending")],
        )
    )
    found = []
    for row in table.select(
        ["id_sms", "subscriber", "sender_e164", "class", "keyword", "received_at", "phone", "prefix"]
    ).to_pylist():
        text = rules.replies.text_for(row["class"], row["keyword"])
        if text is None:
            continue
        key: tuple[str | None, ...] = (row["subscriber"],)
        if rules.scope == "per_number":
            key = (row["subscriber"], row["phone"], row["prefix"])
        found.append(
            Message(
                id_sms=row["id_sms"],
                subscriber=row["subscriber"],
                is_phone=row["sender_e164"] is not None,
                message_class=row["class"],
                keyword=row["keyword"],
                received_at=row["received_at"],
                key=key,
                text=text,
            )
        )
    return found


@dataclass(frozen=True)
class OptOutState:
    """Who is opted out now (keys in the rules' scope), and each key's latest opt-out."""

    opted_out: frozenset[tuple[str | None, ...]]
    latest_opt_outs: frozenset[str]  # id_sms of each key's latest opt-out

    @classmethod
    def of(cls, classified: pa.Table, rules: Rules) -> OptOutState:
        """From the same messages the replies are decided on, not from `opt_out_list.parquet`,
        which may not have caught up with them yet: a fresh STOP missing from a stale list would
        otherwise read as superseded and never be confirmed."""
        table = opt_out_list(classified.select(list(opt_out_list_columns())), rules)
        names = ["subscriber"] if rules.scope == "account" else ["subscriber", "phone", "prefix"]
        keys = zip(*(table[n].to_pylist() for n in names), strict=True)
        return cls(frozenset(tuple(k) for k in keys), frozenset(table["id_sms"].to_pylist()))


# --- the decisions --------------------------------------------------------------------------------


def settled_record(record: pa.Table, now: datetime) -> tuple[pa.Table, int]:
    """The record with every `sending` row made `unknown`: found at the start of a run, such a
    row is a crash between the record and LightSMS's answer, and the reply may have been sent.
    Returns the record and how many rows changed."""
    sending = pc.equal(record["state"], SENDING)
    changed = pc.sum(sending).as_py() or 0
    if not changed:
        return record, 0
    note = (
        "the run that sent it stopped before LightSMS's answer was recorded "
        f"(found {now:%Y-%m-%d %H:%M:%S} UTC)"
    )
    state = pc.if_else(sending, pa.scalar(UNKNOWN), record["state"])
    detail = pc.if_else(sending, pa.scalar(note), record["detail"])
    record = record.set_column(record.schema.get_field_index("state"), RECORD_SCHEMA.field("state"), state)
    record = record.set_column(record.schema.get_field_index("detail"), RECORD_SCHEMA.field("detail"), detail)
    return record, changed


def decided_again(state: str, dry_run: bool) -> bool:
    """Whether a recorded (message, class) is decided again: a reply that surely never reached
    LightSMS (`not_sent`), and in mode on a dry run's plan. Everything else is final: at most
    one reply per (message, class), ever."""
    return state == NOT_SENT or (state == DRY_RUN and not dry_run)


def decide(
    messages: Sequence[Message],
    state: OptOutState,
    record: pa.Table,
    replies: Replies,
    timezone: str,
    now: datetime,
    *,
    dry_run: bool,
) -> list[Decision]:
    """The decision for every message of `messages` the record does not settle yet.

    In the order of the rules (docs/rules.md §9): a sender that is no phone number gets nothing;
    an opt-out confirmation only for the key's latest opt-out and within
    `confirm_within_minutes`; any other reply only within `reply_within_minutes`; an opted-out
    key only the confirmation and HELP; then at most one reply of a class to a subscriber in
    `min_hours_between` hours, and at most `max_per_day` replies in the provider's day. In a dry
    run the earlier dry runs' plans count for the limits as sends would.
    """
    # Only the record's rows about these messages, and its recent replies, are looked at in
    # Python: a long record is filtered in Arrow first.
    ids = pa.array(sorted({m.id_sms for m in messages}), pa.string())
    about = record.filter(pc.is_in(record["id_sms"], value_set=ids))
    final = {
        (row["id_sms"], row["class"])
        for row in about.select(["id_sms", "class", "state"]).to_pylist()
        if not decided_again(row["state"], dry_run)
    }
    counted = (*MAY_HAVE_REACHED, DRY_RUN) if dry_run else MAY_HAVE_REACHED
    last_reply: dict[tuple[str, str], datetime] = {}
    day_start = _provider_day_start(now, timezone)
    between = timedelta(hours=replies.min_hours_between)
    since = pa.scalar(min(day_start, now - between), pa.timestamp("us", tz="UTC"))
    recent = record.filter(
        pc.and_(
            pc.is_in(record["state"], value_set=pa.array(counted, pa.string())),
            pc.greater_equal(record["decided_at"], since),
        )
    )
    today = 0
    for row in recent.select(["subscriber", "class", "decided_at"]).to_pylist():
        key = (row["subscriber"], row["class"])
        if key not in last_reply or row["decided_at"] > last_reply[key]:
            last_reply[key] = row["decided_at"]
        today += row["decided_at"] >= day_start
    decisions = []
    for message in messages:
        if (message.id_sms, message.message_class) in final:
            continue
        decision = _held_back(message, state, replies, now)
        if decision is None:
            previous = last_reply.get((message.subscriber, message.message_class))
            if previous is not None and now - previous < between:
                decision = Decision(
                    message,
                    SKIPPED_RATE,
                    f"a {message.message_class} reply went to this subscriber at "
                    f"{previous:%Y-%m-%d %H:%M:%S} UTC (min_hours_between {replies.min_hours_between:g})",
                )
            elif today >= replies.max_per_day:
                decision = Decision(message, SKIPPED_CAP, f"max_per_day {replies.max_per_day} reached")
            else:
                decision = Decision(message, SEND)
                last_reply[(message.subscriber, message.message_class)] = now
                today += 1
        decisions.append(decision)
    return decisions


def _held_back(message: Message, state: OptOutState, replies: Replies, now: datetime) -> Decision | None:
    """The skip that depends on the message alone (and the opt-out state), or None."""
    if not message.is_phone:
        return Decision(message, SKIPPED_NOT_A_PHONE, "a short code or a name: answering one starts a loop")
    age = now - message.received_at
    if message.message_class == OPT_OUT:
        # Late first: whatever else is true of an old message, a backfill reads as late.
        if age > timedelta(minutes=replies.confirm_within_minutes):
            return Decision(message, SKIPPED_LATE, _late(age, replies.confirm_within_minutes, "confirm"))
        if message.id_sms not in state.latest_opt_outs:
            return Decision(message, SKIPPED_SUPERSEDED, "not the subscriber's latest opt-out")
        return None
    if age > timedelta(minutes=replies.reply_within_minutes):
        return Decision(message, SKIPPED_LATE, _late(age, replies.reply_within_minutes, "reply"))
    if message.message_class not in ANSWERED_WHEN_OPTED_OUT and message.key in state.opted_out:
        return Decision(message, SKIPPED_OPTED_OUT, "on the opt-out list")
    return None


def _late(age: timedelta, limit: int, name: str) -> str:
    return f"{int(age.total_seconds() // 60)} min old, over {name}_within_minutes {limit}"


def _provider_day_start(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


# --- the record -----------------------------------------------------------------------------------


def row_of(decision: Decision, state: str, decided_at: datetime) -> ReplyRow:
    """The record's row for a decision, in `state` (a skip's own name, `dry_run` or `sending`)."""
    message = decision.message
    return ReplyRow(
        id_sms=message.id_sms,
        subscriber=message.subscriber,
        message_class=message.message_class,
        text=message.text,
        parts=sms_parts(message.text),
        state=state,
        decided_at=decided_at,
        detail=decision.detail,
    )


def merge_record(record: pa.Table, rows: Iterable[ReplyRow]) -> pa.Table:
    """The record with `rows` in place of the rows of the same (id_sms, class): one row per
    reply, ever, in the order decided."""
    added = pa.Table.from_pylist([_row_dict(row) for row in rows], schema=RECORD_SCHEMA)
    if added.num_rows and record.num_rows:
        record = record.filter(pc.invert(pc.is_in(_reply_keys(record), value_set=_reply_keys(added))))
    merged = pa.concat_tables([record.cast(RECORD_SCHEMA), added])
    return merged.take(pc.sort_indices(merged, [("decided_at", "ascending"), ("id_sms", "ascending")]))


def rows_in(record: pa.Table, state: str) -> list[dict[str, object]]:
    """The record's rows in `state`, as dictionaries (for a person: the check, the metadata)."""
    return record.filter(pc.equal(record["state"], state)).to_pylist()


def with_outcome(row: ReplyRow, **changes: object) -> ReplyRow:
    return replace(row, **changes)  # type: ignore[arg-type]


def count_states(rows: Iterable[ReplyRow]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row.state] += 1
    return dict(counts)


def _row_dict(row: ReplyRow) -> dict[str, object]:
    return {
        "id_sms": row.id_sms,
        "subscriber": row.subscriber,
        "class": row.message_class,
        "text": row.text,
        "parts": row.parts,
        "state": row.state,
        "error_code": row.error_code,
        "decided_at": row.decided_at,
        "sent_at": row.sent_at,
        "provider_id": row.provider_id,
        "cost": row.cost,
        "count_sms": row.count_sms,
        "detail": row.detail,
    }
