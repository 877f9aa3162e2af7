"""How tables show in the Dagster UI: column schemas, and small previews as native tables.

`MetadataValue.table` rather than hand-built markdown: the UI renders it as a table with typed
columns, and tests read the records back instead of parsing markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import pyarrow as pa
from dagster import MetadataValue, TableColumn, TableMetadataValue, TableRecord, TableSchema

CELL_CHARS = 60  # longer texts are cut so a preview stays readable


def column_schema(schema: pa.Schema) -> TableSchema:
    """The Arrow schema as Dagster's `TableSchema`: names, Arrow types, and which are never null."""
    return TableSchema(
        columns=[
            TableColumn(name=f.name, type=str(f.type), description=None if f.nullable else "never null")
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
