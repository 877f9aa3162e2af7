"""The `lightsms-pipeline` command: `demo`, `check`, `simulate` and `dev`."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from lightsms_pipeline.api.client import LightSMSClient, RetryPolicy
from lightsms_pipeline.errors import AuthenticationError, LightSMSError, UnavailableError
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.storage.parquet import Dataset

DEMO_START = date(2025, 1, 13)
DEMO_END = date(2025, 1, 19)
DEMO_LOGIN = "demo"


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

    p = sub.add_parser("dev", help="start the simulator and the Dagster UI wired to it")
    p.add_argument("--port", type=int, default=3000, help="Dagster UI port")
    p.add_argument("--simulator-port", type=int, default=8765)

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
            )
            return 0
        if args.command == "dev":
            return run_dev(args.port, args.simulator_port)
    except LightSMSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 2


def run_check(settings: Settings, environ: os._Environ[str] | dict[str, str], days: int) -> int:
    """Tell a new user whether the account works, with one actionable line per failure; with
    `LIGHTSMS_ACCOUNTS_FILE`, every account, one line each, naming the failing ones."""
    if settings.accounts_file:
        return run_accounts_check(settings, environ, days)
    login = environ.get("LIGHTSMS_LOGIN", "")
    api_key = environ.get("LIGHTSMS_API_KEY", "")
    if not login or not api_key:
        print(
            "LIGHTSMS_LOGIN and LIGHTSMS_API_KEY must be set (your LightSMS login and API key); "
            "to try without an account run `lightsms-pipeline simulate` and point LIGHTSMS_BASE_URL at it."
        )
        return 1
    print(f"endpoint: {settings.base_url}  login: {login}")
    ok = check_credentials(settings, login, api_key, days, print)
    if ok:
        print("credentials work.")
    return 0 if ok else 1


def check_credentials(
    settings: Settings,
    login: str,
    api_key: str,
    days: int,
    say: Callable[[str], None],
    *,
    login_source: str = "LIGHTSMS_LOGIN",
    key_source: str = "LIGHTSMS_API_KEY",
) -> bool:
    """Server clock, then the last `days` days' counts, each said in one line (`ok   …` or
    `FAIL …`); `login_source`/`key_source` name where a wrong login or key is fixed."""
    retry = RetryPolicy(attempts=2, total_seconds=15, read_timeout=min(settings.timeout_seconds, 15))
    names = (login_source, key_source)
    with LightSMSClient(settings.base_url, login, api_key, retry=retry, credential_names=names) as client:
        try:
            offset = client.server_time_offset()
        except UnavailableError as exc:
            say(
                f"FAIL cannot reach {settings.base_url}: {exc.problem}. "
                "Check LIGHTSMS_BASE_URL and the network."
            )
            return False
        except LightSMSError as exc:
            say(f"FAIL {settings.base_url} does not answer like LightSMS: {exc}")
            return False
        say(f"ok   server clock offset: {offset:+.1f} s")
        today = datetime.now(ZoneInfo(settings.timezone)).date()
        for n in range(days):
            day = today - timedelta(days=n)
            try:
                count = len(client.fetch_day(day))
            except AuthenticationError as exc:
                advice = {
                    7: f"the login is wrong ({login_source})",
                    6: f"the API key is wrong ({key_source})",
                }
                say(f"FAIL credentials refused: {advice.get(exc.code or 0, exc.problem)} [{exc}]")
                return False
            except LightSMSError as exc:
                say(f"FAIL {day}: {exc}")
                return False
            say(f"ok   {day}: {count} incoming messages")
    return True


def run_accounts_check(settings: Settings, environ: os._Environ[str] | dict[str, str], days: int) -> int:
    """One line per account of the accounts file: `ok   account acme …` or `FAIL account beta: …`
    (an unset key variable, a refused login or key, an unreachable server), never a key."""
    from lightsms_pipeline.accounts import AccountsFileError, load_accounts

    try:
        accounts = load_accounts(settings.accounts_file, settings)
    except AccountsFileError as exc:
        print(f"FAIL {exc}")
        return 1
    print(f"endpoint: {settings.base_url}  accounts: {len(accounts)} ({settings.accounts_file})")
    failed = []
    for account in accounts:
        who = f"account {account.name} (login {account.login})"
        api_key = environ.get(account.api_key_env, "")
        if not api_key:
            print(
                f"FAIL {who}: {account.api_key_env} is not set; export it with the account's API key "
                f"(api_key_env in {settings.accounts_file})"
            )
            failed.append(account.name)
            continue
        lines: list[str] = []
        source = f"login in {settings.accounts_file}"
        if check_credentials(
            account.settings, account.login, api_key, days, lines.append,
            login_source=source, key_source=account.api_key_env,
        ):  # fmt: skip
            counts = "; ".join(line.removeprefix("ok   ") for line in lines)
            print(f"ok   {who}: {counts}")
        else:
            print(f"FAIL {who}: {lines[-1].removeprefix('FAIL ')}")
            failed.append(account.name)
    if failed:
        print(f"{len(failed)} of {len(accounts)} accounts failed: {', '.join(failed)}")
        return 1
    print(f"all {len(accounts)} accounts work.")
    return 0


def run_instance_check(environ: os._Environ[str] | dict[str, str]) -> int:
    """The Dagster instance of $DAGSTER_HOME opens (lightsms_pipeline/cli/instance_check.py)."""
    from lightsms_pipeline.cli.instance_check import check_instance

    result = check_instance(environ)
    for line in result.lines:
        print(line)
    return 1 if result.failed else 0


def _simulator(per_day: int, start: date | None, api_key: str, port: int = 0):  # type: ignore[no-untyped-def]
    from lightsms_pipeline.simulator.server import SimulatorServer
    from lightsms_pipeline.simulator.traffic import Traffic

    return SimulatorServer(Traffic(seed=42, per_day=per_day), login=DEMO_LOGIN, api_key=api_key, port=port)


def run_demo(data_dir: str | None, per_day: int, start: date, end: date) -> int:
    """The main job end to end on the embedded simulator: a fixed week, so the output is the same
    every time; writes to `data/` and records the runs in `.dagster_home/` for `make dev`."""
    from dagster import DagsterInstance

    warnings.filterwarnings("ignore", module="dagster")  # beta/preview notices, not the user's concern

    from lightsms_pipeline.assets.schedules import range_run_request
    from lightsms_pipeline.definitions import MAIN_JOB, build_definitions
    from lightsms_pipeline.presentation.summary import print_summary
    from lightsms_pipeline.resources import LightSMSResource

    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").resolve()
    ensure_instance_config(home)
    settings = Settings.from_env()
    api_key = secrets.token_hex(16)  # a throw-away key: the simulator is the account
    with _simulator(per_day, None, api_key).start() as sim:
        # A dry run of the stop list: the demo shows what would be pushed, and pushes nothing.
        # The simulator's one login is the account: an accounts file (several logins) is not used.
        settings = settings.replace(
            base_url=sim.base_url,
            stop_list_sync="dry-run",
            accounts_file="",
            **({"data_dir": data_dir} if data_dir else {}),
        )
        account = LightSMSResource.from_settings(settings, login=DEMO_LOGIN, api_key=api_key)
        job = build_definitions(settings, resources={"lightsms": account}).resolve_job_def(MAIN_JOB)
        print(f"simulator at {sim.base_url}; materializing {start}..{end} into {settings.data_dir}/")
        request = range_run_request(start, end, run_key="demo")
        with DagsterInstance.from_config(str(home)) as instance:
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


# The local instance (docs/performance.md): SQLite in DAGSTER_HOME, one LightSMS run at a time,
# a backfill's bookkeeping written in batches. The file is the repository's, so `make dev`,
# `make demo`, the README's real-account path and the benchmark all use the same one.
LOCAL_INSTANCE_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "dagster.local.yaml"


def ensure_instance_config(home: Path) -> None:
    """Copy the local instance configuration into a DAGSTER_HOME that has none; a home that has
    one (the user's own) is left as it is."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_bytes(LOCAL_INSTANCE_CONFIG.read_bytes())


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
        env["LIGHTSMS_ACCOUNTS_FILE"] = ""  # the simulator's one login, as in demo (empty: unset)
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
        return run_until_stopped(cmd, env)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# `dagster dev` stops its webserver, daemon and code server one after the other; on a loaded
# two-core machine that took 17-21 s (measured), so the limit leaves room before killing.
DEV_STOP_TIMEOUT_SECONDS = 45.0
_PROC = Path("/proc")
# Once `dagster dev` itself has exited, what is left of its group is signalled again this often:
# a process it started after the first signal (a restarted code server) never got one.
ORPHAN_RESEND_SECONDS = 1.0


def run_until_stopped(
    cmd: Sequence[str], env: dict[str, str], timeout: float = DEV_STOP_TIMEOUT_SECONDS
) -> int:
    """Run `cmd` in a process group of its own until it exits, or until this process gets SIGINT,
    SIGTERM or SIGHUP; then pass the signal on to the whole group (SIGINT stays SIGINT, the others
    become SIGTERM, which `dagster dev` treats as Ctrl-C), give it `timeout` seconds, and SIGKILL
    whatever is left. Once `dagster dev` has exited, the rest of its group gets SIGTERM again
    every `ORPHAN_RESEND_SECONDS`. A second signal kills at once.

    Without this, SIGTERM (a supervisor, `kill PID`) killed only this process and orphaned
    `dagster dev` with its webserver, daemon and code server; and started from a script (SIGINT
    ignored, inherited by `dagster dev`, which maps SIGTERM to its SIGINT handler) nothing could
    stop them. Our own handlers are reset to the default by exec, so the child starts with
    working SIGINT and SIGTERM. A stop on request returns 0; otherwise the child's exit code.
    """
    received: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, remember) for sig in STOP_SIGNALS}
    try:
        process = subprocess.Popen(cmd, env=env, start_new_session=True)
        group = process.pid
        while not received:
            try:
                return process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(group, signal.SIGINT if received[0] == signal.SIGINT else signal.SIGTERM)
        deadline = time.monotonic() + timeout
        resend_at = 0.0
        while _group_alive(group, process) and time.monotonic() < deadline and len(received) == 1:
            if process.returncode is not None and time.monotonic() >= resend_at:
                # `dagster dev` is gone but not all of its group: Dagster 1.13's code server
                # manager can restart the code server during shutdown (seen in CI), and the new
                # one, which never got the signal, would wait out its 45 s heartbeat.
                _signal_group(group, signal.SIGTERM)
                resend_at = time.monotonic() + ORPHAN_RESEND_SECONDS
            time.sleep(0.1)
        if _group_alive(group, process):
            why = "a second signal" if len(received) > 1 else f"still running after {timeout:.0f} s"
            left = "; ".join(_running_commands(group))
            print(
                f"dagster dev {why}; killing it{f' (still running: {left})' if left else ''}", file=sys.stderr
            )
            _signal_group(group, signal.SIGKILL)
        process.wait()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _signal_group(group: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def _group_alive(group: int, leader: subprocess.Popen[bytes]) -> bool:
    """Whether any process of the group still runs: the leader (reaped here, so that its zombie
    does not count) or any process it started.

    Zombies do not count either: a grandchild that exits after its parent is reparented to PID 1,
    and where PID 1 is slow to reap (a container's init), `killpg(group, 0)` kept succeeding on
    it, so a `dagster dev` that had stopped in 4 s was waited on for the whole timeout and
    reported as killed (seen in CI). /proc tells a zombie apart; without /proc, killpg decides.
    """
    leader.poll()
    if _PROC.is_dir():
        return any(True for _ in _running_entries(group))
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _running_entries(group: int) -> Iterator[Path]:
    """The /proc entries of the group's live (not zombie) processes; none without /proc."""
    if _PROC.is_dir():
        yield from (e for e in _PROC.iterdir() if e.name.isdigit() and _running_in_group(e, group))


def _running_commands(group: int) -> list[str]:
    """`pid command` of each live process of the group, for the message before SIGKILL: which
    part of `dagster dev` did not stop is what tells a slow shutdown from a hung one."""
    found = []
    for entry in _running_entries(group):
        with contextlib.suppress(OSError):
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name} {command.strip()[:200]}")
    return found


def _running_in_group(entry: Path, group: int) -> bool:
    """Whether /proc/<pid> is a live (not zombie) process of process group `group`."""
    try:
        stat = (entry / "stat").read_text()
    except OSError:  # gone meanwhile
        return False
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after it.
    fields = stat[stat.rfind(")") + 2 :].split()
    return len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == group


if __name__ == "__main__":
    sys.exit(main())
