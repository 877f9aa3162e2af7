"""Materializing in a child process, so a test can kill it or run two at once against one data dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

# The child runs the same one-run backfill as tests/pipeline.py, on the instance in DAGSTER_HOME,
# configured by its environment as a deployed process is.
# With a gate (argv 3), it says it is ready once Dagster is imported and waits for `<gate>.go`,
# so two children start materializing at the same moment however long their imports take.
CHILD = """
import os, sys, time
from datetime import date
from pipeline import materialize
from lightsms_pipeline.settings import Settings
if len(sys.argv) > 3:
    open(sys.argv[3] + ".ready." + str(os.getpid()), "w").close()
    deadline = time.monotonic() + 120
    while not os.path.exists(sys.argv[3] + ".go") and time.monotonic() < deadline:
        time.sleep(0.01)
first, last = date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2])
result = materialize(Settings.from_env(), first, last, raise_on_error=False)
sys.exit(0 if result.success else 1)
"""


@contextmanager
def materializing(
    start: date, end: date, env: dict[str, str], log_dir: Path, name: str = "child", gate: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process materializing start..end; killed with its process group if still running
    when the block ends, so no test leaves one behind."""
    gate_args = [str(gate)] if gate is not None else []
    with open(log_dir / f"{name}.out", "wb") as out, open(log_dir / f"{name}.err", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, start.isoformat(), end.isoformat(), *gate_args],
            env=env,
            cwd=log_dir,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own process group: SIGKILL reaches any helper it starts
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                kill(proc)


def kill(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def child_output(log_dir: Path, name: str = "child") -> str:
    out = (log_dir / f"{name}.out").read_text(errors="replace")
    err = (log_dir / f"{name}.err").read_text(errors="replace")
    return f"stdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}"


def open_gate(gate: Path, children: int, timeout: float = 120) -> None:
    """Wait until `children` gated children are ready, then let them all go at once."""
    ready = wait_until(lambda: len(list(gate.parent.glob(gate.name + ".ready.*"))) >= children, timeout)
    assert ready, (
        f"only {len(list(gate.parent.glob(gate.name + '.ready.*')))} of {children} children got ready"
    )
    (gate.parent / (gate.name + ".go")).touch()
