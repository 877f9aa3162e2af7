"""Classifying messages (sms-rules §2): one class per message, first matching rule wins.

Also the column helpers the downstream tables share, so each rule has one implementation: the
subscriber key, `id_sms` as an integer, provider-local time, a poll's scope, de-duplication by
`id_sms`, and the (received_at, id_sms) order within a group.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.rules.model import OPT_OUT, OTHER, POLL_VOTE, Poll, Rules
from lightsms_pipeline.rules.text import map_distinct, normalize_texts
from lightsms_pipeline.schema import incoming_schema

Column: TypeAlias = pa.Array | pa.ChunkedArray


def classified_schema(timezone: str) -> pa.Schema:
    """`incoming_messages` plus what classification adds; `classify` returns exactly this."""
    added = [
        pa.field("normalized_text", pa.string(), nullable=False),
        pa.field("class", pa.string(), nullable=False),
        pa.field("keyword", pa.string()),
        pa.field("poll_id", pa.string()),
        pa.field("poll_option", pa.string()),
        pa.field("possible_opt_out", pa.bool_(), nullable=False),
    ]
    incoming = incoming_schema(timezone)
    return pa.schema(list(incoming) + added)


# Who sent what to which number: the columns every downstream table starts from.
MESSAGE_COLUMNS = ("id_sms", "received_at", "sender", "sender_e164", "phone", "prefix")
SUBSCRIBER_FIELD = pa.field("subscriber", pa.string(), nullable=False)


def classified_fields(timezone: str, names: Sequence[str]) -> list[pa.Field]:
    """Fields of `classified_schema` by name, so derived tables keep their types and nullability."""
    schema = classified_schema(timezone)
    return [schema.field(name) for name in names]


def subscriber(table: pa.Table) -> Column:
    """The subscriber key (sms-rules §3): the E.164 sender, else the raw sender string."""
    return pc.coalesce(table["sender_e164"], table["sender"])


def id_order(id_sms: Column) -> Column:
    """`id_sms` as int64, the order of ties (sms-rules §3): as text "10" < "9"."""
    try:
        return pc.cast(id_sms, pa.int64())
    except pa.ArrowInvalid as error:
        raise ValueError(f"id_sms must be decimal digits that fit int64: {error}") from None


def provider_local_time(received_at: Column, timezone: str) -> Column:
    """Naive provider-local wall time, the clock poll windows are written in."""
    unit = received_at.type.unit
    return pc.local_timestamp(pc.cast(received_at, pa.timestamp(unit, tz=timezone)))


def in_poll_scope(local_time: Column, phone: Column, prefix: Column, poll: Poll) -> Column:
    """Messages in the poll's window (inclusive, to the second) sent to its phone/prefix.

    A filter that is set never matches a null column value: a message whose receiving number is
    unknown cannot be shown to have been sent to the poll's number.
    """
    unit = local_time.type.unit
    start = pa.scalar(poll.start, pa.timestamp(unit))
    stop = pa.scalar(poll.window_end_exclusive(), pa.timestamp(unit))
    mask = pc.and_(pc.greater_equal(local_time, start), pc.less(local_time, stop))
    for column, wanted in ((phone, poll.phone), (prefix, poll.prefix)):
        if wanted is not None:
            mask = pc.and_(mask, pc.fill_null(pc.equal(column, wanted), False))
    return mask


def opt_out_word_pattern(rules: Rules) -> re.Pattern[str]:
    """An opt-out word or phrase standing as its own word(s) inside a normalized text."""
    words = sorted(rules.opt_out_keywords(), key=len, reverse=True)
    alternatives = "|".join(re.escape(word) for word in words)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def classify(table: pa.Table, rules: Rules) -> pa.Table:
    """Classify every row of an `incoming_messages` table; returns `classified_schema`.

    Extra input columns (e.g. a hive `date`) are dropped. The Python-level work is per distinct
    text (normalizing, keyword and option lookups), the per-row work is Arrow compute.
    """
    schema = incoming_schema(rules.timezone)
    incoming = table.select(schema.names).cast(schema)
    normalized = normalize_texts(incoming["text"])
    keyword_class = map_distinct(normalized, rules.keyword_classes().get, pa.string())
    opt_out_word = opt_out_word_pattern(rules)
    mentions_opt_out = map_distinct(
        normalized, lambda text: opt_out_word.search(text) is not None, pa.bool_()
    )

    # Opt-out is tried first so that a STOP is never a vote (sms-rules §2); among polls the
    # first declared one whose scope and options match takes the message.
    poll_id: Column = pa.nulls(incoming.num_rows, pa.string())
    poll_option: Column = pa.nulls(incoming.num_rows, pa.string())
    if rules.polls:
        unassigned = pc.fill_null(pc.not_equal(keyword_class, OPT_OUT), True)
        local_time = provider_local_time(incoming["received_at"], rules.timezone)
        for poll in rules.polls:
            option = map_distinct(normalized, poll.option_lookup().get, pa.string())
            scope = in_poll_scope(local_time, incoming["phone"], incoming["prefix"], poll)
            vote = pc.and_(pc.and_(pc.is_valid(option), scope), unassigned)
            poll_id = pc.if_else(vote, pa.scalar(poll.id), poll_id)
            poll_option = pc.if_else(vote, option, poll_option)
            unassigned = pc.and_(unassigned, pc.invert(vote))

    is_vote = pc.is_valid(poll_id)
    message_class = pc.if_else(is_vote, pa.scalar(POLL_VOTE), pc.coalesce(keyword_class, pa.scalar(OTHER)))
    keyword = pc.if_else(
        pc.and_(pc.is_valid(keyword_class), pc.invert(is_vote)),
        normalized,
        pa.scalar(None, pa.string()),
    )
    possible_opt_out = pc.and_(pc.equal(message_class, OTHER), mentions_opt_out)
    columns = [
        *incoming.columns,
        normalized,
        message_class,
        keyword,
        poll_id,
        poll_option,
        possible_opt_out,
    ]
    return pa.Table.from_arrays(columns, schema=classified_schema(rules.timezone))


def count_distinct_ids(ids: Column) -> int:
    """Distinct values of an int64 column without nulls (see `id_order`).

    numpy's sort is several times faster here than Arrow's hash-based count and needs one copy
    of the column, where the hash table of 10M values takes a gigabyte.
    """
    values = np.sort(ids.to_numpy())
    return int(values.size and 1 + np.count_nonzero(values[1:] != values[:-1]))


def _codes(column: Column) -> pa.Array:
    """Integer codes of a column's values, null a value of its own: grouping and sorting on
    them is several times faster than on strings, and which row lands in which group does not
    depend on the order the rows came in."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.dictionary_encode(column, null_encoding="encode").indices


def _run_edges(columns: list[Column]) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """(first, last) masks of each run of equal values in null-free, sorted `columns`."""
    rows = len(columns[0])
    if rows == 0:
        empty = pa.chunked_array([], pa.bool_())
        return empty, empty
    change = functools.reduce(
        pc.or_, [pc.not_equal(column.slice(1), column.slice(0, rows - 1)) for column in columns]
    )
    chunks = change.chunks if isinstance(change, pa.ChunkedArray) else [change]
    edge = pa.array([True])
    return pa.chunked_array([edge, *chunks]), pa.chunked_array([*chunks, edge])


def grouped_in_time_order(
    table: pa.Table, keys: list[str]
) -> tuple[pa.Array, pa.ChunkedArray, pa.ChunkedArray]:
    """Row positions of `table` grouped by `keys` (null a value of its own), each group in
    (received_at, id_sms as an integer) order, with masks of each group's first and last position.

    Positions rather than a reordered table: callers take only the rows they keep, and a
    random-access take of every string column is the slow part at millions of rows. Groups come
    in no meaningful order; within a group the order is total (ids are unique after
    `unique_messages`), so each group's first and last row depend only on the set of rows.
    """
    sort_columns = {f"_key{index}": _codes(table[key]) for index, key in enumerate(keys)}
    sort_columns["received_at"] = table["received_at"]
    sort_columns["_id"] = id_order(table["id_sms"])
    order = pc.sort_indices(pa.table(sort_columns), sort_keys=[(name, "ascending") for name in sort_columns])
    first, last = _run_edges([pc.take(sort_columns[f"_key{i}"], order) for i in range(len(keys))])
    return order, first, last


def in_time_order(table: pa.Table) -> pa.Table:
    """`table` ordered by (received_at, id_sms as an integer): the order messages arrived in."""
    keys = pa.table({"received_at": table["received_at"], "_id": id_order(table["id_sms"])})
    order = pc.sort_indices(keys, sort_keys=[("received_at", "ascending"), ("_id", "ascending")])
    if np.array_equal(order.to_numpy(), np.arange(len(order))):
        return table  # partitions usually arrive in order: skip the costly take
    return table.take(order)


def messages_of_class(classified: pa.Table, columns: Sequence[str], classes: Sequence[str]) -> pa.Table:
    """The `columns` of the rows whose class is one of `classes`, one row per `id_sms`.

    Columns read from Parquet as dictionaries (a good way to read `class`, `sender` or `phone`
    of millions of rows) come back as plain strings, which every later step accepts.
    """
    table = classified.select(list(columns))
    table = table.filter(pc.is_in(table["class"], pa.array(list(classes), pa.string())))
    plain = [
        field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type) else field
        for field in table.schema
    ]
    return unique_messages(table.cast(pa.schema(plain)))


def unique_messages(table: pa.Table) -> pa.Table:
    """One row per `id_sms`: a re-fetched day or overlapping partitions repeat messages.

    Copies of an id are the same message; if they differ anyway, the kept copy is the first in
    the order of all columns, so the result depends only on the set of rows, not their order.
    """
    ids = id_order(table["id_sms"])
    if count_distinct_ids(ids) == table.num_rows:
        return table
    keyed = table.append_column("_id", ids)
    sort_keys = [("_id", "ascending")] + [(name, "ascending") for name in table.column_names]
    ordered = keyed.take(pc.sort_indices(keyed, sort_keys=sort_keys))
    first, _ = _run_edges([ordered["_id"]])
    return ordered.filter(first).drop_columns(["_id"])
