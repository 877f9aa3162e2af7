"""The live pick-up: a sensor per account that asks LightSMS for what arrived since its last look
and, when something did, launches one run that re-fetches the day and rebuilds everything built
on it (docs/rules.md §10).

The run fetches the whole day, like the intraday and daily runs, rather than appending what the
sensor saw: the day's file is then always a full fetch of the day, exact by construction, and
the sensor needs no write path of its own. The sensor only decides (ingest/live.py holds the
decisions); a quiet tick costs one incoming.php request and no run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from lightsms_pipeline.api.client import LightSMSClient, RetryPolicy
from lightsms_pipeline.assets.schedules import range_run_request
from lightsms_pipeline.assets.scope import AssetScope
from lightsms_pipeline.contract import INCOMING, LIVE_JOB, LIVE_SENSOR, account_scoped
from lightsms_pipeline.ingest.live import LiveCursor, pick_up, window_to_ask
from lightsms_pipeline.resources import LightSMSResource
from lightsms_pipeline.settings import Settings

# A sensor tick must end within Dagster's 60 s; one look is worth little after a few seconds,
# since the next tick asks again (and overlaps this one's window).
LIVE_RETRY = RetryPolicy(
    attempts=3, backoff_initial=0.5, backoff_max=2.0, total_seconds=15.0, read_timeout=10.0
)
# Runs waiting for a pool leave Dagster's queue by priority (higher first): a live run goes
# before queued backfill runs, though never beside a running one (the pool's limit holds).
LIVE_RUN_PRIORITY = "10"
PRIORITY_TAG = "dagster/priority"
IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def live_names(account: str | None) -> tuple[str, str]:
    """(sensor, job) of an account, named like its schedules: `lightsms_live`, `acme_lightsms_live`."""
    if account is None:
        return LIVE_SENSOR, LIVE_JOB
    return account_scoped(LIVE_SENSOR, account), account_scoped(LIVE_JOB, account)


def build_live(settings: Settings, scope: AssetScope) -> tuple[list[SensorDefinition], list[Any]]:
    """The account's live sensor and the job it launches (an unresolved asset job, a type Dagster
    does not export); none when `live_interval_seconds` is 0."""
    if settings.live_interval_seconds == 0:
        return [], []
    sensor_name, job_name = live_names(scope.account)
    job = define_asset_job(
        job_name,
        # Everything built on incoming_messages, whatever is added later (replies, say).
        selection=AssetSelection.assets(scope.key(INCOMING)).downstream(),
        description=(
            "Launched by the live sensor when new messages arrived: today's partition (and yesterday's "
            "around midnight) re-fetched whole, and every dataset built on it."
        ),
        tags={PRIORITY_TAG: LIVE_RUN_PRIORITY},
    )
    tz = ZoneInfo(settings.timezone)

    @sensor(
        name=sensor_name,
        job=job,
        minimum_interval_seconds=settings.live_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
        required_resource_keys={scope.lightsms_key},
        description=(
            f"Every {settings.live_interval_seconds} s (LIGHTSMS_LIVE_INTERVAL_SECONDS): asks LightSMS "
            "for the messages since its last look (from/to, overlapping it) and launches one run of "
            f"{job_name} when one is new; nothing when none is, or while such a run is still going."
        ),
    )
    def live_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
        # The account's resource key differs per account, so it is read from the context.
        resource: LightSMSResource = getattr(context.resources, scope.lightsms_key)
        cursor = LiveCursor.from_text(context.cursor)
        with live_client(resource) as client:
            now = datetime.fromtimestamp(client.server_timestamp(), tz).replace(tzinfo=None)
            window = window_to_ask(cursor, now)
            raw = client.fetch_window(window)
        found = pick_up(cursor, window, raw.id_sms.to_pylist(), raw.date.to_pylist())
        if not found.new_ids:
            return SensorResult(skip_reason=f"nothing new in {window}", cursor=found.cursor.to_text())
        running = context.instance.get_runs_count(RunsFilter(job_name=job_name, statuses=IN_FLIGHT))
        if running:
            # The run in flight may have fetched the day before these arrived: keep the cursor,
            # so the next tick after it ends launches one run for all that came meanwhile.
            return SkipReason(f"{len(found.new_ids)} new, waiting for the live run in flight")
        request = range_run_request(found.days[0], found.days[-1], run_key=found.run_key)
        context.log.info(f"{len(found.new_ids)} new message(s) on {', '.join(map(str, found.days))}")
        return SensorResult(run_requests=[request], cursor=found.cursor.to_text())

    return [live_sensor], [job]


def live_client(resource: LightSMSResource) -> LightSMSClient:
    """The account's client with a retry budget that fits inside one sensor tick."""
    return LightSMSClient(
        resource.base_url,
        resource.login,
        resource.api_key,
        response_format=resource.response_format,  # type: ignore[arg-type]
        retry=LIVE_RETRY,
        pool_size=1,
        credential_names=(resource.login_source, resource.key_source),
    )
