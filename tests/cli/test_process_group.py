"""`run_until_stopped` waits while its process group runs: a zombie is not running."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from lightsms_pipeline.cli.dev import _running_in_group, run_until_stopped

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def test_a_live_process_of_the_group_counts_as_running() -> None:
    assert _running_in_group(Path(f"/proc/{os.getpid()}"), os.getpgrp())
    assert not _running_in_group(Path(f"/proc/{os.getpid()}"), os.getpgrp() + 1_000_000)


def test_a_zombie_of_the_group_does_not_count_as_running() -> None:
    # Before this, `killpg(group, 0)` succeeded on an unreaped zombie, and a stopped
    # `dagster dev` was waited on for 45 s and reported as killed.
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        entry = Path(f"/proc/{pid}")
        deadline = time.monotonic() + 10
        while (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        os.killpg(os.getpgrp(), 0)  # what the old check asked: it succeeds on the zombie
        assert not _running_in_group(entry, os.getpgrp())
    finally:
        os.waitpid(pid, 0)


def test_a_process_gone_meanwhile_does_not_count() -> None:
    assert not _running_in_group(Path("/proc/0-no-such-process"), os.getpgrp())


def test_a_group_that_outlives_the_timeout_is_killed_and_its_survivors_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The message before SIGKILL names what did not stop: the one clue when `dagster dev`
    # hangs on its way down (a CI run once waited the whole 45 s without saying on what).
    ready = tmp_path / "ready"
    child = (
        "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"pathlib.Path({str(ready)!r}).touch(); time.sleep(60)"
    )

    _sigterm_this_process_once(ready)
    started = time.monotonic()
    assert run_until_stopped([sys.executable, "-c", child], dict(os.environ), timeout=1.0) == 0
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err
    assert "still running after 1 s; killing it (still running: " in err
    assert "signal.SIG_IGN" in err  # the survivor's own command line


def test_a_process_started_during_shutdown_is_stopped_once_the_leader_has_exited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Dagster 1.13's `dagster dev` can restart its code server while shutting down (seen in CI):
    # the new process never got the signal and waited out its 45 s heartbeat before SIGKILL.
    ready = tmp_path / "ready"
    leader = (
        "import pathlib, signal, subprocess, sys, time\n"
        "def restart_then_exit(*_):\n"
        "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, restart_then_exit)\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(60)\n"
    )

    _sigterm_this_process_once(ready)
    started = time.monotonic()
    assert run_until_stopped([sys.executable, "-c", leader], dict(os.environ), timeout=30.0) == 0
    assert time.monotonic() - started < 15  # not the 30 s timeout
    assert "killing it" not in capsys.readouterr().err


def _sigterm_this_process_once(ready: Path) -> None:
    """SIGTERM to this process (where `run_until_stopped` waits) once the child has written
    `ready`, i.e. has set up its signal handling: from a thread, as a supervisor would."""

    def stop_when_ready() -> None:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_ready, daemon=True).start()
