"""`LIGHTSMS_BACKFILL_RUN_DAYS` for real: a backfill split into runs of N days on the PostgreSQL
deployment (code server, webserver, daemon), launched as the UI's "Materialize all" launches it.

The daemon cuts the backfill into runs of at most N days, queues them, and the pool
`lightsms_api` (limit 1) lets one at a time call LightSMS; each run fetches its days and builds
their derived datasets; the whole-history assets are built once, after the last day landed. Every
file must equal what one single-run backfill of the same days writes.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import API_KEY, LOGIN
from dagster import DagsterEventType, DagsterRunStatus, RunRecord
from pipeline import materialize
from reliability.partition_files import day_range

from lightsms_pipeline.contract import INCOMING, OPT_OUT_PARQUET, POLL_RESULTS_PARQUET
from lightsms_pipeline.settings import API_KEY_VARIABLE, LOGIN_VARIABLE, Settings
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic
from production.conftest import POSTGRES_GROUP, one_worker_for
from production.deployment import Deployment, deployment_env, running_deployment
from production.postgres_server import PostgresServer
from production.test_postgres_deployment import (
    DAILY_ASSETS,
    WHOLE_HISTORY_ASSETS,
    ArrivalLog,
    assert_days_exact,
    backfill_runs,
    launch_backfill,
    wait_for_backfill,
)

pytestmark = [POSTGRES_GROUP, pytest.mark.slow]

RUN_DAYS = 3
DAYS_PER_REQUEST = 2
START, END = date(2024, 3, 1), date(2024, 3, 10)  # 10 days: runs of 3, 3, 3 and 1
# Written by each run, so never equal between two runs of the same days.
RUN_COLUMNS = {"fetched_at"}


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return Traffic(seed=41, per_day=30)


@pytest.fixture(scope="module")
def simulator(traffic: Traffic) -> Iterator[SimulatorServer]:
    with SimulatorServer(traffic, login=LOGIN, api_key=API_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("multi-run-data")


@pytest.fixture(scope="module")
def lightsms_env(simulator: SimulatorServer, data_dir: Path) -> dict[str, str]:
    return deployment_env(
        simulator.base_url,
        data_dir,
        LOGIN,
        API_KEY,
        LIGHTSMS_BACKFILL_RUN_DAYS=str(RUN_DAYS),
        LIGHTSMS_DAYS_PER_REQUEST=str(DAYS_PER_REQUEST),
    )


@pytest.fixture(scope="module")
def deployment(
    postgres: PostgresServer,
    lightsms_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Deployment]:
    one_worker_for("postgres", request.config, tmp_path_factory)
    db = postgres.with_database("multi_run")
    with running_deployment(tmp_path_factory.mktemp("multi-run-deployment"), db, lightsms_env) as running:
        yield running


def run_days(record: RunRecord) -> list[date]:
    """The days a backfill run covers, from the tags the daemon gave it (a range, or one day)."""
    tags = record.dagster_run.tags
    if "dagster/partition" in tags:
        return [date.fromisoformat(tags["dagster/partition"])]
    first = date.fromisoformat(tags["dagster/asset_partition_range_start"])
    last = date.fromisoformat(tags["dagster/asset_partition_range_end"])
    return day_range(first, last)


def asset_names(record: RunRecord) -> set[str]:
    return {k.to_user_string() for k in record.dagster_run.asset_selection or ()}


def parquet_tables(root: Path) -> dict[str, object]:
    """Every Parquet file of the backfilled assets under `root`, by relative path, without the
    columns a run stamps (`RUN_COLUMNS`)."""
    paths = [p for a in DAILY_ASSETS for p in sorted((root / a).rglob("*.parquet"))]
    paths += [root / name for name in (OPT_OUT_PARQUET, POLL_RESULTS_PARQUET)]
    found = {}
    for path in paths:
        table = pq.read_table(path)
        found[str(path.relative_to(root))] = table.drop_columns(
            [c for c in table.column_names if c in RUN_COLUMNS]
        )
    return found


def test_a_backfill_split_in_runs_of_n_days_is_queued_by_the_daemon_behind_the_pool_and_lands_exact(
    deployment: Deployment,
    simulator: SimulatorServer,
    traffic: Traffic,
    data_dir: Path,
    lightsms_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    days = day_range(START, END)
    # Each request held 3 s, longer than the queue takes to launch the next run: with the pool at
    # 4 instead of 1 the second run started 1.6 s before the first ended, and this test failed
    # (with 0.5 s the launches alone kept the runs apart, and a broken pool went unseen).
    arrivals = ArrivalLog(hold_seconds=3.0)
    simulator.faults = arrivals
    simulator.log.clear()
    began, launched_at = time.monotonic(), time.time()
    backfill_id = launch_backfill(
        deployment, {**dict.fromkeys(DAILY_ASSETS, (START, END)), **dict.fromkeys(WHOLE_HISTORY_ASSETS)}
    )
    status = wait_for_backfill(deployment, backfill_id)
    seconds = time.monotonic() - began
    simulator.faults = None
    assert status in ("COMPLETED", "COMPLETED_SUCCESS"), status + "\n" + deployment.logs_tail()
    requests = list(simulator.log)

    with deployment.instance() as instance:
        runs = backfill_runs(instance, backfill_id)
        enqueued = {
            r.dagster_run.run_id: bool(
                instance.all_logs(r.dagster_run.run_id, of_type=DagsterEventType.RUN_ENQUEUED)
            )
            for r in runs
        }
    assert runs and all(r.dagster_run.status == DagsterRunStatus.SUCCESS for r in runs)
    # Every run went through the queue, so the daemon (not the webserver) launched it.
    assert all(enqueued.values()), enqueued

    daily = [r for r in runs if INCOMING in asset_names(r)]
    whole = [r for r in runs if INCOMING not in asset_names(r)]
    # The days are cut into runs of at most RUN_DAYS, each day in exactly one run, and each run
    # builds its days' derived datasets too (they share the backfill policy).
    assert sorted(len(run_days(r)) for r in daily) == [1, RUN_DAYS, RUN_DAYS, RUN_DAYS]
    assert sorted(d for r in daily for d in run_days(r)) == days
    assert all(asset_names(r) == set(DAILY_ASSETS) for r in daily), [asset_names(r) for r in daily]
    # The whole-history assets: built once, after the last day landed.
    assert {a for r in whole for a in asset_names(r)} == set(WHOLE_HISTORY_ASSETS)
    last_daily_end = max(r.end_time or 0 for r in daily)
    assert all((r.start_time or 0) >= last_daily_end for r in whole)

    # The pool: the daily runs were waiting together, yet none started before the previous ended.
    by_start = sorted(daily, key=lambda r: r.start_time or 0)
    assert all(r.start_time and r.end_time for r in by_start)
    queued_together = max(r.create_timestamp.timestamp() for r in daily) < min(r.end_time or 0 for r in daily)
    assert queued_together, "the runs were not queued at the same time: the pool was not put to the test"
    for a, b in itertools.pairwise(by_start):
        assert (b.start_time or 0) >= (a.end_time or 0), (a.start_time, a.end_time, b.start_time)
    # What LightSMS saw: every request inside one run's lifetime, so never two runs at once.
    windows = [(r.start_time or 0, r.end_time or 0) for r in by_start]
    for _, at in arrivals.arrivals:
        assert sum(start <= at <= end for start, end in windows) == 1, (at, windows)
    # Spans of DAYS_PER_REQUEST days, cut at the runs' edges: 3 days are 2 requests, 1 day is 1.
    assert len(requests) == len(arrivals.arrivals) == 3 * 2 + 1, requests

    messages = assert_days_exact(data_dir, traffic, days)
    assert messages == sum(len(traffic.day(d)) for d in days) > 0

    # The same days in ONE run (the default policy), in this process, into another folder: every
    # asset's files must be the same, row for row.
    reference_dir = tmp_path / "one-run"
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv(LOGIN_VARIABLE, LOGIN)
    monkeypatch.setenv(API_KEY_VARIABLE, API_KEY)
    one_run = Settings.from_env(lightsms_env).replace(data_dir=str(reference_dir), backfill_run_days=0)
    result = materialize(one_run, START, END, assets=[*DAILY_ASSETS, *WHOLE_HISTORY_ASSETS])
    assert result.success
    expected, landed = parquet_tables(reference_dir), parquet_tables(data_dir)
    assert sorted(landed) == sorted(expected)
    assert len(expected) == len(days) * len(DAILY_ASSETS) + 2
    for path, table in expected.items():
        assert landed[path].equals(table), path
    assert expected[OPT_OUT_PARQUET].num_rows > 0  # the comparison of the opt-out list compared something

    def since_launch(instant: float | None) -> str:
        return f"+{(instant or 0) - launched_at:.0f}"

    timeline = "; ".join(
        f"{'+'.join(sorted(a[:4] for a in asset_names(r)))} "
        f"queued {since_launch(r.create_timestamp.timestamp())} "
        f"ran {since_launch(r.start_time)}..{since_launch(r.end_time)}"
        for r in sorted(runs, key=lambda r: r.start_time or 0)
    )
    print(f"\nruns (s after launch): {timeline}")
    print(
        f"multi-run backfill on PostgreSQL through the daemon: {len(days)} days in {len(daily)} runs "
        f"of <= {RUN_DAYS} + {len(whole)} whole-history run, {messages} messages exact, "
        f"{len(requests)} requests, one run at a time at LightSMS; {seconds:.1f} s launch to completion"
    )
