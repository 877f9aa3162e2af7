"""The retry promises of the README: full-jitter exponential backoff bounded by `backoff_max`, a
total time budget, `Retry-After` in both of its forms (seconds and HTTP date) and its cap.

The shape is checked as pure logic (`backoff_delay`, seeded); the rest against the simulator over
HTTP, where `Retry-After` headers and request times are real.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from conftest import API_KEY, JAN_15, LOGIN

from lightsms_pipeline.api.client import LightSMSClient, RetryPolicy, backoff_delay
from lightsms_pipeline.errors import UnavailableError
from lightsms_pipeline.simulator.faults import FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic

SHAPE = RetryPolicy(backoff_initial=0.1, backoff_max=1.0, max_retry_after=60.0)
# min(backoff_max, backoff_initial * 2^(n-1)) for attempts 1..8, written out.
CEILINGS = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
TOO_MANY = b"Too Many Requests\n"


def http_date(at: datetime) -> str:
    """RFC 9110's IMF-fixdate, e.g. `Wed, 21 Oct 2026 07:28:00 GMT`."""
    return format_datetime(at.astimezone(UTC), usegmt=True)


@pytest.mark.parametrize(("attempt", "ceiling"), list(enumerate(CEILINGS, start=1)))
def test_backoff_is_full_jitter_between_zero_and_a_doubling_ceiling(attempt: int, ceiling: float) -> None:
    rng = random.Random(attempt)
    delays = [backoff_delay(SHAPE, attempt, rng=rng) for _ in range(2000)]
    assert all(0.0 <= d <= ceiling for d in delays)
    # Full jitter spreads over the whole range, not only its upper half ("equal jitter").
    assert min(delays) < 0.05 * ceiling and max(delays) > 0.95 * ceiling
    assert 0.45 * ceiling < sum(delays) / len(delays) < 0.55 * ceiling


def test_retry_after_is_a_floor_for_the_wait_and_capped_at_max_retry_after() -> None:
    rng = random.Random(1)
    assert all(5.0 <= backoff_delay(SHAPE, 1, 5.0, rng) <= 5.0 + 1e-9 for _ in range(200))
    assert all(backoff_delay(SHAPE, 8, 0.0, rng) <= 1.0 for _ in range(200))
    assert backoff_delay(SHAPE, 1, 86_400.0, rng) == 60.0


@dataclass
class ArrivalPlan(FaultPlan):
    """A plan that also notes when each incoming.php request arrived."""

    arrivals: list[float] = field(default_factory=list)

    def choose(self, endpoint: str, date_param: str | None = None):  # type: ignore[no-untyped-def]
        if endpoint == "incoming.php":
            self.arrivals.append(time.monotonic())
        return super().choose(endpoint, date_param)


def test_over_http_the_waits_between_attempts_stay_under_the_doubling_ceiling(
    simulator: SimulatorServer,
) -> None:
    plan = ArrivalPlan(fail_dates={JAN_15.isoformat()})
    simulator.faults = plan
    policy = RetryPolicy(attempts=6, backoff_initial=0.2, backoff_max=0.4, total_seconds=60, read_timeout=5)
    with (
        LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=policy) as client,
        pytest.raises(UnavailableError, match="HTTP 503"),
    ):
        client.fetch_day(JAN_15)
    gaps = [b - a for a, b in zip(plan.arrivals, plan.arrivals[1:], strict=False)]
    assert len(plan.arrivals) == 6
    for gap, ceiling in zip(gaps, [0.2, 0.4, 0.4, 0.4, 0.4], strict=True):
        assert gap <= ceiling + 0.25, (gaps, ceiling)  # 0.25 s: one local request, on a busy machine


def test_the_time_budget_ends_a_request_that_keeps_failing(simulator: SimulatorServer) -> None:
    simulator.faults = FaultPlan(fail_dates={JAN_15.isoformat()})
    policy = RetryPolicy(
        attempts=1000, backoff_initial=0.05, backoff_max=0.1, total_seconds=1.0, read_timeout=5
    )
    started = time.monotonic()
    with (
        LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=policy) as client,
        pytest.raises(UnavailableError, match="1 s"),
    ):
        client.fetch_day(JAN_15)
    assert time.monotonic() - started < 1.0 + 0.5
    assert 5 < simulator.stats.by_endpoint["incoming.php"] < 1000


def test_a_retry_after_beyond_the_budget_gives_up_instead_of_sleeping(simulator: SimulatorServer) -> None:
    simulator.serve_body(TOO_MANY, day=JAN_15.isoformat(), status=429, headers=(("Retry-After", "30"),))
    policy = RetryPolicy(
        attempts=4, backoff_initial=0.01, backoff_max=0.05, total_seconds=2.0, read_timeout=5
    )
    started = time.monotonic()
    with (
        LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=policy) as client,
        pytest.raises(UnavailableError, match="HTTP 429"),
    ):
        client.fetch_day(JAN_15)
    assert time.monotonic() - started < 1.5  # not the 30 s asked for, nor the 2 s budget
    assert simulator.stats.by_endpoint["incoming.php"] == 1


def test_retry_after_http_date_is_honoured(simulator: SimulatorServer, traffic: Traffic) -> None:
    # The date has whole seconds: the wait it asks for is between 2 and 3 s from now.
    resume = datetime.fromtimestamp(int(time.time()) + 3, UTC)
    day = JAN_15.isoformat()
    simulator.serve_body(TOO_MANY, day=day, status=429, headers=(("Retry-After", http_date(resume)),))
    # The rate limit is over well before the date: only a client that waits until then retries
    # once; one that ignores the date retries at once and meets the 429 again.
    threading.Timer(1.0, simulator.serve_body, args=(None,), kwargs={"day": day}).start()
    policy = RetryPolicy(attempts=2, backoff_initial=0.01, backoff_max=0.05, total_seconds=30, read_timeout=5)
    started = time.monotonic()
    with LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=policy) as client:
        got = client.fetch_day(JAN_15)
    waited = time.monotonic() - started
    assert got.id_sms.to_pylist() == [m.id_sms for m in traffic.day(JAN_15)]
    assert 1.9 <= waited < 6.0
    assert simulator.stats.by_endpoint["incoming.php"] == 2


@pytest.mark.parametrize(
    "retry_after",
    ["86400", http_date(datetime.now(UTC) + timedelta(days=365))],
    ids=["a-day-in-seconds", "a-year-ahead-as-http-date"],
)
def test_a_huge_retry_after_is_capped_not_slept(simulator: SimulatorServer, retry_after: str) -> None:
    simulator.serve_body(
        TOO_MANY, day=JAN_15.isoformat(), status=429, headers=(("Retry-After", retry_after),)
    )
    policy = RetryPolicy(
        attempts=2,
        backoff_initial=0.01,
        backoff_max=0.05,
        total_seconds=30,
        read_timeout=5,
        max_retry_after=0.5,
    )
    started = time.monotonic()
    with (
        LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=policy) as client,
        pytest.raises(UnavailableError, match="HTTP 429"),
    ):
        client.fetch_day(JAN_15)
    waited = time.monotonic() - started
    assert simulator.stats.by_endpoint["incoming.php"] == 2  # it did retry, after the cap
    assert 0.45 <= waited < 3.0
