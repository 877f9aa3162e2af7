"""The production path for real: PostgreSQL instance, gRPC code server, webserver and daemon.

One deployment (tests/production/deployment.py, shaped like deploy/docker-compose.yml) serves
the module; each test works on its own days of the simulated account, so the order of the tests
does not matter.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import API_KEY, LOGIN
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    RunRecord,
    RunsFilter,
    build_schedule_context,
)
from dagster_graphql import DagsterGraphQLClient
from reliability.partition_files import compare, day_range, expected_rows, part_path
from reliability.test_secrets import leak_forms

from lightsms_pipeline.contract import (
    CLASSIFIED,
    DAILY_SCHEDULE,
    INCOMING,
    MAIN_JOB,
    OPT_OUT_LIST,
    POLL_RESULTS,
    SUPPORT_INBOX,
)
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.simulator.faults import FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic
from production.conftest import POSTGRES_GROUP, one_worker_for
from production.deployment import Deployment, deployment_env, running_deployment, wait_until
from production.postgres_server import PostgresServer

pytestmark = [POSTGRES_GROUP, pytest.mark.slow]

LOCATION = "lightsms_pipeline"
DAILY_ASSETS = (INCOMING, CLASSIFIED, SUPPORT_INBOX)
WHOLE_HISTORY_ASSETS = (OPT_OUT_LIST, POLL_RESULTS)
RUN_TIMEOUT = 180
BACKFILL_TIMEOUT = 420
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
BACKFILL_FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


@dataclass
class ArrivalLog(FaultPlan):
    """No faults; the date and time each incoming.php request arrived at the simulator, and
    `hold_seconds` before answering it (shorter than the client's timeout), so that a run
    fetches long enough for a second run to start beside it if nothing held it back."""

    hold_seconds: float = 0.0
    arrivals: list[tuple[str | None, float]] = field(default_factory=list)

    def choose(self, endpoint: str, date_param: str | None = None):  # type: ignore[no-untyped-def]
        if endpoint == "incoming.php":
            self.arrivals.append((date_param, time.time()))
            time.sleep(self.hold_seconds)
        return super().choose(endpoint, date_param)


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return Traffic(seed=23, per_day=20)


@pytest.fixture(scope="module")
def simulator(traffic: Traffic) -> Iterator[SimulatorServer]:
    with SimulatorServer(traffic, login=LOGIN, api_key=API_KEY) as server:
        yield server


@pytest.fixture
def quiet_simulator(simulator: SimulatorServer) -> Iterator[SimulatorServer]:
    """The module's simulator, without latency or faults again after the test."""
    simulator.faults = None
    yield simulator
    simulator.faults = None


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("production-data")


@pytest.fixture(scope="module")
def lightsms_env(simulator: SimulatorServer, data_dir: Path) -> dict[str, str]:
    return deployment_env(simulator.base_url, data_dir, LOGIN, API_KEY)


@pytest.fixture(scope="module")
def deployment(
    postgres: PostgresServer,
    lightsms_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Deployment]:
    one_worker_for("postgres", request.config, tmp_path_factory)
    db = postgres.with_database("deployment")
    with running_deployment(tmp_path_factory.mktemp("deployment"), db, lightsms_env) as running:
        yield running


# --- helpers: what the UI and the API do -----------------------------------------------------------

LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on PartitionSetNotFoundError { message }
    ... on UnauthorizedError { message }
  }
}
"""

BACKFILL_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status }
    ... on PythonError { message }
  }
}
"""


def launch_backfill(deployment: Deployment, ranges: dict[str, tuple[date, date] | None]) -> str:
    """`launchPartitionBackfill` with a partition range per asset, as the UI's "Materialize all"
    sends it (whole-history assets without partitions)."""
    params = {
        "partitionsByAssets": [
            {"assetKey": {"path": [asset]}, "partitions": None if span is None else partition_range(*span)}
            for asset, span in ranges.items()
        ],
        "title": f"test backfill {time.time()}",
    }
    result = deployment.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    return str(result["backfillId"])


def partition_range(start: date, end: date) -> dict[str, dict[str, str]]:
    return {"range": {"start": start.isoformat(), "end": end.isoformat()}}


def wait_for_backfill(deployment: Deployment, backfill_id: str, timeout: float = BACKFILL_TIMEOUT) -> str:
    status = ""

    def finished() -> bool:
        nonlocal status
        answer = deployment.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        status = answer.get("status", answer["__typename"])
        return status in BACKFILL_FINISHED

    assert wait_until(finished, timeout, interval=1.0), f"backfill {status} after {timeout} s\n" + (
        deployment.logs_tail()
    )
    return status


def backfill_runs(instance: DagsterInstance, backfill_id: str) -> list[RunRecord]:
    records = instance.get_run_records(RunsFilter(tags={"dagster/backfill": backfill_id}))
    return sorted(records, key=lambda r: r.create_timestamp)


def wait_for_run(deployment: Deployment, run_id: str, timeout: float = RUN_TIMEOUT) -> DagsterRunStatus:
    with deployment.instance() as instance:

        def finished() -> bool:
            run = instance.get_run_by_id(run_id)
            return run is not None and run.status in FINISHED

        assert wait_until(finished, timeout, interval=0.5), deployment.logs_tail()
        run = instance.get_run_by_id(run_id)
        assert run is not None
        return run.status


def submit(deployment: Deployment, tags: dict[str, str]) -> str:
    client = DagsterGraphQLClient("127.0.0.1", port_number=deployment.webserver_port)
    return client.submit_job_execution(MAIN_JOB, repository_location_name=LOCATION, tags=tags)


def range_tags(start: date, end: date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }


def failed_days(deployment: Deployment) -> int:
    """Failed partitions of `incoming_messages`, as the UI's asset page counts them."""
    nodes = deployment.graphql("{ assetNodes { assetKey { path } partitionStats { numFailed } } }")
    (node,) = [n for n in nodes["assetNodes"] if n["assetKey"]["path"] == [INCOMING]]
    return int(node["partitionStats"]["numFailed"])


def assert_days_exact(data_dir: Path, traffic: Traffic, days: list[date]) -> int:
    """Every day's file equals the simulator's truth, message for message; returns the count."""
    messages = 0
    for day in days:
        expected = expected_rows(traffic, day)
        result = compare(part_path(data_dir, day), expected)
        assert result.exact, (day, result)
        messages += result.expected
    return messages


# --- the tests -------------------------------------------------------------------------------------


def test_a_year_backfill_of_every_asset_launched_like_materialize_all_is_run_by_the_daemon_exactly(
    deployment: Deployment, quiet_simulator: SimulatorServer, traffic: Traffic, data_dir: Path
) -> None:
    start, end = date(2024, 1, 1), date(2024, 12, 31)
    days = day_range(start, end)
    began = time.monotonic()
    backfill_id = launch_backfill(
        deployment,
        {**{a: (start, end) for a in DAILY_ASSETS}, **dict.fromkeys(WHOLE_HISTORY_ASSETS)},
    )
    status = wait_for_backfill(deployment, backfill_id)
    seconds = time.monotonic() - began
    assert status in ("COMPLETED", "COMPLETED_SUCCESS"), status + "\n" + deployment.logs_tail()

    messages = assert_days_exact(data_dir, traffic, days)
    assert messages == sum(len(traffic.day(d)) for d in days) > 0
    for asset in (CLASSIFIED, SUPPORT_INBOX):
        folders = sorted(p.name for p in (data_dir / asset).glob("date=*") if (p / "part-0.parquet").exists())
        assert folders == [f"date={d}" for d in days], asset
    with deployment.instance() as instance:
        runs = backfill_runs(instance, backfill_id)
        assert runs and all(r.dagster_run.status == DagsterRunStatus.SUCCESS for r in runs)
        # Every run went through the queue: the daemon, not the webserver, started it.
        for record in runs:
            enqueued = instance.all_logs(record.dagster_run.run_id, of_type=DagsterEventType.RUN_ENQUEUED)
            assert enqueued, record.dagster_run.run_id
        for asset in WHOLE_HISTORY_ASSETS:
            event = instance.get_latest_materialization_event(AssetKey(asset))
            assert event is not None and event.run_id in {r.dagster_run.run_id for r in runs}, asset
    stats = deployment.graphql(
        "{ assetNodes { assetKey { path } partitionStats { numMaterialized numFailed numPartitions } } }"
    )["assetNodes"]
    by_asset = {n["assetKey"]["path"][-1]: n["partitionStats"] for n in stats}
    for asset in DAILY_ASSETS:
        # What the UI shows: every day of 2024 materialized, none failed.
        assert by_asset[asset]["numFailed"] == 0, asset
        assert by_asset[asset]["numMaterialized"] >= len(days), asset
    print(
        f"\nyear backfill on PostgreSQL through the daemon: {len(days)} days, {messages:,} messages "
        f"exact, {len(runs)} runs, {seconds:.1f} s from launch to completion"
    )


def test_the_daily_schedule_tick_lands_yesterday_and_the_lookback_through_the_queue(
    deployment: Deployment,
    quiet_simulator: SimulatorServer,
    traffic: Traffic,
    data_dir: Path,
    lightsms_env: dict[str, str],
) -> None:
    settings = Settings.from_env(lightsms_env)
    schedule = build_definitions(settings).resolve_schedule_def(DAILY_SCHEDULE)
    instant = datetime(2025, 3, 10, 0, 15, tzinfo=ZoneInfo(settings.timezone))
    tick = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=instant))
    assert tick.run_requests is not None and len(tick.run_requests) == 1
    request = tick.run_requests[0]
    run_id = submit(deployment, {**request.tags, "dagster/schedule_name": DAILY_SCHEDULE})
    assert wait_for_run(deployment, run_id) == DagsterRunStatus.SUCCESS, deployment.logs_tail()

    landed = day_range(date(2025, 3, 7), date(2025, 3, 9))  # yesterday and 2 look-back days
    assert settings.lookback_days == 2
    assert_days_exact(data_dir, traffic, landed)
    assert not part_path(data_dir, date(2025, 3, 10)).exists()  # today is the intraday schedule's
    assert not part_path(data_dir, date(2025, 3, 6)).exists()
    with deployment.instance() as instance:
        assert instance.all_logs(run_id, of_type=DagsterEventType.RUN_ENQUEUED)


def test_two_backfills_launched_at_once_queue_on_the_pool_instead_of_calling_lightsms_twice(
    deployment: Deployment, quiet_simulator: SimulatorServer, traffic: Traffic, data_dir: Path
) -> None:
    # 16 days each, 4 at a time, 3 s a request: each run fetches for about 12 s.
    first, second = (date(2025, 2, 1), date(2025, 2, 16)), (date(2025, 2, 17), date(2025, 3, 4))
    log = ArrivalLog(hold_seconds=3.0)
    quiet_simulator.faults = log
    ids = [launch_backfill(deployment, {INCOMING: span}) for span in (first, second)]
    for backfill_id in ids:
        assert wait_for_backfill(deployment, backfill_id) in ("COMPLETED", "COMPLETED_SUCCESS")
    with deployment.instance() as instance:
        runs = [backfill_runs(instance, i) for i in ids]
    assert [len(r) for r in runs] == [1, 1]
    a, b = sorted((r[0] for r in runs), key=lambda r: r.start_time or 0)
    assert a.dagster_run.status == b.dagster_run.status == DagsterRunStatus.SUCCESS
    assert a.start_time and a.end_time and b.start_time and b.end_time
    # Both were waiting at once: the second run existed before the first one ended ...
    assert b.create_timestamp.timestamp() < a.end_time, "the runs were not launched at the same time"
    # ... and it started only after the first one ended: the pool held it in the queue.
    assert b.start_time >= a.end_time, (a.start_time, a.end_time, b.start_time)
    # What LightSMS saw: one backfill's requests, then the other's, never both at once.
    dates = [d for d, _ in sorted(log.arrivals, key=lambda x: x[1]) if d]
    first_days = {str(d) for d in day_range(*first)}
    owner = ["first" if d in first_days else "second" for d in dates]
    switches = sum(1 for x, y in itertools.pairwise(owner) if x != y)
    assert len(dates) == 32 and switches == 1, owner
    assert_days_exact(data_dir, traffic, day_range(first[0], second[1]))
    print(
        f"\npool lightsms_api: run 2 queued {a.end_time - b.create_timestamp.timestamp():.1f} s "
        f"while run 1 fetched; {len(dates)} requests, 1 switch between backfills"
    )


def test_a_run_killed_with_sigkill_is_marked_failed_and_a_rerun_completes_the_days(
    deployment: Deployment, quiet_simulator: SimulatorServer, traffic: Traffic, data_dir: Path
) -> None:
    start, end = date(2025, 5, 1), date(2025, 6, 9)
    days = day_range(start, end)
    quiet_simulator.faults = FaultPlan(latency_ms=800)
    run_id = submit(deployment, range_tags(start, end))
    pid = None
    messages: list[str] = []
    with deployment.instance() as instance:

        def worker_started() -> bool:
            nonlocal pid, messages
            engine = instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
            messages = [e.user_message for e in engine]
            for message in messages:
                if message.startswith("Executing steps in process (pid: "):  # the run worker
                    pid = int(message.split("pid: ")[1].rstrip(").").strip())
            return pid is not None and any(part_path(data_dir, d).exists() for d in days)

        assert wait_until(worker_started, RUN_TIMEOUT, interval=0.25), messages
        assert pid is not None
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == DagsterRunStatus.STARTED
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
    assert wait_for_run(deployment, run_id, timeout=120) == DagsterRunStatus.FAILURE
    marked_after = time.monotonic() - killed_at
    written_before_kill = sum(part_path(data_dir, d).exists() for d in days)
    assert written_before_kill < len(days), "the run finished before it was killed"
    with deployment.instance() as instance:
        engine = [
            str(e.dagster_event.message or "")
            for e in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
            if e.dagster_event
        ]
    # The code server that started the worker saw it die (the default run launcher).
    assert any("was terminated by signal 9 (SIGKILL)" in m for m in engine), engine
    assert failed_days(deployment) > 0  # the UI shows the killed run's days as failed

    quiet_simulator.faults = None
    rerun = submit(deployment, range_tags(start, end))
    assert wait_for_run(deployment, rerun) == DagsterRunStatus.SUCCESS, deployment.logs_tail()
    assert_days_exact(data_dir, traffic, days)
    assert failed_days(deployment) == 0
    print(
        f"\nSIGKILL: run marked failed {marked_after:.1f} s after the kill ({written_before_kill} of "
        f"{len(days)} days on disk); the re-run completed all {len(days)}"
    )


def test_the_api_key_and_the_database_password_are_in_no_table_and_no_log(
    deployment: Deployment, quiet_simulator: SimulatorServer, traffic: Traffic, data_dir: Path
) -> None:
    day = date(2025, 8, 1)
    run_id = submit(deployment, range_tags(day, day))
    assert wait_for_run(deployment, run_id) == DagsterRunStatus.SUCCESS
    needles = {n.decode("utf-8", "replace") for n in leak_forms(API_KEY) | leak_forms(deployment.db.password)}
    conn = deployment.db.connect()
    rows = tables = 0
    leaks: list[str] = []
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
            names = [r[0] for r in cur.fetchall()]
            for name in names:
                cur.execute(f'SELECT t::text FROM "{name}" t')
                for (text,) in cur.fetchall():
                    rows += 1
                    leaks += [f"{name}: {n!r}" for n in needles if n in text]
                tables += 1
    finally:
        conn.close()
    assert rows > 0 and "event_logs" in names and "runs" in names
    assert not leaks, leaks
    for name, text in deployment.logs().items():
        assert not [n for n in needles if n in text], name
    print(f"\nsecret scan: {rows:,} rows in {tables} tables and 3 process logs, no key or password")
