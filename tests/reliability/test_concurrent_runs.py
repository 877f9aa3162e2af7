"""Two runs writing the same days at the same time: files end whole and consistent, never mixed."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import API_KEY, LOGIN
from dagster import DagsterInstance, DagsterRunStatus
from pipeline import Pipeline

from lightsms_pipeline.ingest.engine import RUN_ID_KEY
from lightsms_pipeline.simulator.faults import FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic
from lightsms_pipeline.storage.parquet import Dataset
from reliability.conftest import SuiteSummary
from reliability.materializer import child_output, materializing, open_gate
from reliability.partition_files import day_range, expected_rows, file_rows, part_path, temp_files

SUITE = "reliability/concurrency"
OTHER_LOGIN = "other-login"


@dataclass
class ClockedPlan(FaultPlan):
    """No faults, `latency_ms` on every request, and the time each incoming.php request arrived."""

    arrivals: list[float] = field(default_factory=list)

    def choose(self, endpoint: str, date_param: str | None = None):  # type: ignore[no-untyped-def]
        if endpoint == "incoming.php":
            self.arrivals.append(time.monotonic())
        return super().choose(endpoint, date_param)


@pytest.mark.slow
def test_two_runs_over_the_same_days_at_once_leave_whole_files_from_one_run_or_the_other(
    pipeline: Pipeline,
    subprocess_env: dict[str, str],
    simulator: SimulatorServer,
    traffic: Traffic,
    data_dir: Path,
    tmp_path: Path,
    summary: SuiteSummary,
) -> None:
    start, end = date(2025, 1, 6), date(2025, 1, 17)
    days = day_range(start, end)
    # Two accounts with different histories write the same partitions: each file must be one
    # account's whole day, and its `account` column says which.
    other_traffic = Traffic(seed=8, per_day=60)
    plans = ClockedPlan(latency_ms=150), ClockedPlan(latency_ms=150)
    simulator.faults = plans[0]
    env = {**subprocess_env, "LIGHTSMS_PARALLELISM": "2"}
    gate = tmp_path / "gate"
    # An instance in use, as in a deployment: two processes creating a fresh SQLite instance's
    # tables at the same moment race in Dagster's schema migration, before any of our code runs.
    warm_up = pipeline.materialize(date(2025, 1, 2))
    with SimulatorServer(other_traffic, login=OTHER_LOGIN, api_key=API_KEY, faults=plans[1]) as other:
        other_env = {**env, "LIGHTSMS_BASE_URL": other.base_url, "LIGHTSMS_LOGIN": OTHER_LOGIN}
        with (
            materializing(start, end, env, tmp_path, "a", gate) as a,
            materializing(start, end, other_env, tmp_path, "b", gate) as b,
        ):
            open_gate(gate, children=2)
            assert a.wait(timeout=120) == 0, child_output(tmp_path, "a")
            assert b.wait(timeout=120) == 0, child_output(tmp_path, "b")
    overlap = min(max(p.arrivals) for p in plans) - max(min(p.arrivals) for p in plans)
    assert overlap > 0, "the two runs did not fetch at the same time"

    with DagsterInstance.get() as instance:
        runs = [r for r in instance.get_run_records() if r.dagster_run.run_id != warm_up.run_id]
    assert [r.dagster_run.status for r in runs] == [DagsterRunStatus.SUCCESS] * 2
    run_ids = {r.dagster_run.run_id for r in runs}
    truth = {LOGIN: traffic, OTHER_LOGIN: other_traffic}
    winners = {LOGIN: 0, OTHER_LOGIN: 0}
    compared = 0
    mixed: list[date] = []
    torn: list[date] = []
    for day in days:
        path = part_path(data_dir, day)
        try:
            table = pq.read_table(path)
        except Exception:  # a torn file does not even open
            torn.append(day)
            continue
        accounts = set(table["account"].to_pylist())
        if len(accounts) != 1:
            mixed.append(day)
            continue
        (login,) = accounts
        if file_rows(path) != expected_rows(truth[login], day):
            torn.append(day)  # one account's rows, but not its whole day
            continue
        assert (table.schema.metadata or {})[RUN_ID_KEY.encode()].decode() in run_ids
        winners[login] += 1
        compared += table.num_rows
    assert mixed == [] and torn == [], f"mixed: {mixed}, torn or partial: {torn}"
    assert temp_files(data_dir) == []
    summary.add("runs at once", len(run_ids))
    summary.add("days", len(days))
    summary.add("messages compared", compared)
    summary.add("mixed or torn files", len(mixed) + len(torn))


def test_writers_racing_on_one_partition_and_a_reader_only_ever_see_a_whole_file(
    tmp_path: Path, summary: SuiteSummary
) -> None:
    dataset = Dataset(tmp_path / "data")
    day = date(2025, 1, 15)
    rows = 60_000
    tables = [
        pa.table({"id": pa.array(range(n * rows, (n + 1) * rows)), "writer": pa.array([f"w{n}"] * rows)})
        for n in (0, 1)
    ]
    stop = threading.Event()
    problems: list[str] = []
    reads = [0]

    written: list[str] = []  # list.append is atomic: one entry per completed write

    def write(table: pa.Table) -> None:
        for _ in range(25):
            written.append(dataset.write_partition("race", day, table))

    def read() -> None:
        while not stop.is_set():
            try:
                got = dataset.read_partition("race", day)
            except FileNotFoundError:
                continue  # before the first rename
            except Exception as exc:  # any failure to read is the bug looked for
                problems.append(repr(exc))
                continue
            reads[0] += 1
            if not any(got.equals(t) for t in tables):
                problems.append(f"read a table of {got.num_rows} rows that no writer wrote")

    writers = [threading.Thread(target=write, args=(tables[n % 2],)) for n in range(4)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    stop.set()
    for t in readers:
        t.join(timeout=30)
    assert problems == []
    assert reads[0] > 0
    assert any(dataset.read_partition("race", day).equals(t) for t in tables)
    assert temp_files(tmp_path / "data") == []
    assert len(written) == 4 * 25, "a writer failed"
    summary.add("racing writes", len(written))
    summary.add("reads checked", reads[0])
