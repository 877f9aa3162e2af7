"""Downstream scaling: `opt_out_list` and `poll_results` over 1M and 10M messages of history.

The history is generated straight into `classified_messages` daily partitions
(`benchmarks/history.py`); each computation then runs the way its asset does, through
`lightsms_pipeline.datasets` (column-pruned, filtered reads of every partition, then the rules
engine), in a fresh process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.child import report, run_module
from benchmarks.results import Table, median, spread, verdict

COMPUTATIONS = ("opt_out_list", "poll_results")
DAYS = 365
TARGET_SECONDS = 30.0
TARGET_PEAK_MB = 1536.0
TARGET_GROWTH = 1.2  # cost may grow by at most 1.2x the history's growth (12 for 10x)


@dataclass(frozen=True)
class Sizes:
    small: int
    large: int
    repeats: int


FULL = Sizes(small=1_000_000, large=10_000_000, repeats=3)
QUICK = Sizes(small=100_000, large=300_000, repeats=2)


def measure(computation: str, data_dir: str, rules_file: str, profile: bool = False) -> dict[str, Any]:
    """Runs inside the child: one computation over the stored history (under pyinstrument if
    `profile`, whose text then comes back instead of trustworthy timings)."""
    from lightsms_pipeline.datasets.polls import compute_poll_results
    from lightsms_pipeline.datasets.subscriptions import compute_opt_out_list
    from lightsms_pipeline.rules.loading import load_rules
    from lightsms_pipeline.storage.parquet import Dataset

    rules = load_rules(rules_file)
    dataset = Dataset(data_dir)
    compute = {"opt_out_list": compute_opt_out_list, "poll_results": compute_poll_results}
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
        compute[computation](dataset, rules)
        profiler.stop()
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        return {"profile": "\n".join(line for line in text.splitlines()[:45] if line.strip())}
    before = memory_mb("VmRSS")
    started = time.perf_counter()
    table = compute[computation](dataset, rules)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": table.num_rows, "peak_mb": memory_mb("VmHWM"), "baseline_mb": before}


def memory_mb(field: str) -> float:
    """This process's resident memory now (`VmRSS`) or at its peak (`VmHWM`), from /proc.

    Not `ru_maxrss`: across fork and exec Linux carries the parent's high-water mark into the
    child's, so a child of a big benchmark process would report the parent's peak.
    """
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def run(quick: bool, log: Any = print) -> Table:
    from benchmarks.history import RULES_YAML, write_history

    sizes = QUICK if quick else FULL
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    generated: dict[int, Any] = {}
    profiles: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-downstream-") as tmp:
        rules_file = Path(tmp) / "rules.yaml"
        rules_file.write_text(RULES_YAML, encoding="utf-8")
        for size in (sizes.small, sizes.large):
            data_dir = Path(tmp) / f"history-{size}"
            log(f"downstream: generating {size:,} messages over {DAYS} days")
            started = time.perf_counter()
            generated[size] = (write_history(data_dir, size, DAYS), time.perf_counter() - started)
            for computation in COMPUTATIONS:
                for n in range(sizes.repeats):
                    log(f"downstream: {computation} over {size:,}, run {n + 1}/{sizes.repeats}")
                    args = ["--child", computation, str(data_dir), str(rules_file)]
                    results.setdefault((computation, size), []).append(run_module("downstream", args))
                if size == sizes.large:
                    log(f"downstream: {computation} over {size:,} under pyinstrument")
                    profiles[computation] = run_module("downstream", [*args, "--profile"])["profile"]
            shutil.rmtree(data_dir)
    table = _table(sizes, results, generated)
    for computation, text in profiles.items():
        table.details[f"pyinstrument: `{computation}` over {sizes.large:,} messages"] = text
    return table


def _table(
    sizes: Sizes, results: dict[tuple[str, int], list[dict[str, Any]]], generated: dict[int, Any]
) -> Table:
    growth = sizes.large / sizes.small
    max_ratio = TARGET_GROWTH * growth
    table = Table(
        f"Downstream scaling: whole-history assets over {sizes.small:,} and {sizes.large:,} messages "
        f"({DAYS} days)",
        [
            "asset",
            "messages",
            "wall s: median (min–max, n)",
            "peak RSS MB (after imports)",
            "rows out",
            f"target: < {TARGET_SECONDS:g} s, < {TARGET_PEAK_MB:g} MB",
        ],
    )
    for computation in COMPUTATIONS:
        for size in (sizes.small, sizes.large):
            runs = results[(computation, size)]
            peak = max(r["peak_mb"] for r in runs)
            seconds = [r["seconds"] for r in runs]
            ok = median(seconds) < TARGET_SECONDS and peak < TARGET_PEAK_MB
            table.add(
                f"`{computation}`",
                f"{size:,}",
                spread(seconds),
                f"{peak:,.0f} ({median([r['baseline_mb'] for r in runs]):,.0f})",
                runs[-1]["rows"],
                verdict(ok) if size == sizes.large else "(reported)",
            )
        small = median([r["seconds"] for r in results[(computation, sizes.small)]])
        large = median([r["seconds"] for r in results[(computation, sizes.large)]])
        ratio = large / small
        table.add(
            f"`{computation}` cost ratio",
            f"{sizes.large // sizes.small}x",
            f"{ratio:.2f}",
            "",
            "",
            f"<= {max_ratio:g}: {verdict(ratio <= max_ratio)}",
        )
    for size, (stats, seconds) in generated.items():
        table.notes.append(
            f"{size:,}-message history: {stats.subscribers:,} distinct senders, {stats.events:,} "
            f"opt-out/opt-in events, {stats.votes:,} poll votes in two poll windows; generated and written "
            f"in {seconds:.0f} s."
        )
    table.notes += [
        "Each figure is one fresh process running `datasets.subscriptions.compute_opt_out_list` or "
        "`datasets.polls.compute_poll_results` (read the needed columns of every partition with the asset's "
        "Parquet filter, then the rules engine); wall time of that call, peak RSS of the whole process "
        "(`VmHWM`), the RSS after imports in brackets. Arrow uses both cores.",
    ]
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=3, metavar=("COMPUTATION", "DATA_DIR", "RULES_FILE"))
    parser.add_argument("--profile", action="store_true", help="with --child: profile instead of timing")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.child:
        computation, data_dir, rules_file = args.child
        report(measure(computation, data_dir, rules_file, profile=args.profile))
    else:
        print(run(args.quick).markdown())


if __name__ == "__main__":
    main()
