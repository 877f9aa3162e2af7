"""CSV for CRM and ticketing imports, safe against CSV/formula injection (OWASP).

A spreadsheet runs a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula, and SMS text and alphanumeric senders are attacker-controlled. Such cells get a leading
single quote. Values of the E.164 columns that are valid E.164 (`+37061234567`) stay as they
are, so phone numbers import unchanged; anything else there (a raw sender) is treated as text.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

_FORMULA_START = r"^[=+\-@\t\r]"
_E164 = r"^\+[1-9][0-9]{6,14}$"


def _defused(column: pa.ChunkedArray, *, e164: bool) -> pa.ChunkedArray:
    text = pc.cast(column, pa.string())
    risky = pc.fill_null(pc.match_substring_regex(text, _FORMULA_START), False)
    if e164:
        phone_number = pc.fill_null(pc.match_substring_regex(text, _E164), False)
        risky = pc.and_(risky, pc.invert(phone_number))
    quoted = pc.binary_join_element_wise(pa.scalar("'"), text, pa.scalar(""))
    return pc.if_else(risky, quoted, text)


def _iso8601(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """`2025-01-13T12:00:00+02:00`: the offset of the column's zone, seconds unless finer."""
    whole_seconds = pc.cast(column, pa.timestamp("s", tz=column.type.tz), safe=False)
    if pc.all(pc.equal(pc.cast(whole_seconds, column.type), column)).as_py() is not False:
        column = whole_seconds
    if column.type.tz is None:
        return pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
    text = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S%z")
    return pc.replace_substring_regex(text, r"([+-][0-9]{2})([0-9]{2})$", r"\1:\2")


def csv_safe_table(table: pa.Table, *, e164_columns: tuple[str, ...]) -> pa.Table:
    """The table as CSV will show it: string cells defused, timestamps as ISO 8601 text."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_timestamp(kind):
            columns.append(_iso8601(column))
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            columns.append(_defused(column, e164=field.name in e164_columns))
        else:
            columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def write_csv_safe(
    table: pa.Table,
    sink: str | os.PathLike[str] | BinaryIO,
    *,
    e164_columns: tuple[str, ...] = ("subscriber", "sender_e164"),
) -> None:
    """Write `table` as UTF-8 CSV with a header, RFC 4180 quoting and CRLF line ends."""
    options = pa_csv.WriteOptions(include_header=True, eol="\r\n")
    target = os.fspath(sink) if isinstance(sink, str | os.PathLike) else sink
    pa_csv.write_csv(csv_safe_table(table, e164_columns=e164_columns), target, options)
