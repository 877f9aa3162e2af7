"""Arrow table algebra the rules share: id order, time order, latest per key, de-duplication.

Generic operations on message tables with `id_sms` and `received_at`, each implemented once and
tuned for millions of rows; the rules modules say what to compute, this module how. Nothing here
knows a keyword, a poll or a subscriber.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Column: TypeAlias = pa.Array | pa.ChunkedArray


def id_order(id_sms: Column) -> Column:
    """`id_sms` as a sort key in integer order, the order of ties (docs/rules.md §3): as text "10" < "9".

    int64 when every id fits, the common case and the fast one. Ids are integers of any size,
    though (the platform issues 22-digit ids elsewhere), so otherwise the key is the digits
    left-padded with zeros to the longest id: as text, that compares by length after leading
    zeros, then digits, which is integer order. Either way equal integers ("007", "7") give
    equal keys. Anything but decimal digits is refused with a `ValueError`.
    """
    try:
        return pc.cast(id_sms, pa.int64())
    except pa.ArrowInvalid:
        pass  # too big for int64, or not digits: told apart below
    if isinstance(id_sms, pa.ChunkedArray):
        id_sms = id_sms.combine_chunks()
    id_sms = id_sms.cast(pa.string())
    digits = pc.match_substring_regex(id_sms, "^[0-9]+$")
    if not pc.all(pc.fill_null(digits, True)).as_py():
        bad = pc.filter(id_sms, pc.invert(pc.fill_null(digits, True)))[0].as_py()
        raise ValueError(f"id_sms must be decimal digits, got {bad!r}")
    width = pc.max(pc.utf8_length(id_sms)).as_py()
    return pc.utf8_lpad(id_sms, width=width, padding="0")


def provider_local_time(received_at: Column, timezone: str) -> Column:
    """Naive provider-local wall time, the clock poll windows are written in."""
    unit = received_at.type.unit
    return pc.local_timestamp(pc.cast(received_at, pa.timestamp(unit, tz=timezone)))


def count_distinct_ids(ids: Column) -> int:
    """Distinct values of an `id_order` column without nulls.

    For int64 keys numpy's sort is several times faster than Arrow's hash-based count and needs
    one copy of the column, where the hash table of 10M values takes a gigabyte. Padded-text
    keys (ids beyond int64) are rare and take Arrow's count.
    """
    if not pa.types.is_integer(ids.type):
        return int(pc.count_distinct(ids).as_py())
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
