"""A day too large for one answer is fetched in `from`/`to` windows and lands exactly.

Over real HTTP: the simulator refuses answers listing more than `max_messages_per_answer`
messages (HTTP 504, as a gateway in front of a PHP script out of time or memory would), times
out on cue, or sends a body longer than the client's `LIGHTSMS_WINDOW_MAX_BYTES`; the files are
compared with the simulator's truth message for message, with messages on window boundaries
and on both DST days of 2024/2025.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import API_KEY, FAST_RETRY, LOGIN
from reliability.partition_files import compare, expected_rows, part_path

from lightsms_pipeline.api.client import LightSMSClient, WindowPolicy
from lightsms_pipeline.api.windows import Window, split
from lightsms_pipeline.errors import UnavailableError
from lightsms_pipeline.ingest.engine import IngestOptions, ingest_days
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic
from lightsms_pipeline.storage.parquet import Dataset

WINTER_DAY = date(2025, 1, 15)
AUTUMN_DST = date(2024, 10, 27)  # Vilnius: 04:00 EEST -> 03:00 EET, the hour 03:xx twice
SPRING_DST = date(2025, 3, 30)  # Vilnius: 03:00 EET -> 04:00 EEST, no hour 03:xx
DAYS = (WINTER_DAY, AUTUMN_DST, SPRING_DST)
MESSAGES = 3000
LIMIT = 200  # per answer: the busiest hours hold more, so they are cut again
SECOND = timedelta(seconds=1)


def windowed_traffic() -> Traffic:
    # Seed 5 puts messages at HH:59:59 and HH:00:00 on each of the three days.
    return Traffic(seed=5, per_day=60, day_volumes=dict.fromkeys(DAYS, MESSAGES))


def fetch_days(
    server: SimulatorServer, data_dir: Path, days: list[date], fmt: str = "json", **policy
) -> list:
    options = IngestOptions(account=LOGIN, parallelism=1)
    window = WindowPolicy(**policy)
    with LightSMSClient(
        server.base_url, LOGIN, API_KEY, response_format=fmt, retry=FAST_RETRY, window=window
    ) as client:
        return ingest_days(client, Dataset(data_dir), days, options)


def requested_windows(server: SimulatorServer) -> list[Window]:
    fmt = "%Y-%m-%d %H:%M:%S"
    return [
        Window(datetime.strptime(p["from"], fmt), datetime.strptime(p["to"], fmt))
        for p in server.log
        if "from" in p
    ]


def answered(traffic: Traffic, window: Window) -> bool:
    return len(traffic.window(window.start, window.end)) <= LIMIT


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("day", DAYS, ids=["winter", "autumn-dst", "spring-dst"])
def test_a_day_too_large_for_one_answer_lands_exactly_from_its_windows(
    tmp_path: Path, fmt: str, day: date
) -> None:
    traffic = windowed_traffic()
    truth = traffic.day(day)
    on_boundaries = [m for m in truth if m.date[14:] in ("59:59", "00:00")]
    assert len(truth) == MESSAGES and on_boundaries, "the day must hold messages on window boundaries"
    with SimulatorServer(traffic, login=LOGIN, api_key=API_KEY, max_messages_per_answer=LIMIT) as server:
        (result,) = fetch_days(server, tmp_path, [day], fmt)
        assert result.ok, result.error
        windows = requested_windows(server)
        day_requests = [p for p in server.log if "date" in p]
    comparison = compare(part_path(tmp_path, day), expected_rows(traffic, day))
    assert comparison.exact, comparison
    assert len(day_requests) == 3  # the whole day, refused 3 times (split_after_attempts), then windows
    # The windows that were answered tile the day's wall clock: no gap, no overlap, each second once.
    leaves = sorted(w for w in windows if answered(traffic, w))
    assert leaves[0].start == Window.whole_day(day).start and leaves[-1].end == Window.whole_day(day).end
    assert all(a.end + SECOND == b.start for a, b in itertools.pairwise(leaves))
    assert any(w.span < timedelta(hours=1) for w in leaves), "some hours were cut again"
    if day == AUTUMN_DST:  # both occurrences of 03:xx are in the file, each message once
        assert sum(m.date[11:13] == "03" for m in truth) > 0


def test_a_day_that_times_out_is_fetched_in_windows(tmp_path: Path) -> None:
    traffic = windowed_traffic()
    plan = FaultPlan(script=[FaultKind.SLOW] * 3, slow_seconds=1.0)
    with SimulatorServer(traffic, login=LOGIN, api_key=API_KEY, faults=plan) as server:
        options = IngestOptions(account=LOGIN, parallelism=1)
        retry = replace(FAST_RETRY, read_timeout=0.3)
        with LightSMSClient(server.base_url, LOGIN, API_KEY, retry=retry) as client:
            (result,) = ingest_days(client, Dataset(tmp_path), [WINTER_DAY], options)
        assert result.ok, result.error
        assert [p.get("date") for p in server.log[:3]] == [WINTER_DAY.isoformat()] * 3
        # Each hour once (a window that timed out under load is asked again: count distinct ones).
        assert sorted(set(requested_windows(server))) == split(Window.whole_day(WINTER_DAY))
    assert compare(part_path(tmp_path, WINTER_DAY), expected_rows(traffic, WINTER_DAY)).exact


def test_a_body_over_the_byte_limit_is_not_read_but_fetched_in_windows(tmp_path: Path) -> None:
    traffic = windowed_traffic()
    with SimulatorServer(traffic, login=LOGIN, api_key=API_KEY) as server:
        (result,) = fetch_days(server, tmp_path, [WINTER_DAY], max_bytes=30_000)
        assert result.ok, result.error
        assert len([p for p in server.log if "date" in p]) == 1  # cut at once, not retried
        assert len(requested_windows(server)) > 24
    assert compare(part_path(tmp_path, WINTER_DAY), expected_rows(traffic, WINTER_DAY)).exact


def test_a_second_too_large_to_answer_fails_the_day_naming_the_window(tmp_path: Path) -> None:
    traffic = Traffic(seed=5, per_day=60, day_volumes={WINTER_DAY: 1})
    (message,) = traffic.day(WINTER_DAY)
    with SimulatorServer(traffic, login=LOGIN, api_key=API_KEY, max_messages_per_answer=0) as server:
        (result,) = fetch_days(server, tmp_path, [WINTER_DAY])
    assert isinstance(result.error, UnavailableError)
    assert f"{message.date}..{message.date}" in str(result.error)
    assert "incoming.php" in str(result.error) and "HTTP 504" in str(result.error)
    assert not part_path(tmp_path, WINTER_DAY).exists()


def test_the_window_settings_reach_a_dagster_run(pipeline, data_dir, simulator) -> None:
    traffic = windowed_traffic()
    simulator.traffic = traffic
    pipeline.with_settings(window_max_bytes=30_000, window_split_after_attempts=1).materialize(WINTER_DAY)
    assert len(requested_windows(simulator)) > 24
    assert compare(part_path(data_dir, WINTER_DAY), expected_rows(traffic, WINTER_DAY)).exact


# --- the windows themselves (pure) -------------------------------------------------------------


@pytest.mark.parametrize("day", DAYS)
def test_a_day_is_cut_into_24_wall_clock_hours_whatever_its_dst_change(day: date) -> None:
    hours = split(Window.whole_day(day))
    assert [(w.start.hour, w.end.strftime("%M:%S")) for w in hours] == [(h, "59:59") for h in range(24)]
    assert all(w.start.date() == w.end.date() == day for w in hours)


def test_windows_are_cut_hours_then_ten_minutes_then_minutes_then_seconds() -> None:
    hour = split(Window.whole_day(WINTER_DAY))[3]
    ten = split(hour)
    minute = split(ten[0])
    second = split(minute[0])
    assert [len(ten), len(minute), len(second)] == [6, 10, 60]
    assert str(ten[-1]) == "2025-01-15 03:50:00..2025-01-15 03:59:59"
    assert split(second[0]) == []


def test_a_message_on_a_boundary_second_is_in_exactly_one_window() -> None:
    windows = split(Window.whole_day(WINTER_DAY))
    for moment in ("00:59:59", "01:00:00", "23:59:59", "00:00:00"):
        at = datetime.fromisoformat(f"{WINTER_DAY} {moment}")
        assert sum(w.start <= at <= w.end for w in windows) == 1
