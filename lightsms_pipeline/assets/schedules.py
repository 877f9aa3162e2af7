"""Schedules: yesterday plus a look-back after midnight, and today's partition through the day."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dagster import (
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from lightsms_pipeline.contract import DAILY_SCHEDULE, INTRADAY_SCHEDULE, account_scoped
from lightsms_pipeline.settings import Settings

# Dagster's documented run tags for a single-run backfill over a partition range (the UI's
# "Materialize" of a range sets the same ones). tests/test_definitions.py pins that a run launched
# with them materializes exactly the range, so a rename in Dagster fails loudly.
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def daily_window(now: datetime, timezone: str, lookback_days: int, first_day: date) -> tuple[date, date]:
    """Yesterday and the `lookback_days` before it, for messages that reach the provider late."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    end = today - timedelta(days=1)
    start = max(first_day, end - timedelta(days=lookback_days))
    return start, end


def intraday_day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def range_run_request(start: date, end: date, run_key: str) -> RunRequest:
    """One run over the whole range (the asset's single-run backfill policy reads it as such)."""
    return RunRequest(
        run_key=run_key,
        tags={
            PARTITION_RANGE_START_TAG: start.isoformat(),
            PARTITION_RANGE_END_TAG: end.isoformat(),
        },
    )


def build_schedules(
    settings: Settings, job_name: str, *, account: str | None = None
) -> list[ScheduleDefinition]:
    """The daily and intraday schedules of `job_name`, in `settings.timezone`; an `account`'s
    are named after it (`acme_lightsms_daily`), the single account's as they always were."""
    first_day = date.fromisoformat(settings.start_date)

    def named(base: str) -> str:
        return base if account is None else account_scoped(base, account)

    @schedule(
        name=named(DAILY_SCHEDULE),
        job_name=job_name,
        cron_schedule=settings.daily_cron,
        execution_timezone=settings.timezone,
        description=(
            f"Shortly after midnight: yesterday plus {settings.lookback_days} look-back days re-fetched "
            "for late messages, then the downstream datasets."
        ),
    )
    def lightsms_daily(context: ScheduleEvaluationContext) -> RunRequest:
        now = context.scheduled_execution_time or datetime.now(ZoneInfo(settings.timezone))
        start, end = daily_window(now, settings.timezone, settings.lookback_days, first_day)
        return range_run_request(start, end, run_key=f"daily-{end}")

    @schedule(
        name=named(INTRADAY_SCHEDULE),
        job_name=job_name,
        cron_schedule=settings.intraday_cron,
        execution_timezone=settings.timezone,
        description="Today's still-filling partition, so opt-outs are seen within the hour.",
    )
    def lightsms_intraday(context: ScheduleEvaluationContext) -> RunRequest:
        now = context.scheduled_execution_time or datetime.now(ZoneInfo(settings.timezone))
        today = intraday_day(now, settings.timezone)
        return range_run_request(today, today, run_key=f"intraday-{now.isoformat(timespec='minutes')}")

    return [lightsms_daily, lightsms_intraday]
