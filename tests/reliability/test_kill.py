"""The materializing process SIGKILLed mid-backfill: every file is a whole old or a whole new one."""

from __future__ import annotations

import signal
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pipeline import Pipeline

from lightsms_pipeline.simulator.faults import FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic
from reliability.conftest import SuiteSummary
from reliability.materializer import child_output, kill, materializing, wait_until
from reliability.partition_files import day_range, expected_rows, file_rows, part_path, temp_files

SUITE = "reliability/kill"


@pytest.fixture
def traffic() -> Traffic:
    return Traffic(seed=7, per_day=80)


@pytest.mark.slow
def test_sigkill_mid_backfill_leaves_whole_old_or_whole_new_files_and_a_rerun_completes_the_set(
    pipeline: Pipeline,
    subprocess_env: dict[str, str],
    simulator: SimulatorServer,
    traffic: Traffic,
    data_dir: Path,
    tmp_path: Path,
    summary: SuiteSummary,
) -> None:
    start, end = date(2025, 1, 1), date(2025, 1, 24)
    days = day_range(start, end)
    assert pipeline.materialize(start, end).success
    old = {d: file_rows(part_path(data_dir, d)) for d in days}
    assert all(old[d] == expected_rows(traffic, d) for d in days)
    inode = {d: part_path(data_dir, d).stat().st_ino for d in days}
    # The account's history differs on the second run, so every file tells which run wrote it.
    changed = Traffic(seed=8, per_day=80)
    new = {d: expected_rows(changed, d) for d in days}
    assert all(new[d] != old[d] for d in days)
    simulator.traffic = changed
    simulator.faults = FaultPlan(latency_ms=200)

    def replaced() -> list[date]:
        return [d for d in days if part_path(data_dir, d).stat().st_ino != inode[d]]

    env = {**subprocess_env, "LIGHTSMS_PARALLELISM": "2"}
    with materializing(start, end, env, tmp_path) as child:
        wait_until(lambda: len(replaced()) >= 3 or child.poll() is not None, timeout=120)
        assert child.poll() is None, "the run ended before it could be killed\n" + child_output(tmp_path)
        kill(child)
    assert child.returncode == -signal.SIGKILL

    whole_old, whole_new, torn = [], [], []
    for day in days:
        try:
            rows = file_rows(part_path(data_dir, day))
        except Exception:  # a torn file does not even open
            torn.append(day)
            continue
        if rows == old[day]:
            whole_old.append(day)
        elif rows == new[day]:
            whole_new.append(day)
        else:
            torn.append(day)  # opens, but is neither run's whole day
    assert torn == [], f"neither the whole old file nor the whole new one: {torn}"
    assert len(whole_new) >= 3 and len(whole_old) >= 1, (whole_old, whole_new)
    # A kill between writing and renaming leaves a hidden temporary file; readers of the dataset
    # must skip it. One is planted so that this is checked whatever the timing of the kill.
    left_by_kill = len(temp_files(data_dir))
    (part_path(data_dir, start).parent / ".part-0.parquet.0123abcd.tmp").write_bytes(b"PAR1 and half a file")
    frame = pd.read_parquet(data_dir / "incoming_messages")
    assert len(frame) == sum(len(file_rows(part_path(data_dir, d))) for d in days)

    simulator.faults = None
    assert pipeline.materialize(start, end).success
    for day in days:
        assert file_rows(part_path(data_dir, day)) == new[day]
    summary.add("files after the kill", len(whole_old) + len(whole_new) + len(torn))
    summary.add("whole old", len(whole_old))
    summary.add("whole new", len(whole_new))
    summary.add("torn", len(torn))
    summary.add("temp files left by the kill", left_by_kill)
    summary.add("messages compared after the re-run", sum(len(new[d]) for d in days))
