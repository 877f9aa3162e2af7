"""The `lightsms-pipeline` command: `demo`, `check`, `simulate` and `dev`."""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import warnings
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from lightsms_pipeline.client import LightSMSClient, RetryPolicy
from lightsms_pipeline.errors import AuthenticationError, LightSMSError, UnavailableError
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.storage import Dataset

DEMO_START = date(2025, 1, 13)
DEMO_END = date(2025, 1, 19)
DEMO_LOGIN = "demo"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lightsms-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the main job on a week of simulated traffic and print a summary")
    p.add_argument("--data-dir", default=None, help="where to write (default: LIGHTSMS_DATA_DIR or data/)")
    p.add_argument("--per-day", type=int, default=500)
    p.add_argument("--start", type=date.fromisoformat, default=DEMO_START)
    p.add_argument("--end", type=date.fromisoformat, default=DEMO_END)

    p = sub.add_parser(
        "check", help="check credentials, server clock and recent volume (real API or simulator)"
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

    p = sub.add_parser("dev", help="start the simulator and the Dagster UI wired to it")
    p.add_argument("--port", type=int, default=3000, help="Dagster UI port")
    p.add_argument("--simulator-port", type=int, default=8765)

    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return run_demo(args.data_dir, args.per_day, args.start, args.end)
        if args.command == "check":
            return run_check(Settings.from_env(), os.environ, args.days)
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
            )
            return 0
        if args.command == "dev":
            return run_dev(args.port, args.simulator_port)
    except LightSMSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 2


def run_check(settings: Settings, environ: os._Environ[str] | dict[str, str], days: int) -> int:
    """Tell a new user whether the account works, with one actionable line per failure."""
    login = environ.get("LIGHTSMS_LOGIN", "")
    api_key = environ.get("LIGHTSMS_API_KEY", "")
    if not login or not api_key:
        print(
            "LIGHTSMS_LOGIN and LIGHTSMS_API_KEY must be set (your LightSMS login and API key); "
            "to try without an account run `lightsms-pipeline simulate` and point LIGHTSMS_BASE_URL at it."
        )
        return 1
    print(f"endpoint: {settings.base_url}  login: {login}")
    retry = RetryPolicy(attempts=2, total_seconds=15, read_timeout=min(settings.timeout_seconds, 15))
    with LightSMSClient(settings.base_url, login, api_key, retry=retry) as client:
        try:
            offset = client.server_time_offset()
        except UnavailableError as exc:
            print(
                f"FAIL cannot reach {settings.base_url}: {exc.problem}. "
                "Check LIGHTSMS_BASE_URL and the network."
            )
            return 1
        except LightSMSError as exc:
            print(f"FAIL {settings.base_url} does not answer like LightSMS: {exc}")
            return 1
        print(f"ok   server clock offset: {offset:+.1f} s")
        today = datetime.now(ZoneInfo(settings.timezone)).date()
        for n in range(days):
            day = today - timedelta(days=n)
            try:
                count = len(client.fetch_day(day))
            except AuthenticationError as exc:
                advice = {
                    7: "the login is wrong (LIGHTSMS_LOGIN)",
                    6: "the API key is wrong (LIGHTSMS_API_KEY)",
                }
                print(f"FAIL credentials refused: {advice.get(exc.code or 0, exc.problem)} [{exc}]")
                return 1
            except LightSMSError as exc:
                print(f"FAIL {day}: {exc}")
                return 1
            print(f"ok   {day}: {count} incoming messages")
    print("credentials work.")
    return 0


def _simulator(per_day: int, start: date | None, api_key: str, port: int = 0):  # type: ignore[no-untyped-def]
    from lightsms_pipeline.simulator.server import SimulatorServer
    from lightsms_pipeline.simulator.traffic import Traffic

    return SimulatorServer(Traffic(seed=42, per_day=per_day), login=DEMO_LOGIN, api_key=api_key, port=port)


def run_demo(data_dir: str | None, per_day: int, start: date, end: date) -> int:
    """The main job end to end on the embedded simulator: a fixed week, so the output is the same
    every time; writes to `data/` and records the runs in `.dagster_home/` for `make dev`."""
    from dagster import DagsterInstance

    warnings.filterwarnings("ignore", module="dagster")  # beta/preview notices, not the user's concern

    from lightsms_pipeline.definitions import MAIN_JOB, build_definitions
    from lightsms_pipeline.presentation.summary import print_summary
    from lightsms_pipeline.schedules import range_run_request

    os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve()))
    ensure_instance_config(Path(os.environ["DAGSTER_HOME"]))
    api_key = secrets.token_hex(16)  # a throw-away key: the simulator is the account
    with _simulator(per_day, None, api_key).start() as sim:
        os.environ.update(
            {
                "LIGHTSMS_BASE_URL": sim.base_url,
                "LIGHTSMS_LOGIN": DEMO_LOGIN,
                "LIGHTSMS_API_KEY": api_key,
            }
        )
        if data_dir:
            os.environ["LIGHTSMS_DATA_DIR"] = data_dir
        settings = Settings.from_env()
        defs = build_definitions(settings)
        job = defs.resolve_job_def(MAIN_JOB)
        print(f"simulator at {sim.base_url}; materializing {start}..{end} into {settings.data_dir}/")
        request = range_run_request(start, end, run_key="demo")
        with DagsterInstance.get() as instance:
            result = job.execute_in_process(
                instance=instance,
                tags=request.tags,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                raise_on_error=False,
            )
        if not result.success:
            print("the demo run failed; see the events above", file=sys.stderr)
            return 1
    print_summary(Dataset(settings.data_dir), start, end)
    return 0


INSTANCE_CONFIG = """\
# Written by lightsms-pipeline when missing. One step at a time in the `lightsms_api` pool, so
# that several runs (a backfill and the intraday schedule) never multiply the load on LightSMS.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def ensure_instance_config(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_CONFIG)


def run_dev(ui_port: int, simulator_port: int) -> int:
    """`dagster dev` on workspace.yaml with the simulator as the account, until Ctrl-C."""
    api_key = secrets.token_hex(16)
    with _simulator(500, None, api_key, port=simulator_port).start() as sim:
        env = {
            **os.environ,
            "LIGHTSMS_BASE_URL": sim.base_url,
            "LIGHTSMS_LOGIN": DEMO_LOGIN,
            "LIGHTSMS_API_KEY": api_key,
        }
        env.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve()))
        ensure_instance_config(Path(env["DAGSTER_HOME"]))
        print(f"simulator at {sim.base_url}; Dagster UI at http://127.0.0.1:{ui_port}")
        cmd = [
            str(Path(sys.executable).with_name("dagster")),
            "dev",
            "-w",
            "workspace.yaml",
            "-p",
            str(ui_port),
        ]
        try:
            return subprocess.call(cmd, env=env)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
