"""The `lightsms-pipeline` command: `demo`, `check`, `simulate`, `dev` and `docs`."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Sequence
from datetime import date

from lightsms_pipeline.cli.check import run_check, run_instance_check
from lightsms_pipeline.cli.demo import DEMO_END, DEMO_LOGIN, DEMO_START, run_demo
from lightsms_pipeline.cli.dev import run_dev
from lightsms_pipeline.cli.docs import run_docs
from lightsms_pipeline.errors import LightSMSError
from lightsms_pipeline.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    already_running = set(threading.enumerate())
    code = _main(argv)
    left = threads_left_running(already_running)
    if left:
        # A thread of ours alive while the interpreter shuts down runs into a frozen, half-torn
        # runtime (it is how a daemon thread aborts a process at exit): every command stops what
        # it started before it returns, and this says so loudly if one did not.
        print(f"error: threads still running at exit: {', '.join(left)}", file=sys.stderr)
        return code or 1
    return code


THREAD_EXIT_GRACE_SECONDS = 2.0


def threads_left_running(already_running: set[threading.Thread]) -> list[str]:
    """Threads of ours (all named `lightsms…`) started since `already_running` that are still alive
    after a short wait (a connection thread ends a moment after its client hung up)."""
    ours = [t for t in threading.enumerate() if t.name.startswith("lightsms") and t not in already_running]
    deadline = time.monotonic() + THREAD_EXIT_GRACE_SECONDS
    for thread in ours:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return sorted(t.name for t in ours if t.is_alive())


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="lightsms-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the main job on a week of simulated traffic and print a summary")
    p.add_argument("--data-dir", default=None, help="where to write (default: LIGHTSMS_DATA_DIR or data/)")
    p.add_argument("--per-day", type=int, default=500)
    p.add_argument("--start", type=date.fromisoformat, default=DEMO_START)
    p.add_argument("--end", type=date.fromisoformat, default=DEMO_END)

    p = sub.add_parser(
        "check",
        help="check credentials, server clock and recent volume (real API or simulator), then the "
        "Dagster instance of $DAGSTER_HOME (DAGSTER_PG_URL)",
    )
    p.add_argument("--days", type=int, default=3, help="how many recent days to count")

    p = sub.add_parser("simulate", help="serve a local LightSMS simulator until Ctrl-C")
    p.add_argument("--days", type=int, default=30, help="days of history before today (0: unbounded)")
    p.add_argument("--per-day", type=int, default=500)
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--faults", default=None, help="e.g. http_500=0.1,reset=0.05,latency_ms=100")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--login", default=DEMO_LOGIN)
    p.add_argument("--api-key", default="demo-key")
    p.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="LOGIN:API_KEY",
        help="serve another account too (its own key, traffic and stop list); repeatable",
    )
    p.add_argument(
        "--live-per-minute", type=float, default=0.0, help="messages arriving now, a minute (0: none)"
    )

    p = sub.add_parser("dev", help="start the simulator and the Dagster UI wired to it")
    p.add_argument("--port", type=int, default=3000, help="Dagster UI port")
    p.add_argument("--simulator-port", type=int, default=8765)
    p.add_argument(
        "--live-per-minute",
        type=float,
        default=2.0,
        help="messages the simulator receives a minute while it runs, 10%% STOP and 5%% HELP (0: none)",
    )

    p = sub.add_parser("docs", help="list the documents the messages cite, or print one (e.g. `docs rules`)")
    p.add_argument("name", nargs="?", default=None, help="a document, e.g. rules or rules.md")

    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return run_demo(args.data_dir, args.per_day, args.start, args.end)
        if args.command == "check":
            account = run_check(Settings.from_env(), os.environ, args.days)
            instance = run_instance_check(os.environ)
            return account or instance
        if args.command == "simulate":
            from lightsms_pipeline.simulator.cli import run_simulator_cli

            run_simulator_cli(
                days=args.days,
                per_day=args.per_day,
                port=args.port,
                faults=args.faults,
                seed=args.seed,
                login=args.login,
                api_key=args.api_key,
                accounts=args.account,
                live_per_minute=args.live_per_minute,
            )
            return 0
        if args.command == "dev":
            return run_dev(args.port, args.simulator_port, args.live_per_minute)
        if args.command == "docs":
            return run_docs(args.name)
    except LightSMSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
