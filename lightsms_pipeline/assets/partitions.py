"""The daily partitions, in the provider's time zone, today's still-filling day included, and how
a backfill over them is cut into runs (`LIGHTSMS_BACKFILL_RUN_DAYS`)."""

from __future__ import annotations

from dagster import BackfillPolicy, DailyPartitionsDefinition

from lightsms_pipeline.settings import Settings


def daily_partitions(settings: Settings) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(start_date=settings.start_date, timezone=settings.timezone, end_offset=1)


def daily_backfill_policy(settings: Settings) -> BackfillPolicy:
    """One run per backfill (0, the default), or one run per `backfill_run_days` days, which a
    run launcher (Kubernetes, Docker, ECS) can put on as many machines (docs/deploying.md, "Scaling out").

    Every daily asset must carry this same policy: Dagster runs a child's days in its parent's
    run only when both policies are equal, so `classified_messages` and `support_inbox` of days
    D..D+N ride in the run that fetched them instead of waiting for runs of their own. The
    whole-history assets have no partitions and no policy: a backfill builds them once, after
    every daily run of it has landed."""
    if settings.backfill_run_days:
        return BackfillPolicy.multi_run(max_partitions_per_run=settings.backfill_run_days)
    return BackfillPolicy.single_run()
