"""`lightsms-pipeline dev`: `dagster dev` wired to the simulator, and stopping its whole process
group however the command is stopped."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

from lightsms_pipeline.cli.demo import DEMO_LOGIN, ensure_instance_config, simulator
from lightsms_pipeline.errors import MissingExtraError


def run_dev(ui_port: int, simulator_port: int, live_per_minute: float = 2.0) -> int:
    """`dagster dev` on this package's definitions with the simulator as the account, until
    Ctrl-C. The module, not the repository's workspace.yaml (which names the same module), so
    that an installed package runs it from any folder.

    The simulator receives `live_per_minute` messages a minute meanwhile, so the live sensor
    (docs/rules.md §10) has arrivals to act on in the UI."""
    if importlib.util.find_spec("dagster_webserver") is None:
        raise MissingExtraError("webserver", "`lightsms-pipeline dev` (the Dagster UI)")
    from lightsms_pipeline.simulator.cli import live_arrivals

    api_key = secrets.token_hex(16)
    with simulator(500, None, api_key, port=simulator_port).start() as sim:
        live = live_arrivals(sim, live_per_minute, seed=42)
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
        if live is not None:
            print(f"{live_per_minute:g} messages a minute arrive live; the sensor lightsms_live acts on them")
        cmd = [
            str(Path(sys.executable).with_name("dagster")),
            "dev",
            "-m",
            "lightsms_pipeline.definitions",
            "-p",
            str(ui_port),
        ]
        try:
            return run_until_stopped(cmd, env)
        finally:
            if live is not None:
                live.stop()


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
