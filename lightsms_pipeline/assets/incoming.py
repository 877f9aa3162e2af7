"""The `incoming_messages` asset: a thin Dagster shell around `ingest.ingest_days`."""

import time
from datetime import date
from typing import Any

import pyarrow as pa
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetMaterialization,
    AssetObservation,
    AssetsDefinition,
    Backoff,
    DailyPartitionsDefinition,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)

from lightsms_pipeline.assets.partitions import daily_backfill_policy
from lightsms_pipeline.assets.scope import SINGLE_ACCOUNT, AssetScope
from lightsms_pipeline.contract import INCOMING
from lightsms_pipeline.ingest.engine import DayResult, IngestOptions, ingest_days
from lightsms_pipeline.normalize.schema import incoming_schema
from lightsms_pipeline.presentation.previews import column_schema, records_table, table_preview
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.storage.parquet import Dataset

CHECK_UNIQUE = "id_sms_unique"
CHECK_IN_DAY = "received_at_inside_partition_day"
CHECK_NOT_NULL = "required_columns_not_null"
MAX_LISTED = 20
# Dagster copies a run's metadata onto the materialization of every day of the run. Up to a
# month of days, each carries the run's `rows_per_day` table; a longer backfill's days carry a few
# numbers, and its whole table is written once, as one observation of the asset (a year's table
# on each of 365 materializations was ~11 KB and 2-6 ms of bookkeeping each).
MAX_DAYS_ON_EACH = 31
ROWS_PER_DAY_SCHEMA = pa.schema([("day", pa.date32()), ("rows", pa.int64()), ("senders", pa.int64())])

DESCRIPTION = """Incoming SMS of the LightSMS account, one Parquet file per provider-local day:
`<DATA_DIR>/incoming_messages/date=YYYY-MM-DD/part-0.parquet`.

Text is kept byte for byte; rows are sorted by (`received_at`, `id_sms`) and unique by `id_sms`.
A re-run replaces the day's file atomically; an empty day writes an empty file with the schema.
A backfill is one run (or one run per `LIGHTSMS_BACKFILL_RUN_DAYS` days) that fetches its days
concurrently (`LIGHTSMS_PARALLELISM`).
"""


def build_incoming_messages(
    settings: Settings,
    partitions_def: DailyPartitionsDefinition,
    region: str,
    scope: AssetScope = SINGLE_ACCOUNT,
) -> AssetsDefinition:
    schema = incoming_schema(settings.timezone)
    key = scope.key(INCOMING)

    @asset(
        key=key,
        group_name=scope.group,
        description=DESCRIPTION,
        partitions_def=partitions_def,
        backfill_policy=daily_backfill_policy(settings),
        pool=scope.pool,
        required_resource_keys=scope.resource_keys(lightsms=True),
        kinds={"parquet"},
        code_version="1",
        metadata={"dagster/column_schema": column_schema(schema), "layout": INCOMING + "/date=YYYY-MM-DD/"},
        # A transient outage heals without a person: Dagster re-runs the step after a delay, and
        # the days this run already wrote are not fetched again.
        retry_policy=RetryPolicy(
            max_retries=settings.run_retries,
            delay=settings.run_retry_delay_seconds,
            backoff=Backoff.EXPONENTIAL,
            jitter=Jitter.PLUS_MINUS,
        )
        if settings.run_retries
        else None,
        check_specs=[
            AssetCheckSpec(CHECK_UNIQUE, asset=key, description="No id_sms appears twice in a day."),
            AssetCheckSpec(
                CHECK_IN_DAY,
                asset=key,
                description="Every received_at falls inside the partition's provider-local day.",
            ),
            AssetCheckSpec(
                CHECK_NOT_NULL,
                asset=key,
                description="id_sms, received_at, sender, text, account and fetched_at are never null.",
            ),
        ],
    )
    def incoming_messages(context: AssetExecutionContext) -> MaterializeResult:
        days = [date.fromisoformat(k) for k in context.partition_keys]
        lightsms = scope.lightsms(context)
        client = lightsms.get_client()
        store = scope.dataset(context).get_dataset()
        options = IngestOptions(
            account=lightsms.login,
            timezone=settings.timezone,
            region=region,
            parallelism=settings.parallelism,
            sender_hash_salt=settings.salt,
            run_id=context.run.run_id,
            resume=context.retry_number > 0,
            days_per_request=settings.days_per_request,
        )
        before = client.stats.snapshot()
        started = time.monotonic()
        results = ingest_days(client, store, days, options)
        fetch = client.stats.since(before)
        failed = [r for r in results if not r.ok]
        landed = [r for r in results if r.ok]
        stats_md = {
            "requests": fetch.requests,
            "retries": fetch.retries,
            "timestamp_calls": fetch.timestamp_calls,
            "seconds": round(time.monotonic() - started, 3),
        }
        if failed:
            # Dagster can't mark part of a single run as done, so the days that did land are
            # reported one by one before the run fails naming the others.
            for r in landed:
                context.log_event(
                    AssetMaterialization(
                        asset_key=key,
                        partition=r.day.isoformat(),
                        metadata={
                            "dagster/row_count": r.rows,
                            "path": MetadataValue.path(store.uri(store.partition_path(INCOMING, r.day))),
                        },
                    )
                )
            lines = [f"{r.day}: {r.error}" for r in failed]
            raise Failure(
                description=(
                    f"{scope.label(INCOMING)}: {len(failed)} of {len(days)} days failed and kept their "
                    f"previous files; {len(landed)} landed.\n" + "\n".join(lines[:MAX_LISTED])
                ),
                metadata={"failed_days": ", ".join(str(r.day) for r in failed), **stats_md},
                allow_retries=True,
            )
        if len(results) > MAX_DAYS_ON_EACH:
            context.log_event(
                AssetObservation(
                    asset_key=key,
                    description=f"rows and distinct senders of each of the run's {len(results)} days",
                    metadata={"rows_per_day": _rows_per_day(results)},
                )
            )
        return MaterializeResult(
            metadata=_metadata(results, store, stats_md, schema),
            check_results=_check_results(results),
        )

    return incoming_messages


def _metadata(
    results: list[DayResult], store: Dataset, stats: dict[str, float], schema: pa.Schema
) -> dict[str, Any]:
    rows = sum(r.rows for r in results)
    meta: dict[str, Any] = {
        "dagster/row_count": rows,
        "days": len(results),
        "distinct_senders_max_per_day": max((r.distinct_senders for r in results), default=0),
        **{f"fetch_{k}": v for k, v in stats.items()},
    }
    if len(results) == 1:
        only = results[0]
        meta["dagster/column_schema"] = column_schema(schema)
        meta["distinct_senders"] = only.distinct_senders
        meta["path"] = MetadataValue.path(store.uri(store.partition_path(INCOMING, only.day)))
        meta["preview"] = table_preview(store.read_partition(INCOMING, only.day), 5)
        return meta
    meta["path"] = MetadataValue.path(store.uri(store.asset_dir(INCOMING)))
    if len(results) <= MAX_DAYS_ON_EACH:
        meta["dagster/column_schema"] = column_schema(schema)
        meta["rows_per_day"] = _rows_per_day(results)
    else:  # the schema is the asset's own metadata; the table is the run's one observation
        per_day = sorted(r.rows for r in results)
        meta["rows_per_day_min_median_max"] = (
            f"{per_day[0]:,} / {per_day[len(per_day) // 2]:,} / {per_day[-1]:,}"
        )
        meta["rows_per_day"] = MetadataValue.text("in this run's observation of incoming_messages")
    return meta


def _rows_per_day(results: list[DayResult]) -> Any:
    return records_table(
        [{"day": r.day, "rows": r.rows, "senders": r.distinct_senders} for r in results],
        ROWS_PER_DAY_SCHEMA,
    )


def _check_results(results: list[DayResult]) -> list[AssetCheckResult]:
    def result(name: str, offenders: list[tuple[date, tuple[str, ...]]], what: str) -> AssetCheckResult:
        bad = [(d, ids) for d, ids in offenders if ids]
        listed = "; ".join(f"{d}: {', '.join(ids[:MAX_LISTED])}" for d, ids in bad[:MAX_LISTED])
        return AssetCheckResult(
            check_name=name,
            passed=not bad,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "days_checked": len(results),
                "offending_days": len(bad),
                "offending_rows": sum(len(ids) for _, ids in bad),
                what: listed or "none",
            },
        )

    return [
        result(CHECK_UNIQUE, [(r.day, r.findings.duplicate_ids) for r in results], "duplicate_id_sms"),
        result(CHECK_IN_DAY, [(r.day, r.findings.outside_day_ids) for r in results], "id_sms_outside_day"),
        result(CHECK_NOT_NULL, [(r.day, r.findings.null_columns) for r in results], "null_columns"),
    ]
