"""Several days in one request (`LIGHTSMS_DAYS_PER_REQUEST`): the same files as one request a
day, a span too large fetched day by day (a failed day inside a span: test_failed_day_keeps_file).

Over real HTTP against the simulator, with one huge day among small ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import API_KEY, FAST_RETRY, LOGIN
from reliability.partition_files import compare, expected_rows

from lightsms_pipeline.api.client import LightSMSClient
from lightsms_pipeline.api.responses import RawMessages
from lightsms_pipeline.contract import INCOMING
from lightsms_pipeline.ingest.engine import (
    DayResult,
    IngestOptions,
    _messages_by_day,
    day_spans,
    ingest_days,
)
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic
from lightsms_pipeline.storage.parquet import Dataset

DAYS = [date(2024, 10, 20) + timedelta(days=n) for n in range(16)]  # 10-20 .. 11-04
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


def options(days_per_request: int) -> IngestOptions:
    return IngestOptions(account=LOGIN, parallelism=4, run_id="run-1", days_per_request=days_per_request)


def same_days(expected: Sequence[DayResult], got: Sequence[DayResult]) -> None:
    """Assert that `got` wrote the days of `expected` alike: the same results, and files equal
    in schema and contents but the time each run fetched at."""
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


def spans_asked(server: SimulatorServer) -> list[tuple[str, str]]:
    """The (first day, last day) of every incoming.php request over more than one day."""
    return [
        (p["from"][:10], p["to"][:10]) for p in server.log if "from" in p and p["from"][:10] != p["to"][:10]
    ]


def test_days_are_cut_into_runs_of_consecutive_days_at_most_n_long() -> None:
    d = date(2025, 1, 1)
    days = [d, d + timedelta(1), d + timedelta(2), d + timedelta(3), d + timedelta(5), d + timedelta(6)]
    assert day_spans(days, 3) == [tuple(days[:3]), (days[3],), tuple(days[4:])]
    assert day_spans(days, 1) == [(day,) for day in days]
    assert day_spans([], 7) == []


def test_a_message_dated_outside_the_span_sends_the_span_back_to_one_request_a_day() -> None:
    ids = pa.array(["1", "2", "3"])
    dates = pa.array(["2025-01-01 10:00:00", "2025-01-02 23:59:59", "2025-01-03 00:00:00"])
    raw = RawMessages(ids, dates, pa.array(["a"] * 3), pa.array([None] * 3, pa.string()), ids, ids)
    first, second = date(2025, 1, 1), date(2025, 1, 2)
    assert _messages_by_day(raw, [first, second]) is None
    parts = _messages_by_day(raw, [first, second, date(2025, 1, 3)])
    assert parts is not None and [p.id_sms.to_pylist() for p in parts] == [["1"], ["2"], ["3"]]


def test_days_asked_in_spans_give_the_files_of_one_request_a_day(
    tmp_path: Path, server: SimulatorServer, client: LightSMSClient
) -> None:
    one_a_day = ingest_days(client, Dataset(tmp_path / "one"), DAYS, options(1))
    assert not spans_asked(server)
    server.stats.reset()

    spanned = ingest_days(client, Dataset(tmp_path / "spans"), DAYS, options(5))

    assert all(r.ok for r in spanned), [r.error for r in spanned if not r.ok]
    # 10-20..24 and 10-30..11-03 in one request each; 10-25..29 holds the huge day: refused at
    # once (no retry), then one request a day, and AUTUMN_DST in windows; 11-04 alone by `date`.
    assert sorted(spans_asked(server)) == [
        ("2024-10-20", "2024-10-24"),
        ("2024-10-25", "2024-10-29"),
        ("2024-10-30", "2024-11-03"),
    ]
    by_date = sorted({p["date"] for p in server.log if "date" in p})
    assert by_date == ["2024-10-25", "2024-10-26", "2024-10-27", "2024-10-28", "2024-10-29", "2024-11-04"]
    same_days(one_a_day, spanned)
    for result in spanned:
        assert compare(Path(result.path), expected_rows(server.traffic, result.day)).exact


def test_a_materialized_backfill_in_spans_writes_every_day_exactly(pipeline, data_dir, simulator) -> None:
    start = date(2025, 1, 1)
    days = [start + timedelta(days=n) for n in range(10)]
    simulator.stats.reset()

    result = pipeline.with_settings(days_per_request=7).materialize(days[0], days[-1])

    assert result.success
    assert sorted(spans_asked(simulator)) == [("2025-01-01", "2025-01-07"), ("2025-01-08", "2025-01-10")]
    assert simulator.stats.by_endpoint["incoming.php"] == 2
    for day in days:
        path = data_dir / INCOMING / f"date={day.isoformat()}" / "part-0.parquet"
        assert compare(path, expected_rows(simulator.traffic, day)).exact, day
