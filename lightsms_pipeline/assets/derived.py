"""What the assets derived from `incoming_messages` share: their options and the per-day result.

They are all functions of the rules, so the rules' fingerprint is their code version (a rules
change marks them stale in the UI) and they follow their upstream eagerly.
"""

from collections.abc import Callable
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AutomationCondition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from lightsms_pipeline.assets.scope import SINGLE_ACCOUNT, AssetScope
from lightsms_pipeline.datasets.upstream import Written
from lightsms_pipeline.errors import LightSMSError
from lightsms_pipeline.presentation.previews import column_schema, table_preview
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.storage.parquet import Dataset

PREVIEW_ROWS = 5


def derived_options(rules: Rules, scope: AssetScope = SINGLE_ACCOUNT) -> dict[str, Any]:
    """`@asset` options of every asset computed under the rules, in the account's `scope`."""
    return {
        "group_name": scope.group,
        "code_version": rules.fingerprint()[:16],
        "automation_condition": AutomationCondition.eager(),
    }


def _daily_options(
    partitions_def: DailyPartitionsDefinition,
    backfill_policy: BackfillPolicy,
    rules: Rules,
    scope: AssetScope,
) -> dict[str, Any]:
    """`@asset` options of a daily derived dataset: one Parquet file per day, and its upstream's
    backfill policy, so that a backfill computes each day in the run that fetched it."""
    return {
        **derived_options(rules, scope),
        "partitions_def": partitions_def,
        "backfill_policy": backfill_policy,
        "kinds": {"parquet"},
    }


def _daily_result(
    context: AssetExecutionContext,
    store: Dataset,
    per_day: Callable[[date], Written],
    counted: str,
    label: str,
) -> MaterializeResult:
    """Run `per_day` over the run's days; rows per day in the metadata, a preview for one day."""
    days = [date.fromisoformat(k) for k in context.partition_keys]
    try:
        written = [(d, per_day(d)) for d in days]
    except LightSMSError as exc:
        # The message is the whole story (which day, which upstream); no stack trace needed.
        raise Failure(description=f"{label}: {exc}") from None
    rows = sum(w.table.num_rows for _, w in written)
    meta: dict[str, Any] = {
        "dagster/row_count": rows,
        "days": len(days),
        counted: sum(pc.sum(w.table[counted]).as_py() or 0 for _, w in written),
    }
    if len(written) == 1:
        ((_, only),) = written
        meta["path"] = MetadataValue.path(store.uri(only.paths[0]))
        meta["preview"] = table_preview(only.table, PREVIEW_ROWS)
    return MaterializeResult(metadata=meta)


def build_daily_dataset(
    *,
    name: str,
    upstream: str,
    description: str,
    schema: pa.Schema,
    compute_day: Callable[[Dataset, date], Written],
    counted: str,
    partitions_def: DailyPartitionsDefinition,
    backfill_policy: BackfillPolicy,
    rules: Rules,
    scope: AssetScope = SINGLE_ACCOUNT,
) -> AssetsDefinition:
    """A daily asset whose day is `compute_day` of the same day of `upstream`."""

    @asset(
        key=scope.key(name),
        deps=[scope.key(upstream)],
        description=description,
        metadata={"dagster/column_schema": column_schema(schema)},
        required_resource_keys=scope.resource_keys(),
        **_daily_options(partitions_def, backfill_policy, rules, scope),
    )
    def daily_dataset(context: AssetExecutionContext) -> MaterializeResult:
        store = scope.dataset(context).get_dataset()
        return _daily_result(context, store, lambda day: compute_day(store, day), counted, scope.label(name))

    return daily_dataset
