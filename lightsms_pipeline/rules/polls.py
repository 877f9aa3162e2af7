"""Poll results (docs/rules.md §4): one vote per subscriber per poll, superseded and invalid counts.

Which poll and option a message votes for was decided by `classify`; this module counts. Votes
for a poll or an option no longer declared (stale partitions classified under older rules) are
ignored, and every declared option gets a row, with 0 votes where none came.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.rules.classify import MESSAGE_COLUMNS, classified_fields, in_poll_scope
from lightsms_pipeline.rules.model import OTHER, POLL_VOTE, Poll, Rules
from lightsms_pipeline.rules.subscriptions import SUBSCRIBER_FIELD, subscriber
from lightsms_pipeline.rules.tables import (
    count_distinct_ids,
    grouped_in_time_order,
    id_order,
    in_time_order,
    messages_of_class,
    provider_local_time,
)

COUNTED = "counted"
SUPERSEDED = "superseded"

POLL_RESULTS_SCHEMA = pa.schema(
    [
        pa.field("poll_id", pa.string(), nullable=False),
        pa.field("option", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),
        pa.field("votes", pa.int64(), nullable=False),
        pa.field("share", pa.float64(), nullable=False),
        pa.field("voters", pa.int64(), nullable=False),
        pa.field("superseded", pa.int64(), nullable=False),
        pa.field("invalid", pa.int64(), nullable=False),
    ]
)


def poll_vote_details_schema(timezone: str) -> pa.Schema:
    """One row per valid vote, `status` counted or superseded: the audit trail of a result."""
    return pa.schema(
        [
            pa.field("poll_id", pa.string(), nullable=False),
            pa.field("option", pa.string(), nullable=False),
            *classified_fields(timezone, ["id_sms", "received_at"]),
            SUBSCRIBER_FIELD,
            *classified_fields(timezone, ["sender", "phone", "prefix"]),
            pa.field("status", pa.string(), nullable=False),
        ]
    )


def poll_results_columns() -> tuple[str, ...]:
    """The `classified_messages` columns `poll_results` reads: project the Parquet read to these."""
    return (*MESSAGE_COLUMNS, "class", "poll_id", "poll_option")


def poll_results_filter(rules: Rules) -> pc.Expression:
    """A Parquet read filter keeping the rows `poll_results` may count: votes, and `other`
    messages within a day of some poll's window (the day absorbs any UTC offset)."""
    if not rules.polls:
        return pc.field("class").isin(pa.array([], pa.string()))
    zone = ZoneInfo(rules.timezone)
    unit_type = pa.timestamp("us", tz=rules.timezone)
    earliest = min(poll.start for poll in rules.polls) - dt.timedelta(days=1)
    latest = max(poll.end for poll in rules.polls) + dt.timedelta(days=1)
    near_a_window = (pc.field("received_at") >= pa.scalar(earliest.replace(tzinfo=zone), unit_type)) & (
        pc.field("received_at") <= pa.scalar(latest.replace(tzinfo=zone), unit_type)
    )
    return (pc.field("class") == POLL_VOTE) | ((pc.field("class") == OTHER) & near_a_window)


def countable_poll_rows(classified: pa.Table, rules: Rules) -> pa.Table:
    """The rows of `classified` that `poll_results` can count: votes, and `other` messages inside
    some declared poll's scope (the invalid replies). Row by row, so it can be applied to each
    day apart: `poll_results` of the union of the days' rows equals `poll_results` of all rows."""
    other = pc.fill_null(pc.equal(classified["class"], OTHER), False)
    vote = pc.fill_null(pc.equal(classified["class"], POLL_VOTE), False)
    if not rules.polls or not classified.num_rows:
        return classified.filter(vote)
    local_time = provider_local_time(classified["received_at"], rules.timezone)
    phone, prefix = classified["phone"], classified["prefix"]
    in_any_scope = functools.reduce(
        pc.or_, [in_poll_scope(local_time, phone, prefix, poll) for poll in rules.polls]
    )
    return classified.filter(pc.or_(vote, pc.and_(other, in_any_scope)))


def _poll_votes(votes: pa.Table, poll: Poll) -> tuple[pa.Table, pa.Array]:
    """The valid votes of one poll, and the mask of those that count (one per subscriber)."""
    mine = votes.filter(
        pc.and_(
            pc.equal(votes["poll_id"], poll.id),
            pc.is_in(votes["poll_option"], pa.array(list(poll.options))),
        )
    )
    order, first, last = grouped_in_time_order(mine, ["subscriber"])
    counted = np.zeros(mine.num_rows, dtype=bool)
    counted[pc.filter(order, last if poll.count == "last" else first).to_numpy()] = True
    return mine, pa.array(counted)


def _valid_votes(classified: pa.Table) -> pa.Table:
    votes = messages_of_class(classified, poll_results_columns(), [POLL_VOTE])
    return votes.append_column("subscriber", subscriber(votes))


def poll_vote_details(classified: pa.Table, rules: Rules) -> pa.Table:
    """Every valid vote of every declared poll with its status: polls in declared order, each
    poll's votes in time order (received_at, then id_sms as an integer)."""
    schema = poll_vote_details_schema(rules.timezone)
    votes = _valid_votes(classified)
    per_poll = []
    for poll in rules.polls:
        mine, counted = _poll_votes(votes, poll)
        status = pc.if_else(counted, pa.scalar(COUNTED), pa.scalar(SUPERSEDED))
        per_poll.append(in_time_order(mine.append_column("status", status)))
    if not per_poll:
        return schema.empty_table()
    details = pa.concat_tables(per_poll)
    details = details.rename_columns(
        ["option" if name == "poll_option" else name for name in details.column_names]
    )
    return details.select(schema.names).cast(schema)


def poll_results(classified: pa.Table, rules: Rules) -> pa.Table:
    """One row per declared poll and option (declared order) with the counts of docs/rules.md §4.

    `share` is votes over the poll's counted votes (0.0 when there are none); `voters`,
    `superseded` and `invalid` are per poll, repeated on its rows. `invalid` counts distinct
    `other` messages in the poll's scope: keywords and votes for another poll are not invalid.
    """
    if not rules.polls:
        return POLL_RESULTS_SCHEMA.empty_table()
    votes = _valid_votes(classified)
    other = pc.fill_null(pc.equal(classified["class"], OTHER), False)
    local_time = provider_local_time(classified["received_at"], rules.timezone)
    rows: dict[str, list[object]] = {name: [] for name in POLL_RESULTS_SCHEMA.names}
    for poll in rules.polls:
        mine, counted = _poll_votes(votes, poll)
        kept = pc.filter(mine["poll_option"], counted)
        tally = {entry["values"]: entry["counts"] for entry in pc.value_counts(kept).to_pylist()}
        voters = len(kept)
        scope = in_poll_scope(local_time, classified["phone"], classified["prefix"], poll)
        invalid = count_distinct_ids(id_order(pc.filter(classified["id_sms"], pc.and_(scope, other))))
        for option, label in poll.options.items():
            votes_for = tally.get(option, 0)
            rows["poll_id"].append(poll.id)
            rows["option"].append(option)
            rows["label"].append(label)
            rows["votes"].append(votes_for)
            rows["share"].append(votes_for / voters if voters else 0.0)
            rows["voters"].append(voters)
            rows["superseded"].append(mine.num_rows - voters)
            rows["invalid"].append(invalid)
    return pa.table(rows, schema=POLL_RESULTS_SCHEMA)
