"""`benchmarks/RESULTS.md` after a partial run (`run.py --only ...`): the sections it measured are
replaced, every other section is kept and says which earlier run it came from."""

from __future__ import annotations

from pathlib import Path

from benchmarks.machine import Machine
from benchmarks.results import Table, merge_results

EARLIER = """# Benchmark results

- date: 2026-11-25 02:51 UTC
- machine: 2 cores (AMD EPYC), 24 GiB RAM
- load average when the run started (1, 5, 15 min): 0.41, 0.78, 1.57
- command: `python benchmarks/run.py`

## Backfill: 365 days x ~2,000 messages

| run | s |
|---|---|
| pipeline | 13.09 |

## Worker processes: written by hand, measured apart

kept as it is

## A 1,000,000-message day: fetch, normalize, check and write one day, end to end

| figure | value |
|---|---|
| wall s | 7.14 |
"""


def machine() -> Machine:
    return Machine(
        "2026-12-01 14:00 UTC", 2, "AMD EPYC", 24, "3.11.7", "26.0.1", "1.13.27", "0.50", "run.py --only x"
    )


def test_a_partial_run_replaces_its_sections_and_keeps_and_stamps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text(EARLIER, encoding="utf-8")
    quick_day = Table("A 100,000-message day: fetch, normalize, check and write one day", ["figure", "value"])
    quick_day.add("wall s", "0.71")
    normalize = Table("Normalization throughput: one 50,000-message day", ["case", "msg/s"])
    normalize.add("warm", "226,000")

    merge_results(path, machine(), [quick_day, normalize])

    text = path.read_text(encoding="utf-8")
    assert "- date: 2026-12-01 14:00 UTC" in text and "2026-11-25 02:51 UTC" not in text.split("## ")[0]
    titles = [line for line in text.splitlines() if line.startswith("## ")]
    assert titles == [
        "## Backfill: 365 days x ~2,000 messages",
        "## Worker processes: written by hand, measured apart",
        "## A 100,000-message day: fetch, normalize, check and write one day",
        "## Normalization throughput: one 50,000-message day",
    ]
    assert "7.14" not in text and "| wall s | 0.71 |" in text and "| warm | 226,000 |" in text
    backfill = text.split("## Backfill")[1].split("## ")[0]
    assert "13.09" in backfill
    assert "_Measured in an earlier run:_ 2026-11-25 02:51 UTC, load 0.41, 0.78, 1.57" in backfill
    assert "kept as it is" in text

    merge_results(path, machine(), [normalize])  # a second partial run
    text = path.read_text(encoding="utf-8")
    # Sections keep the stamp of the run that measured them; none is stamped twice.
    backfill = text.split("## Backfill")[1].split("## ")[0]
    assert backfill.count("_Measured in an earlier run:_") == backfill.count("2026-11-25 02:51 UTC") == 1
    day = text.split("## A 100,000-message day")[1].split("## ")[0]
    assert day.count("_Measured in an earlier run:_ 2026-12-01 14:00 UTC, load 0.50") == 1
