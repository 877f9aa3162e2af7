"""A simulator with one huge day among small ones, and a client of it: what the worker-process and
day-span suites both run against."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import API_KEY, FAST_RETRY, LOGIN

from lightsms_pipeline.api.client import LightSMSClient
from lightsms_pipeline.ingest.engine import DayResult
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic

AUTUMN_DST = date(2024, 10, 27)  # Vilnius: the hour 03:xx twice
LIMIT = 200  # messages per answer: AUTUMN_DST is too large for one and comes in windows


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    # Seed 5 puts messages on the windows' HH:59:59 / HH:00:00 boundaries, and at midnight.
    traffic = Traffic(seed=5, per_day=30, day_volumes={AUTUMN_DST: 1500})
    with SimulatorServer(traffic, login=LOGIN, api_key=API_KEY, max_messages_per_answer=LIMIT) as sim:
        yield sim


@pytest.fixture
def client(server: SimulatorServer) -> Iterator[LightSMSClient]:
    with LightSMSClient(server.base_url, LOGIN, API_KEY, retry=FAST_RETRY, pool_size=4) as c:
        yield c


def same_days(expected: Sequence[DayResult], got: Sequence[DayResult]) -> list[pa.Table]:
    """Assert that `got` wrote the days of `expected` alike: the same results, and files equal
    in schema and contents but the time each run fetched at. Returns `got`'s tables."""
    tables = []
    for a, b in zip(expected, got, strict=True):
        assert (a.day, a.rows, a.distinct_senders, a.findings) == (
            b.day,
            b.rows,
            b.distinct_senders,
            b.findings,
        )
        mine, theirs = pq.read_table(a.path), pq.read_table(b.path)
        assert theirs.schema == mine.schema
        assert theirs.drop_columns(["fetched_at"]).equals(mine.drop_columns(["fetched_at"]))
        tables.append(theirs)
    return tables
