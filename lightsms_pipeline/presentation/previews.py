"""How tables show in the Dagster UI: column schemas with what each column means, and previews.

`MetadataValue.table` rather than hand-built markdown: the UI renders it as a table with typed
columns, and tests read the records back instead of parsing markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import pyarrow as pa
from dagster import MetadataValue, TableColumn, TableMetadataValue, TableRecord, TableSchema

from lightsms_pipeline.contract import OPT_OUT_LIST, REPLIES, STOP_LIST_SYNC

CELL_CHARS = 60  # longer texts are cut so a preview stays readable
NEVER_NULL = "never null"

# What each published column means, the one copy of README's column table that the Dagster UI
# shows beside a column's type: an analyst reading the asset in the UI should not need the
# README open. A name means the same in every dataset that has it; `DATASET_COLUMN_MEANINGS`
# says where one dataset's row is about something else (an opt-out list row is a subscriber,
# not a message). tests/presentation/test_column_descriptions.py holds every asset's every
# column to a meaning.
COLUMN_MEANINGS: Mapping[str, str] = {
    # incoming_messages (docs/lightsms-api.md §1, §5)
    "id_sms": "LightSMS message id (decimal digits; ordered as an integer of any size); unique per message",
    "received_at": "when LightSMS received the message: the API's `date`, read in LIGHTSMS_TIMEZONE",
    "sender": "the sender as LightSMS gave it: digits without '+', a short code or a name "
    "(its h: hash with LIGHTSMS_SENDER_HASH_SALT)",
    "sender_e164": "the sender in E.164 (+37061234567); null when it is no valid phone number "
    "(its h: hash with a salt)",
    "phone": "your receiving number, as LightSMS gives it; null when the answer omits it",
    "prefix": "the routing keyword on a shared number; empty on a dedicated number",
    "text": "the message, byte for byte as received",
    "account": "the LightSMS login the message was fetched with",
    "fetched_at": "when this copy was fetched from LightSMS (UTC)",
    # classified_messages (docs/rules.md §1-§2, §4)
    "normalized_text": "the text as the rules read it: invisible characters removed, NFKC, "
    "casefolded, ends stripped (docs/rules.md §1)",
    "class": "opt_out, poll_vote, opt_in, help or other: the first rule that matches (docs/rules.md §2)",
    "keyword": "the keyword matched; for a look-alike (ЅТОР) the keyword it imitates; null for "
    "votes and other",
    "poll_id": "the poll the vote counts in; null when the message is no vote",
    "poll_option": "the option key voted for; null when the message is no vote",
    "possible_opt_out": "an `other` message holding an opt-out word or a look-alike of one: for a "
    "person to review",
    "keyword_match": "how the keyword matched: exact or look_alike; null when none did",
    # the subscriber datasets (docs/rules.md §3, §8)
    "subscriber": "who the row is about: the sender in E.164, else the raw sender (its h: hash with a salt)",
    "opted_out_at": "when the subscriber's latest opt-out was received",
    "first_opted_out_at": "the first opt-out since the subscriber's last opt-in: when the duty "
    "to stop began (the 10-business-day clock)",
    # poll_results (docs/rules.md §4)
    "option": "the option's key, as declared in the rules file",
    "label": "the option's label, as declared in the rules file",
    "votes": "counted votes for this option (one per subscriber)",
    "share": "this option's share of the poll's counted votes (0 to 1)",
    "voters": "subscribers with a counted vote in this poll (per poll, repeated on its rows)",
    "superseded": "valid votes of this poll that do not count because the same subscriber voted "
    "again (per poll)",
    "invalid": "other messages in the poll's window and scope: neither a vote nor a keyword (per poll)",
    # stop_list_sync's record and conflicts (docs/stop-list.md)
    "action": "pushed, already_listed or would_push (the latest dry run's plan)",
    "mode": "LIGHTSMS_STOP_LIST_SYNC of the run that wrote the row: dry-run or on",
    "at": "when the number was pushed or looked up (UTC)",
    "provider_answer": "the new stop-list entry's id (pushed) or its time_in (already_listed)",
    "conflict": "opted_in_after_push, not_a_phone_number or sender_not_found: what a person must look at",
    "detail": "the conflict in words",
    # a run's rows per day (incoming_messages' materialization)
    "day": "the daily partition (provider-local date)",
    "rows": "messages written for the day",
    "senders": "distinct senders of the day",
}
DATASET_COLUMN_MEANINGS: Mapping[str, Mapping[str, str]] = {
    OPT_OUT_LIST: {
        "sender": "the sender of the latest opt-out, as LightSMS gave it (its h: hash with a salt)",
        "id_sms": "the id of the subscriber's latest opt-out message: the evidence",
        "keyword": "the opt-out keyword of that message",
        "text": "that message's text, byte for byte",
        "phone": "the number the latest opt-out was sent to (part of the key in per_number scope)",
        "prefix": "that message's prefix (part of the key in per_number scope)",
    },
    STOP_LIST_SYNC: {
        "id_sms": "the id of the opt-out message behind the push",
    },
    # the replies' record (docs/rules.md §9)
    REPLIES: {
        "id_sms": "the id of the message answered; one reply per (id_sms, class), ever",
        "class": "the class of the message answered, whose reply text was used",
        "text": "the reply's text, as sent (or as it would have been)",
        "parts": "the SMS parts the text is billed as, counted before sending (GSM-7 160/153, UCS-2 70/67)",
        "state": "dry_run, sending, sent, refused, unknown, not_sent or skipped_* (docs/rules.md §9)",
        "error_code": "LightSMS's error code of a refused reply (0 when sent)",
        "decided_at": "when the reply was decided (UTC); the rate limit and daily cap count from it",
        "sent_at": "when LightSMS answered that the reply was sent (UTC)",
        "provider_id": "send.php's id_sms of the sent reply (for status.php)",
        "cost": "what LightSMS said the reply cost, as decimal text",
        "count_sms": "the SMS parts LightSMS billed",
        "detail": "why the reply was skipped, refused or is unknown, in words",
    },
}


def column_description(name: str, nullable: bool, dataset: str | None = None) -> str | None:
    """What column `name` of `dataset` means, then its constraint (`never null`); just the
    constraint, or None, for a column no table above describes."""
    meaning = DATASET_COLUMN_MEANINGS.get(dataset or "", {}).get(name) or COLUMN_MEANINGS.get(name)
    constraint = None if nullable else NEVER_NULL
    if meaning is None:
        return constraint
    return meaning if constraint is None else f"{meaning}; {constraint}"


def column_schema(schema: pa.Schema, dataset: str | None = None) -> TableSchema:
    """The Arrow schema as Dagster's `TableSchema`: names, Arrow types, and per column what it
    means and whether it is never null."""
    return TableSchema(
        columns=[
            TableColumn(
                name=f.name, type=str(f.type), description=column_description(f.name, f.nullable, dataset)
            )
            for f in schema
        ]
    )


def table_preview(table: pa.Table, rows: int) -> TableMetadataValue:
    """The first `rows` rows as a UI table; times as ISO text, long texts cut to `CELL_CHARS`."""
    records = [
        TableRecord({name: _cell(value) for name, value in row.items()})
        for row in table.slice(0, rows).to_pylist()
    ]
    return MetadataValue.table(records, schema=column_schema(table.schema))


def records_table(rows: Sequence[Mapping[str, object]], schema: pa.Schema) -> TableMetadataValue:
    """Rows built by the caller (e.g. one per day of a run) as a UI table with `schema`'s columns."""
    return table_preview(pa.Table.from_pylist(list(rows), schema=schema), len(rows))


def _cell(value: object) -> str | int | float | bool | None:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 3] + "…"
