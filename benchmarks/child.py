"""Running a measurement in a fresh Python process: honest cold starts, peak memory and threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCH-RESULT "
# One core means one thread everywhere: Arrow's pools, OpenMP and BLAS.
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def child_env(extra: Mapping[str, str] | None = None, *, only_path: Path | None = None) -> dict[str, str]:
    """The environment of a benchmark child: the repo importable, whatever is installed.

    `only_path`: PYTHONPATH is that folder alone, for a child that must import another checkout
    of the package (an old revision, `backfill --against`) and never this working tree's."""
    env = dict(os.environ)
    if only_path is not None:
        env["PYTHONPATH"] = str(only_path)
    else:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.update(extra or {})
    return env


def run_module(
    module: str, args: Sequence[str], extra_env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """`python -m benchmarks.<module> ARGS` in a fresh process; returns the dict it reported."""
    cmd = [sys.executable, "-m", f"benchmarks.{module}", *args]
    proc = subprocess.run(cmd, env=child_env(extra_env), cwd=REPO, capture_output=True, text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line.removeprefix(RESULT_PREFIX))
    raise RuntimeError(
        f"{' '.join(cmd)} exited {proc.returncode} without a result:\n"
        f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )


def report(result: Mapping[str, Any]) -> None:
    """What a child prints last: its result, for `run_module` to read."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def timed_process(
    cmd: Sequence[str], env: Mapping[str, str], cwd: Path
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of a whole process, start-up included."""
    started = time.perf_counter()
    proc = subprocess.run(list(cmd), env=dict(env), cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, proc
