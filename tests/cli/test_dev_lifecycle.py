"""`lightsms-pipeline dev` started without a terminal stops, with everything it started, on SIGTERM.

A supervisor, a CI script or `kill PID` sends SIGTERM to the one process it knows; the Dagster UI,
its daemon and its code server must not outlive it. The command is started the way a background
job of a script is (stdin not a tty, SIGINT ignored), which is where it used to keep running.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from test_webserver_e2e import free_port, wait_until_up

from lightsms_pipeline.cli.dev import DEV_STOP_TIMEOUT_SECONDS

REPO = Path(__file__).resolve().parents[2]
# `dev` gives its children DEV_STOP_TIMEOUT_SECONDS to stop before it kills them; plus slack.
STOP_BOUND_SECONDS = DEV_STOP_TIMEOUT_SECONDS + 30


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process, or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[19])


def _descendants(root: int) -> dict[int, tuple[int, str]]:
    """Every live process below `root`: pid -> (start time, command line), start time to tell a
    recycled pid from the original."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parent_of[int(entry.name)] = stat[1]
    found: dict[int, tuple[int, str]] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parent_of.items():
            if ppid == parent and pid not in found and (stat := _stat(pid)) is not None:
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except FileNotFoundError:
                    continue
                found[pid] = (stat[2], cmdline)
                frontier.append(pid)
    return found


def _survivors(processes: dict[int, tuple[int, str]]) -> list[str]:
    alive = []
    for pid, (started, cmdline) in processes.items():
        stat = _stat(pid)
        if stat is not None and stat[2] == started and stat[0] != "Z":
            alive.append(f"{pid} {cmdline}")
    return alive


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `cmd &` in a non-interactive shell does


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_dev_without_a_terminal_stops_with_all_its_children_on_sigterm(tmp_path: Path) -> None:
    ui_port, simulator_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTSMS_")}
    env["DAGSTER_HOME"] = str(tmp_path / "home")
    log_path = tmp_path / "dev.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("lightsms-pipeline")),
                "dev",
                "--port",
                str(ui_port),
                "--simulator-port",
                str(simulator_port),
            ],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_ignore_sigint,
        )
    started: dict[int, tuple[int, str]] = {}
    try:
        wait_until_up(f"http://127.0.0.1:{ui_port}", process)
        started = _descendants(process.pid)
        commands = " | ".join(cmd for _, cmd in started.values())
        # dagster dev, its webserver and its daemon at least (the code server comes with the UI).
        assert len(started) >= 3 and "dagster_webserver" in commands and "_daemon" in commands, commands

        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=STOP_BOUND_SECONDS)
        took = time.monotonic() - sent
        output = log_path.read_text(errors="replace")[-3000:]
        print(f"dev stopped {took:.1f} s after SIGTERM with exit code {code}; {len(started)} children")

        assert _survivors(started) == [], output
        assert code == 0, output
        assert "killing it" not in output, output  # stopped by the forwarded signal, not by SIGKILL
        assert not _answers(ui_port) and not _answers(simulator_port)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{ui_port}/server_info", timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in started:
            if _survivors({pid: started[pid]}):
                os.kill(pid, signal.SIGKILL)
