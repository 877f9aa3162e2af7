"""A failed window or day never replaces the previous file: on every path a day can take.

A day alone (one `date=` request), a day inside a span of days (`days_per_request` > 1: the span
refused, or answered with one bad day in it), and a day too large for one answer, fetched in
`from`/`to` windows of which one fails after the others came back. Each test writes the days once,
then fails one over real HTTP (the simulator's fault injection, or a body it serves) and checks
that the day is reported failed with its typed error, never as ok or as zero rows, and that its
file still holds the previous run's bytes, while the other days of the run land.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import API_KEY, FAST_RETRY, LOGIN
from reliability.partition_files import compare, expected_rows, part_path

from lightsms_pipeline.api.client import LightSMSClient, WindowPolicy
from lightsms_pipeline.errors import MalformedResponseError, UnavailableError
from lightsms_pipeline.ingest.engine import DayResult, IngestOptions, ingest_days
from lightsms_pipeline.simulator.encoding import encode_json
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic
from lightsms_pipeline.storage.parquet import Dataset

DAYS = [date(2025, 1, 13) + timedelta(days=n) for n in range(5)]
BAD = DAYS[2]
# 24 hourly windows, one request each (no answer limit): what a windowed day asks once the
# whole day was refused.
HOURS = 24


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(Traffic(seed=11, per_day=80), login=LOGIN, api_key=API_KEY) as sim:
        yield sim


def run(
    server: SimulatorServer,
    data_dir: Path,
    days: list[date],
    *,
    days_per_request: int = 1,
    window: WindowPolicy | None = None,
) -> list[DayResult]:
    options = IngestOptions(account=LOGIN, parallelism=4, days_per_request=days_per_request)
    with LightSMSClient(server.base_url, LOGIN, API_KEY, retry=FAST_RETRY, window=window) as client:
        return ingest_days(client, Dataset(data_dir), days, options)


def previous_files(server: SimulatorServer, data_dir: Path, days: list[date]) -> dict[date, bytes]:
    """A first, clean run's files: what a failed day must keep."""
    assert all(r.ok for r in run(server, data_dir, days))
    server.stats.reset()
    return {day: part_path(data_dir, day).read_bytes() for day in days}


def assert_failed_and_kept(result: DayResult, data_dir: Path, before: bytes, error: type[Exception]) -> None:
    assert not result.ok and isinstance(result.error, error), result
    assert (result.rows, result.path) == (0, None)  # never counted as a day of no messages
    assert part_path(data_dir, result.day).read_bytes() == before


def assert_landed(
    results: list[DayResult], server: SimulatorServer, data_dir: Path, before: dict[date, bytes]
) -> None:
    """Every day but BAD was written again (a new file: this run's fetch time) and is exact."""
    for result in results:
        if result.day != BAD:
            assert result.ok, result.error
            assert part_path(data_dir, result.day).read_bytes() != before[result.day]
            assert compare(part_path(data_dir, result.day), expected_rows(server.traffic, result.day)).exact


def test_a_day_that_fails_alone_keeps_its_previous_file(tmp_path: Path, server: SimulatorServer) -> None:
    before = previous_files(server, tmp_path, DAYS)
    server.faults = FaultPlan(fail_dates={BAD.isoformat()})

    results = run(server, tmp_path, DAYS)

    assert_failed_and_kept(results[2], tmp_path, before[BAD], UnavailableError)
    assert f"incoming.php for {BAD}" in str(results[2].error)
    assert_landed(results, server, tmp_path, before)


def test_a_day_failing_inside_a_refused_span_keeps_its_previous_file(
    tmp_path: Path, server: SimulatorServer
) -> None:
    before = previous_files(server, tmp_path, DAYS)
    server.faults = FaultPlan(fail_dates={BAD.isoformat()})  # the span holding BAD fails too

    results = run(server, tmp_path, DAYS, days_per_request=5)

    spans = [p for p in server.log if "from" in p]
    assert (
        spans and spans[0]["from"][:10] == DAYS[0].isoformat() and spans[0]["to"][:10] == DAYS[-1].isoformat()
    )
    assert_failed_and_kept(results[2], tmp_path, before[BAD], UnavailableError)
    assert f"incoming.php for {BAD}" in str(results[2].error)
    assert_landed(results, server, tmp_path, before)


def test_a_bad_day_in_an_answered_span_fails_alone_and_keeps_its_previous_file(
    tmp_path: Path, server: SimulatorServer
) -> None:
    before = previous_files(server, tmp_path, DAYS)
    messages = [m for day in DAYS for m in server.traffic.day(day)]
    at = next(n for n, m in enumerate(messages) if m.date.startswith(BAD.isoformat()))
    messages[at] = replace(messages[at], date=f"{BAD} 25:00:00")  # dated BAD, but no time
    server.serve_body(encode_json(messages))  # the span's answer (and any other)

    results = run(server, tmp_path, DAYS, days_per_request=5)

    assert [p.get("date") for p in server.log] == [None]  # one span request, no day asked alone
    assert_failed_and_kept(results[2], tmp_path, before[BAD], MalformedResponseError)
    assert "25:00:00" in str(results[2].error)
    assert_landed(results, server, tmp_path, before)


@pytest.mark.parametrize("concurrency", [1, 4], ids=["windows one by one", "windows four at a time"])
def test_a_window_failing_after_the_others_fails_its_day_and_keeps_the_previous_file(
    tmp_path: Path, server: SimulatorServer, concurrency: int
) -> None:
    before = previous_files(server, tmp_path, [BAD])
    # The whole day: HTTP 500 once, so it is cut into hours at once; then 20 hours answered, then
    # every request HTTP 503 until the windows still to come have used up their attempts.
    succeeded = 20
    server.faults = FaultPlan(
        script=[
            FaultKind.HTTP_500,
            *[None] * succeeded,
            *[FaultKind.HTTP_503] * (HOURS * FAST_RETRY.attempts),
        ]
    )
    window = WindowPolicy(split_after_attempts=1, concurrency=concurrency)

    (result,) = run(server, tmp_path, [BAD], window=window)

    windows = [p for p in server.log if "from" in p]
    assert len(windows) > succeeded and [p.get("date") for p in server.log[:1]] == [BAD.isoformat()]
    assert_failed_and_kept(result, tmp_path, before[BAD], UnavailableError)
    assert "incoming.php for " in str(result.error) and f"{BAD} " in str(result.error)  # names the window
    assert "HTTP 503" in str(result.error)


def test_a_materialized_windowed_day_with_a_failed_window_fails_the_run_and_keeps_its_file(
    pipeline, data_dir: Path, simulator: SimulatorServer
) -> None:
    pipeline.materialize(BAD)
    before = part_path(data_dir, BAD).read_bytes()
    simulator.faults = FaultPlan(
        script=[
            FaultKind.HTTP_500,
            *[None] * 12,
            *[FaultKind.HTTP_503] * (HOURS * pipeline.settings.max_attempts),
        ]
    )

    result = pipeline.with_settings(window_split_after_attempts=1).materialize(BAD, raise_on_error=False)

    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert (
        failure is not None
        and f"{BAD}: " in failure.message
        and "kept their previous files" in failure.message
    )
    assert not result.asset_materializations_for_node("incoming_messages")
    assert part_path(data_dir, BAD).read_bytes() == before
