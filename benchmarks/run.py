"""`make bench`: run the benchmarks, print a table each, and write them all to benchmarks/RESULTS.md.

    python benchmarks/run.py                    # full sizes, several minutes
    python benchmarks/run.py --quick            # small sizes, a smoke run
    python benchmarks/run.py --only backfill    # or normalize, million_day, downstream, history, live:
                                                # replaces those sections, keeps the others
    python benchmarks/run.py --only live --live-minutes 2
                                                # the daemon over 2 min of live arrivals (default 10)
    python benchmarks/run.py --baseline-days 60 # measure the sequential baseline on 60 days, extrapolate
    python benchmarks/run.py --only backfill --against main~3
                                                # also the pipeline of an older revision, old and new
                                                # interleaved, new/old per instance (local, PostgreSQL)
    make bench BENCH_ARGS="--against REV"       # the same through make

`--against REV` (any git revision) builds REV's tree and a virtualenv with REV's package once, in
.bench-cache/<commit>/ (gitignored; pip installs from the package index as `make` does), and runs
the year backfill's `dagster asset materialize` with REV's package and REV's deploy/ files beside
this working tree's, alternating old and new in every repeat. Off unless asked for.

Every figure is a median of repeats, measured in fresh processes on this machine; ratios are
against baselines measured in the same run. Nothing is written outside a temporary directory
but the results file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import backfill, downstream, history, live, million_day, normalize_throughput
from benchmarks.machine import describe, load_average
from benchmarks.results import Table, merge_results, write_results

RESULTS = Path(__file__).resolve().with_name("RESULTS.md")
BENCHMARKS = ("backfill", "normalize", "million_day", "downstream", "history", "live")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument(
        "--only", choices=BENCHMARKS, action="append", help="run only this benchmark (repeatable)"
    )
    parser.add_argument(
        "--baseline-days",
        type=int,
        default=None,
        help="measure the sequential baseline on this many days and extrapolate to the full range",
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        default=None,
        help="backfill: also run the pipeline of this git revision, interleaved with this tree's",
    )
    live.add_arguments(parser)
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help=f"results file (default: {RESULTS.name})"
    )
    args = parser.parse_args(argv)
    machine = describe(sys.argv if argv is None else ["benchmarks/run.py", *argv])
    started = time.perf_counter()
    tables: list[Table] = []
    failed: list[str] = []
    for name in args.only or BENCHMARKS:
        log(f"{name}: starting")
        if name == "backfill":
            table = backfill.run(args.quick, args.baseline_days, log=log, against=args.against)
        elif name == "normalize":
            table = normalize_throughput.run(args.quick)
        elif name == "million_day":
            table = million_day.run(args.quick)
        elif name == "downstream":
            table = downstream.run(args.quick, log=log)
        elif name == "history":
            table = history.run(args.quick, log=log)
        else:  # the latency targets decide the exit status: a daemon that lags is a regression
            table, ok = live.run(
                args.live_minutes, args.live_per_minute, args.live_interval, args.live_quiet_minutes, log=log
            )
            if not ok:
                failed.append(name)
        print(table.markdown() + "\n", flush=True)
        tables.append(table)
    minutes = (time.perf_counter() - started) / 60
    preface = (
        f"{'Smoke run (`--quick`): small sizes, the targets are for the full run. ' if args.quick else ''}"
        f"The whole run took {minutes:.1f} min; load average at the end: {load_average()}."
    )
    if args.only:  # the other benchmarks' sections stay as they were
        merge_results(args.output, machine, tables, preface)
    else:
        write_results(args.output, machine, tables, preface)
    log(f"wrote {args.output} ({minutes:.1f} min)")
    if failed:
        log(f"FAIL: {', '.join(failed)} missed its target")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
