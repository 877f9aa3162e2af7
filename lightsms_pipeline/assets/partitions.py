"""The daily partitions, in the provider's time zone, today's still-filling day included."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition

from lightsms_pipeline.settings import Settings


def daily_partitions(settings: Settings) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(start_date=settings.start_date, timezone=settings.timezone, end_offset=1)
