"""Benchmark results as markdown tables, printed and collected into `benchmarks/RESULTS.md`."""

from __future__ import annotations

import itertools
import re
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


def merge_results(path: Path, machine: Machine, tables: Sequence[Table], preface: str = "") -> None:
    """Write `tables` into the results file in place of the sections they measure again, and
    keep every other section as it was (a partial run, `--only`, must not erase the figures of
    the benchmarks it did not run). Each kept section is stamped with the run it came from, so
    the file says which figures are from when; the header describes the latest run."""
    if not path.exists():
        write_results(path, machine, tables, preface)
        return
    header, sections = _split_sections(path.read_text(encoding="utf-8"))
    earlier = _run_stamp(header)
    fresh = {_benchmark_of(t.title): t.markdown().rstrip() + "\n" for t in tables}
    kept: list[str] = []
    for section in sections:
        name = _benchmark_of(section.splitlines()[0].removeprefix("## "))
        if name in fresh:
            kept.append(fresh.pop(name))
            continue
        if earlier and _STAMP not in section:
            first, _, rest = section.partition("\n")
            section = f"{first}\n\n{_STAMP} {earlier}\n{rest}"
        kept.append(section.rstrip() + "\n")
    kept += fresh.values()
    parts = ["# Benchmark results", "", machine.markdown(), ""]
    if preface:
        parts += [preface, ""]
    path.write_text("\n".join(parts) + "\n" + "\n".join(kept), encoding="utf-8")


_STAMP = "_Measured in an earlier run:_"


def _split_sections(text: str) -> tuple[str, list[str]]:
    """The text before the first `## ` heading, and each `## ` section whole."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("## ")]
    if not starts:
        return text, []
    bounds = [*starts, len(lines)]
    return "".join(lines[: starts[0]]), ["".join(lines[a:b]) for a, b in itertools.pairwise(bounds)]


def _run_stamp(header: str) -> str:
    """`<date>, load <...>, `<command>`` of the run a header describes."""
    fields = {}
    for line in header.splitlines():
        key, sep, value = line.removeprefix("- ").partition(": ")
        if sep:
            fields[key] = value
    when = fields.get("date", "")
    load = fields.get("load average when the run started (1, 5, 15 min)", "")
    command = fields.get("command", "")
    return ", ".join(x for x in (when, f"load {load}" if load else "", command) if x)


def _benchmark_of(title: str) -> str:
    """Which benchmark a section's title names: its words before any colon or bracket, sizes
    left out ("A 1,000,000-message day" and "A 100,000-message day" are one benchmark)."""
    return re.sub(r"[\d,]+", "N", title.split(":")[0].split(" (")[0]).strip()
