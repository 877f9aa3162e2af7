"""A process that ran our assets exits without CPython's last garbage collection (process_exit.py).

Observed from inside a real child process: an `atexit` handler registered before the run runs after
ours (handlers run last-in, first-out) and reports whether the collector was frozen by then."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, flush=True))
from dagster import asset, materialize
from lightsms_pipeline.resources.dataset import ParquetDatasetResource

@asset(required_resource_keys={"dataset"})
def uses_the_dataset(context) -> None:
    context.resources.dataset.get_dataset()

if sys.argv[1] == "run":
    dataset = ParquetDatasetResource(data_dir=sys.argv[2])
    result = materialize([uses_the_dataset], resources={"dataset": dataset})
    assert result.success
"""


@pytest.mark.parametrize(("mode", "frozen"), [("run", True), ("import only", False)])
def test_a_process_that_ran_an_asset_with_our_dataset_exits_with_the_collector_frozen(
    tmp_path: Path, dagster_home: Path, mode: str, frozen: bool
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode.split()[0], str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"frozen at exit: {frozen}" in done.stdout
