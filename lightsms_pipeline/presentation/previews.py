"""How tables show in the Dagster UI: column schemas and small previews."""

from __future__ import annotations

import pyarrow as pa
from dagster import TableColumn, TableSchema


def column_schema(schema: pa.Schema) -> TableSchema:
    """The Arrow schema as Dagster's `TableSchema`: names, Arrow types, and which are never null."""
    return TableSchema(
        columns=[
            TableColumn(name=f.name, type=str(f.type), description=None if f.nullable else "never null")
            for f in schema
        ]
    )


def markdown_preview(table: pa.Table, rows: int) -> str:
    """The first rows as a markdown table; long texts are cut so the UI stays readable."""
    head = table.slice(0, rows).to_pylist()
    names = table.column_names
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in head:
        cells = []
        for name in names:
            value = "" if row[name] is None else str(row[name])
            value = value.replace("|", "\\|").replace("\n", " ")
            cells.append(value if len(value) <= 60 else value[:57] + "…")
        lines.append("| " + " | ".join(cells) + " |")
    if not head:
        lines.append("| " + " | ".join("" for _ in names) + " |")
    return "\n".join(lines)


def results_markdown(table: pa.Table) -> str:
    lines = ["| poll | option | label | votes | share | voters |", "|---|---|---|---:|---:|---:|"]
    for row in table.to_pylist():
        lines.append(
            f"| {row['poll_id']} | {row['option']} | {row['label']} | {row['votes']} "
            f"| {row['share']:.1%} | {row['voters']} |"
        )
    return "\n".join(lines)
