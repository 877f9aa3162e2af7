"""The schedules ask for the right partition keys, as one run each, in the provider's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dagster import build_schedule_context

from lightsms_pipeline.assets.schedules import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.settings import Settings

VILNIUS = ZoneInfo("Europe/Vilnius")


def run_request(name: str, when: datetime, **overrides: str):
    defs = build_definitions(Settings.validated(overrides))
    schedule = defs.get_schedule_def(name)
    (request,) = list(
        schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=when)).run_requests
    )
    return schedule, request


def requested_range(request) -> tuple[str, str]:
    return request.tags[PARTITION_RANGE_START_TAG], request.tags[PARTITION_RANGE_END_TAG]


def test_daily_schedule_asks_for_yesterday_and_two_lookback_days():
    schedule, request = run_request("lightsms_daily", datetime(2025, 3, 10, 0, 15, tzinfo=VILNIUS))
    assert requested_range(request) == ("2025-03-07", "2025-03-09")
    assert schedule.execution_timezone == "Europe/Vilnius"
    assert schedule.cron_schedule == "15 0 * * *"


def test_daily_lookback_is_configurable():
    _, request = run_request(
        "lightsms_daily", datetime(2025, 3, 10, 0, 15, tzinfo=VILNIUS), lookback_days="0"
    )
    assert requested_range(request) == ("2025-03-09", "2025-03-09")


def test_daily_lookback_never_reaches_before_the_first_partition():
    _, request = run_request(
        "lightsms_daily", datetime(2025, 1, 2, 0, 15, tzinfo=VILNIUS), start_date="2025-01-01"
    )
    assert requested_range(request) == ("2025-01-01", "2025-01-01")


def test_daily_uses_the_provider_day_not_utc():
    # 00:15 in Vilnius on 10 March is still 9 March in UTC: the provider's calendar decides.
    when = datetime(2025, 3, 10, 0, 15, tzinfo=VILNIUS).astimezone(ZoneInfo("UTC"))
    _, request = run_request("lightsms_daily", when)
    assert requested_range(request)[1] == "2025-03-09"


def test_intraday_refreshes_todays_partition_hourly():
    schedule, request = run_request("lightsms_intraday", datetime(2025, 3, 10, 14, 0, tzinfo=VILNIUS))
    assert requested_range(request) == ("2025-03-10", "2025-03-10")
    assert schedule.cron_schedule == "0 * * * *"


def test_intraday_cron_is_configurable():
    schedule, _ = run_request(
        "lightsms_intraday", datetime(2025, 3, 10, 14, 0, tzinfo=VILNIUS), intraday_cron="*/15 * * * *"
    )
    assert schedule.cron_schedule == "*/15 * * * *"


def test_each_tick_gets_its_own_run_key():
    _, a = run_request("lightsms_intraday", datetime(2025, 3, 10, 14, 0, tzinfo=VILNIUS))
    _, b = run_request("lightsms_intraday", datetime(2025, 3, 10, 15, 0, tzinfo=VILNIUS))
    assert a.run_key != b.run_key
