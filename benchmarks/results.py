"""Benchmark results as markdown tables, printed and collected into `benchmarks/RESULTS.md`."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.machine import Machine


@dataclass
class Table:
    """One benchmark's table: rows of already formatted cells, and notes printed under it."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)  # summary -> preformatted text, folded

    def add(self, *cells: object) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([str(c) for c in cells])

    def markdown(self) -> str:
        lines = [
            f"## {self.title}",
            "",
            "| " + " | ".join(self.columns) + " |",
            "|" + "|".join("---" for _ in self.columns) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        for summary, text in self.details.items():
            lines += [
                "",
                f"<details><summary>{summary}</summary>",
                "",
                "```",
                text.rstrip(),
                "```",
                "</details>",
            ]
        return "\n".join(lines)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float], digits: int = 2) -> str:
    """`median (min–max, n=N)`: every figure is a median of repeats on a shared machine."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f} (n=1)"
    return f"{median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f}, n={len(values)})"


def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def write_results(path: Path, machine: Machine, tables: Sequence[Table], preface: str = "") -> None:
    parts = ["# Benchmark results", "", machine.markdown(), ""]
    if preface:
        parts += [preface, ""]
    parts += [t.markdown() + "\n" for t in tables]
    path.write_text("\n".join(parts), encoding="utf-8")
