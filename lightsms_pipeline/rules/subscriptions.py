"""Subscription state (sms-rules §3): who is opted out now, with the message that proves it.

The list is a pure function of the set of opt-out/opt-in events across all partitions: a day
re-fetched, partitions overlapping, or days read in any order give the same list.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.rules.classify import MESSAGE_COLUMNS, classified_fields
from lightsms_pipeline.rules.model import OPT_IN, OPT_OUT, Rules
from lightsms_pipeline.rules.tables import Column, grouped_in_time_order, messages_of_class

SUBSCRIBER_FIELD = pa.field("subscriber", pa.string(), nullable=False)
OPT_OUT_COLUMNS = (
    "subscriber",
    "sender",
    "opted_out_at",
    "id_sms",
    "keyword",
    "text",
    "phone",
    "prefix",
)


def subscriber(table: pa.Table) -> Column:
    """The subscriber key (sms-rules §3): the E.164 sender, else the raw sender string."""
    return pc.coalesce(table["sender_e164"], table["sender"])


def opt_out_schema(timezone: str) -> pa.Schema:
    """One row per subscriber (per number in `per_number` scope) currently opted out.

    The columns are the same in both scopes; in `per_number` scope `phone` and `prefix` are
    part of the key, in `account` scope they are evidence: where the deciding STOP was sent.
    """
    sender, received_at, *evidence = classified_fields(
        timezone, ["sender", "received_at", "id_sms", "keyword", "text", "phone", "prefix"]
    )
    return pa.schema([SUBSCRIBER_FIELD, sender, received_at.with_name("opted_out_at"), *evidence])


def opt_out_list_columns() -> tuple[str, ...]:
    """The `classified_messages` columns `opt_out_list` reads: project the Parquet read to these."""
    return (*MESSAGE_COLUMNS, "text", "class", "keyword")


def opt_out_events_filter() -> pc.Expression:
    """A Parquet read filter keeping only the rows `opt_out_list` looks at (the events)."""
    return pc.field("class").isin([OPT_OUT, OPT_IN])


def subscription_key(rules: Rules) -> list[str]:
    """The columns that identify one subscription in the configured scope."""
    return ["subscriber"] if rules.scope == "account" else ["subscriber", "phone", "prefix"]


def opt_out_list(classified: pa.Table, rules: Rules) -> pa.Table:
    """The current opt-out list: keys whose latest event, by (received_at, id_sms as an
    integer), is an opt-out. Sorted by subscriber (then phone, prefix; nulls last).

    `opted_out_at`, `id_sms`, `keyword` and `text` are those of that latest opt-out: a repeated
    STOP refreshes the evidence, it does not start a second entry.
    """
    schema = opt_out_schema(rules.timezone)
    events = messages_of_class(classified, opt_out_list_columns(), [OPT_OUT, OPT_IN])
    events = events.append_column("subscriber", subscriber(events))
    key = subscription_key(rules)
    order, _, latest = grouped_in_time_order(events, key)
    state = events.take(pc.filter(order, latest))
    opted_out = state.filter(pc.equal(state["class"], OPT_OUT))
    opted_out = opted_out.take(pc.sort_indices(opted_out, sort_keys=[(name, "ascending") for name in key]))
    opted_out = opted_out.rename_columns(
        ["opted_out_at" if name == "received_at" else name for name in opted_out.column_names]
    )
    return opted_out.select(list(OPT_OUT_COLUMNS)).cast(schema)
