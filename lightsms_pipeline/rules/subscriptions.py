"""Subscription state (docs/rules.md §3): who is opted out now, with the message that proves it.

The list is a pure function of the set of opt-out/opt-in events across all partitions: a day
re-fetched, partitions overlapping, or days read in any order give the same list.
"""

from __future__ import annotations

import numpy as np
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
    "first_opted_out_at",
)


def subscriber(table: pa.Table) -> Column:
    """The subscriber key (docs/rules.md §3): the E.164 sender, else the raw sender string."""
    return pc.coalesce(table["sender_e164"], table["sender"])


def opt_out_schema(timezone: str) -> pa.Schema:
    """One row per subscriber (per number in `per_number` scope) currently opted out.

    The columns are the same in both scopes; in `per_number` scope `phone` and `prefix` are
    part of the key, in `account` scope they are evidence: where the deciding STOP was sent.
    """
    sender, received_at, *evidence = classified_fields(
        timezone, ["sender", "received_at", "id_sms", "keyword", "text", "phone", "prefix"]
    )
    return pa.schema(
        [
            SUBSCRIBER_FIELD,
            sender,
            received_at.with_name("opted_out_at"),
            *evidence,
            # Appended last: the column contract only grows at the end.
            received_at.with_name("first_opted_out_at"),
        ]
    )


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
    STOP refreshes the evidence, it does not start a second entry. `first_opted_out_at` is the
    first opt-out since the key's last opt-in (or ever): when the duty to stop began (§8), which a
    repeated STOP does not move and a STOP, START, STOP restarts at the second STOP.
    """
    schema = opt_out_schema(rules.timezone)
    events = messages_of_class(classified, opt_out_list_columns(), [OPT_OUT, OPT_IN])
    events = events.append_column("subscriber", subscriber(events))
    key = subscription_key(rules)
    order, first, latest = grouped_in_time_order(events, key)
    started = _opt_out_run_starts(pc.take(events["class"], order), first)
    latest_positions = pc.filter(order, latest)
    state = events.take(latest_positions)
    run_start = pc.take(order, pc.filter(pa.array(started), latest))
    state = state.append_column("first_opted_out_at", pc.take(events["received_at"], run_start))
    opted_out = state.filter(pc.equal(state["class"], OPT_OUT))
    opted_out = opted_out.take(pc.sort_indices(opted_out, sort_keys=[(name, "ascending") for name in key]))
    opted_out = opted_out.rename_columns(
        ["opted_out_at" if name == "received_at" else name for name in opted_out.column_names]
    )
    return opted_out.select(list(OPT_OUT_COLUMNS)).cast(schema)


def _opt_out_run_starts(classes_in_order: pa.Array | pa.ChunkedArray, first: pa.ChunkedArray) -> np.ndarray:
    """For each position of the grouped, time-ordered events: the position where its current
    run began, a run starting at a group's first event or right after an opt-in. At a group's
    latest event that is an opt-out, this is its first opt-out since the last opt-in."""
    positions = np.arange(len(classes_in_order))
    if not len(positions):
        return positions
    after_opt_in = np.zeros(len(positions), dtype=bool)
    after_opt_in[1:] = pc.equal(classes_in_order, OPT_IN).to_numpy(zero_copy_only=False)[:-1]
    starts = first.to_numpy(zero_copy_only=False) | after_opt_in
    return np.maximum.accumulate(np.where(starts, positions, 0))
