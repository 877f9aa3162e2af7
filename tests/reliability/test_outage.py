"""Days LightSMS keeps failing fail alone, loudly, and keep their files; passing outages heal alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dagster import DagsterEventType, DagsterInstance

from lightsms_pipeline.contract import INCOMING
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.ingest.engine import RUN_ID_KEY
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic
from reliability.conftest import SuiteSummary
from reliability.partition_files import compare, day_range, expected_rows, part_path, temp_files

SUITE = "reliability/outage"


@dataclass
class OutagePlan(FaultPlan):
    """Every incoming.php request for a day in `failing` gets that day's fault, for good."""

    failing: dict[str, FaultKind] = field(default_factory=dict)

    def choose(self, endpoint: str, date_param: str | None = None) -> FaultKind | None:
        if endpoint == "incoming.php" and date_param in self.failing:
            return self.failing[date_param]
        return super().choose(endpoint, date_param)


# Each way a day can keep failing, and what its error must say besides the day and the endpoint.
PERSISTENT = {
    date(2025, 1, 14): (FaultKind.HTTP_503, "HTTP 503"),
    date(2025, 1, 15): (FaultKind.RESET, "connection failed"),
    date(2025, 1, 16): (FaultKind.HTML, "HTML page"),
    date(2025, 1, 17): (FaultKind.SLOW, "timed out"),
    date(2025, 1, 18): (FaultKind.TRUNCATED, "attempts"),
    date(2025, 1, 19): (FaultKind.STALE_TIMESTAMP, "error 6"),
    date(2025, 1, 20): (FaultKind.RATE_LIMIT, "HTTP 429"),
}


def run_id_of(path: Path) -> str:
    return (pq.read_schema(path).metadata or {}).get(RUN_ID_KEY.encode(), b"").decode()


def step_events(run_id: str, kind: DagsterEventType) -> list:
    with DagsterInstance.get() as instance:
        return [
            r.dagster_event
            for r in instance.all_logs(run_id)
            if r.dagster_event and r.dagster_event.event_type == kind
        ]


def test_default_settings_retry_the_step_after_a_delay() -> None:
    policy = build_definitions(Settings()).resolve_assets_def(INCOMING).node_def.retry_policy
    assert policy is not None and policy.max_retries >= 1 and policy.delay and policy.delay >= 10


@pytest.mark.slow
def test_days_that_always_fail_fail_alone_named_and_keep_their_previous_files(
    pipeline,
    simulator: SimulatorServer,
    traffic: Traffic,
    data_dir: Path,
    monkeypatch,
    summary: SuiteSummary,
) -> None:
    start, end = date(2025, 1, 13), date(2025, 1, 21)
    days = day_range(start, end)
    assert pipeline.materialize(start, end).success
    before = {d: part_path(data_dir, d).read_bytes() for d in days}
    pipeline = pipeline.with_settings(
        max_attempts=3,
        timeout_seconds=0.3,
        run_retries=1,  # the retry policy is in force, and fails again
        run_retry_delay_seconds=0,
    )
    simulator.faults = OutagePlan(
        failing={d.isoformat(): kind for d, (kind, _) in PERSISTENT.items()},
        slow_seconds=0.6,
        retry_after_seconds=0,
    )

    earlier_requests = len(simulator.log)
    result = pipeline.materialize(start, end, raise_on_error=False)

    assert not result.success
    (failure,) = result.get_step_failure_events()
    error = failure.step_failure_data.error
    assert error is not None
    message = error.cause.message if error.cause else error.message
    assert f"{len(PERSISTENT)} of {len(days)} days failed and kept their previous files" in message
    lines = {line.split(":", 1)[0]: line for line in message.splitlines()[1:]}
    assert set(lines) == {d.isoformat() for d in PERSISTENT}
    for day, (_, hint) in PERSISTENT.items():
        assert "incoming.php" in lines[day.isoformat()] and hint in lines[day.isoformat()], lines[
            day.isoformat()
        ]
    kept = [d for d in PERSISTENT if part_path(data_dir, d).read_bytes() == before[d]]
    assert kept == list(PERSISTENT), f"previous files changed: {sorted(set(PERSISTENT) - set(kept))}"
    clean = [d for d in days if d not in PERSISTENT]
    landed = [d for d in clean if run_id_of(part_path(data_dir, d)) == result.run_id]
    assert landed == clean, f"did not land: {sorted(set(clean) - set(landed))}"
    retries = step_events(result.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
    assert len(retries) == 1
    requested = [p.get("date") for p in simulator.log[earlier_requests:]]  # windows carry from/to
    assert all(requested.count(d.isoformat()) == 1 for d in clean), "landed days were fetched again on retry"
    assert temp_files(data_dir) == []

    simulator.faults = None
    assert pipeline.materialize(min(PERSISTENT), max(PERSISTENT)).success
    for day in PERSISTENT:
        assert compare(part_path(data_dir, day), expected_rows(traffic, day)).exact
    summary.add("days failed for good", len(lines))
    summary.add("previous files kept byte for byte", len(kept))
    summary.add("faults injected", sum(simulator.stats.faults_injected.values()))
    summary.add("days landed beside them", len(landed))


@pytest.mark.slow
def test_a_passing_outage_heals_through_step_retries_without_a_person(
    pipeline,
    simulator: SimulatorServer,
    traffic: Traffic,
    data_dir: Path,
    monkeypatch,
    summary: SuiteSummary,
) -> None:
    start, end = date(2025, 2, 3), date(2025, 2, 6)
    days = day_range(start, end)
    pipeline = pipeline.with_settings(
        parallelism=1,  # requests in day order: the script is exact
        max_attempts=3,
        run_retries=2,
        run_retry_delay_seconds=0.1,
    )
    # Step attempt 1: every day exhausts its 3 attempts. Attempt 2: the first day gets error 6
    # twice in a row, an AuthenticationError by design (refresh the timestamp once, then fail).
    outage = [FaultKind.HTTP_503, FaultKind.RESET, FaultKind.HTML] * len(days)
    simulator.faults = FaultPlan(script=[*outage, FaultKind.STALE_TIMESTAMP, FaultKind.STALE_TIMESTAMP])

    result = pipeline.materialize(start, end)

    assert result.success
    # The step failed twice and was run again twice: the retry, not luck, healed the outage.
    retries = step_events(result.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
    restarts = step_events(result.run_id, DagsterEventType.STEP_RESTARTED)
    assert [e.step_retry_data.error is not None for e in retries] == [True, True]
    assert len(restarts) == 2
    requested = [p["date"] for p in simulator.log]
    # Day one: 3 + 2 + 1 requests; the others 3 + 1, never fetched again once landed.
    assert [requested.count(d.isoformat()) for d in days] == [6, 4, 4, 4]
    for day in days:
        outcome = compare(part_path(data_dir, day), expected_rows(traffic, day))
        assert outcome.exact, f"{day}: {outcome}"
        summary.add("messages compared", outcome.expected)
    summary.add("step retries", len(restarts))
    summary.add("faults injected", sum(simulator.stats.faults_injected.values()))
