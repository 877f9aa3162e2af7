"""Hand-built message tables for the rules tests: every column defaulted, ids numbered from 1.

A plain module (not a conftest) so tests can import the helpers and constants by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.normalize.schema import incoming_schema
from lightsms_pipeline.rules import Rules, classified_schema, classify, rules_from_mapping

TZ = "Europe/Vilnius"
NOON = "2025-01-15 12:00:00"
FETCHED_AT = dt.datetime(2025, 1, 16, tzinfo=dt.UTC)

LUNCH_POLL: dict[str, Any] = {
    "id": "lunch",
    "question": "Best lunch option?",
    "options": {"A": "Pizza", "B": "Salad", "C": "Soup", "D": "Sushi"},
    "start": "2025-01-10 00:00:00",
    "end": "2025-01-20 23:59:59",
}

Row = Mapping[str, Any]


def local(text: str) -> dt.datetime:
    """A provider-local wall time "YYYY-MM-DD HH:MM:SS[.ffffff]" as an aware datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(TZ))


def build_incoming(rows: Sequence[Row]) -> pa.Table:
    """An `incoming_messages` table. Each row names only what the test is about: `text`, and
    optionally `id_sms`, `at` (local time), `sender`, `sender_e164`, `phone`, `prefix`.

    The default sender is +37061234567; a digits-only sender given without `sender_e164` gets
    "+" + sender, any other sender gets null (not a phone number).
    """
    columns: dict[str, list[Any]] = {name: [] for name in incoming_schema(TZ).names}
    for index, row in enumerate(rows, start=1):
        sender = row.get("sender", "37061234567")
        default_e164 = "+" + sender if sender.isdigit() and len(sender) >= 8 else None
        columns["id_sms"].append(row.get("id_sms", str(index)))
        columns["received_at"].append(local(row.get("at", NOON)))
        columns["sender"].append(sender)
        columns["sender_e164"].append(row.get("sender_e164", default_e164))
        columns["phone"].append(row.get("phone", "5163251632"))
        columns["prefix"].append(row.get("prefix", ""))
        columns["text"].append(row["text"])
        columns["account"].append("acc")
        columns["fetched_at"].append(FETCHED_AT)
    return pa.table(columns, schema=incoming_schema(TZ))


def rules_with(**overrides: Any) -> Rules:
    """The default rules with `overrides` applied, as a rules file would."""
    return rules_from_mapping(overrides, "test-rules")


def classified_rows(rows: Sequence[Row], rules: Rules) -> pa.Table:
    """Downstream tests start from real classification of hand-written messages."""
    return classify(build_incoming(rows), rules)


def synthetic_classified(count: int, seed: int = 0, senders: int = 50_000) -> pa.Table:
    """`count` classified rows with a realistic mix (8% opt-out, 3% opt-in, 10% votes for
    LUNCH_POLL, 4% help, the rest other), built column by column so millions take seconds.

    Ids are unique, times spread over January 2025, senders drawn from a pool of `senders`.
    """
    rng = np.random.default_rng(seed)
    schema = classified_schema(TZ)
    kind = pa.array(rng.choice(5, size=count, p=[0.08, 0.03, 0.10, 0.04, 0.75]))

    def pick(values: list[str | None], index: pa.Array = kind) -> pa.Array:
        return pa.array(values, pa.string()).take(index)

    def draw(values: list[str]) -> pa.Array:
        return pick(values, pa.array(rng.integers(0, len(values), size=count)))

    start_us = int(local("2025-01-01 00:00:00").timestamp()) * 1_000_000
    micros = pa.array(start_us + rng.integers(0, 31 * 86_400, size=count) * 1_000_000)
    sender = draw([f"3706{n:07d}" for n in range(senders)])
    is_vote = pc.equal(kind, 2)
    chatter = "Hello, when does my order arrive?"
    columns = {
        "id_sms": pa.array(np.arange(10_000_000, 10_000_000 + count)).cast(pa.string()),
        "received_at": micros.cast(schema.field("received_at").type),
        "sender": sender,
        "sender_e164": pc.binary_join_element_wise("+", sender, ""),
        "phone": draw(["5163251632", "37052000000"]),
        "prefix": draw(["51632", ""]),
        "text": pick(["STOP", "START", "A", "HELP", chatter]),
        "account": pick(["acc"] * 5),
        "fetched_at": micros.cast(schema.field("fetched_at").type),
        "normalized_text": pick(["stop", "start", "a", "help", chatter.lower()[:-1]]),
        "class": pick(["opt_out", "opt_in", "poll_vote", "help", "other"]),
        "keyword": pick(["stop", "start", None, "help", None]),
        "poll_id": pc.if_else(is_vote, "lunch", pa.scalar(None, pa.string())),
        "poll_option": pc.if_else(is_vote, draw(["A", "B", "C", "D"]), pa.scalar(None, pa.string())),
        "possible_opt_out": pc.equal(kind, 9),
        "keyword_match": pick(["exact", "exact", None, "exact", None]),
    }
    return pa.table(columns, schema=schema)


def as_read_with_dictionaries(table: pa.Table) -> pa.Table:
    """`table` as Parquet gives it back with `read_dictionary` on its low-cardinality columns."""
    names = {"sender", "sender_e164", "phone", "prefix", "class", "keyword", "poll_id", "poll_option"}
    fields = [
        field.with_type(pa.dictionary(pa.int32(), field.type)) if field.name in names else field
        for field in table.schema
    ]
    return table.cast(pa.schema(fields))
