"""A long backfill through ~20% mixed faults lands every message exactly once, in the right day."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance
from pipeline import Pipeline

from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic
from reliability.conftest import SuiteSummary
from reliability.partition_files import compare, day_range, expected_rows, part_path, temp_files

SUITE = "reliability/faults"
PER_DAY = 200
# About one request in five fails, in every way a LightSMS call can fail (rates add up to 0.2).
MIXED_FAULTS = {
    FaultKind.HTTP_500: 0.03,
    FaultKind.HTTP_503: 0.02,
    FaultKind.RESET: 0.03,
    FaultKind.SLOW: 0.02,
    FaultKind.TRUNCATED: 0.03,
    FaultKind.HTML: 0.03,
    FaultKind.STALE_TIMESTAMP: 0.02,
    FaultKind.RATE_LIMIT: 0.02,
}


@pytest.fixture
def traffic() -> Traffic:
    return Traffic(seed=11, per_day=PER_DAY, missing_phone_rate=0.05)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("response_format", "start", "end"),
    [("json", date(2024, 10, 1), date(2024, 11, 29)), ("xml", date(2025, 3, 15), date(2025, 4, 3))],
    ids=["json-60-days-over-dst", "xml-20-days-over-dst"],
)
def test_backfill_through_mixed_faults_equals_ground_truth_message_for_message(
    pipeline: Pipeline,
    simulator: SimulatorServer,
    traffic: Traffic,
    data_dir,
    monkeypatch: pytest.MonkeyPatch,
    summary: SuiteSummary,
    response_format: str,
    start: date,
    end: date,
) -> None:
    assert abs(sum(MIXED_FAULTS.values()) - 0.2) < 1e-9
    pipeline = pipeline.with_settings(
        response_format=response_format,
        parallelism=6,
        timeout_seconds=0.5,  # below slow_seconds: a slow answer times out
        # 0.2 ** 8: a day exhausting its attempts is a one-in-millions event; the step retry covers
        # it, and the rare double error 6 (an AuthenticationError by design, see the API notes).
        max_attempts=8,
        run_retries=1,
        run_retry_delay_seconds=0.2,
    )
    simulator.faults = FaultPlan(
        rates=MIXED_FAULTS,
        # Every kind at least once, each followed by a clean answer (the first requests are
        # timestamp.php's, eight faults in a row would exhaust it), then the seeded mix.
        script=[step for kind in FaultKind for step in (kind, None)],
        slow_seconds=1.0,
        retry_after_seconds=1,  # 429 answers really make the client wait a second
        seed=2025,
        faults_on_timestamp=True,
    )
    days = day_range(start, end)

    result = pipeline.materialize(start, end)

    assert result.success
    stats = simulator.stats
    assert set(stats.faults_injected) == set(FaultKind), "every kind of fault was exercised"
    with DagsterInstance.get() as instance:
        landed = instance.get_materialized_partitions(AssetKey("incoming_messages"))
        events = [r.dagster_event for r in instance.all_logs(result.run_id) if r.dagster_event]
    assert landed == {d.isoformat() for d in days}
    compared = lost = duplicated = unexpected = 0
    for day in days:
        outcome = compare(part_path(data_dir, day), expected_rows(traffic, day))
        assert outcome.exact, f"{day}: {outcome}"
        compared += outcome.expected
        lost += outcome.lost
        duplicated += outcome.duplicated
        unexpected += outcome.unexpected
    assert compared > PER_DAY * len(days) * 0.8
    all_ids = pq.read_table(data_dir / "incoming_messages", columns=["id_sms"])["id_sms"].to_pylist()
    assert len(all_ids) == len(set(all_ids)) == compared, "an id twice across the dataset"
    assert temp_files(data_dir) == []

    summary.add("days", len(days))
    summary.add("requests", stats.requests)
    summary.add("faults injected", sum(stats.faults_injected.values()))
    summary.add("step retries", sum(e.event_type == DagsterEventType.STEP_UP_FOR_RETRY for e in events))
    summary.add("messages compared", compared)
    summary.add("lost", lost)
    summary.add("duplicated", duplicated)
    summary.add("unexpected", unexpected)
