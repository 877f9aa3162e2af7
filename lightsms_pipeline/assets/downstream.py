"""The assets built on `incoming_messages`: classification, support inbox, opt-out list, polls."""

import base64
from collections.abc import Callable
from datetime import date
from typing import Any

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

from lightsms_pipeline.contract import GROUP, OPT_OUT_LIST, POLL_RESULTS
from lightsms_pipeline.errors import LightSMSError
from lightsms_pipeline.presentation.previews import column_schema, markdown_preview, results_markdown
from lightsms_pipeline.resources import ParquetDatasetResource
from lightsms_pipeline.rollups import (
    CLASSIFIED,
    INCOMING,
    SUPPORT_INBOX,
    Written,
    classify_day,
    support_inbox_day,
    write_opt_out_list,
    write_poll_results,
)
from lightsms_pipeline.rules.classify import classified_schema
from lightsms_pipeline.rules.inbox import support_inbox_schema
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.rules.subscriptions import opt_out_schema
from lightsms_pipeline.storage import Dataset


def _daily_result(
    context: AssetExecutionContext, store: Dataset, per_day: Callable[[date], Written], counted: str | None
) -> MaterializeResult:
    """Run `per_day` over the run's days; rows per day in the metadata, a preview for one day."""
    days = [date.fromisoformat(k) for k in context.partition_keys]
    try:
        written = [(d, per_day(d)) for d in days]
    except LightSMSError as exc:
        # The message is the whole story (which day, which upstream); no stack trace needed.
        raise Failure(description=f"{context.asset_key.to_user_string()}: {exc}") from None
    rows = sum(w.table.num_rows for _, w in written)
    meta: dict[str, Any] = {"dagster/row_count": rows, "days": len(days)}
    if counted:
        meta[counted] = sum(pc.sum(w.table[counted]).as_py() or 0 for _, w in written)
    if len(written) == 1:
        ((_, only),) = written
        meta["path"] = MetadataValue.path(store.uri(only.paths[0]))
        meta["preview"] = MetadataValue.md(markdown_preview(only.table, 5))
    return MaterializeResult(metadata=meta)


def build_downstream_assets(
    partitions_def: DailyPartitionsDefinition, rules: Rules
) -> list[AssetsDefinition]:
    tz = rules.timezone
    version = rules.fingerprint()[:16]  # a rules change marks these assets stale in the UI
    daily: dict[str, Any] = {
        "partitions_def": partitions_def,
        "backfill_policy": BackfillPolicy.single_run(),
        "group_name": GROUP,
        "kinds": {"parquet"},
        "code_version": version,
        "automation_condition": AutomationCondition.eager(),
    }

    @asset(
        name=CLASSIFIED,
        deps=[INCOMING],
        description=(
            "Every incoming message with its class (opt_out, poll_vote, opt_in, help, other), the "
            "matched keyword or poll option, the normalized text and the possible_opt_out flag "
            "(rules: LIGHTSMS_RULES_FILE)."
        ),
        metadata={"dagster/column_schema": column_schema(classified_schema(tz))},
        **daily,
    )
    def classified_messages(
        context: AssetExecutionContext, dataset: ParquetDatasetResource
    ) -> MaterializeResult:
        store = dataset.get_dataset()
        return _daily_result(context, store, lambda d: classify_day(store, d, rules), "possible_opt_out")

    @asset(
        name=SUPPORT_INBOX,
        deps=[CLASSIFIED],
        description=(
            "Messages that need a person (class other), one row each, with the possible_opt_out flag "
            "for free-text revocations such as 'please stop texting me'."
        ),
        metadata={"dagster/column_schema": column_schema(support_inbox_schema(tz))},
        **daily,
    )
    def support_inbox(context: AssetExecutionContext, dataset: ParquetDatasetResource) -> MaterializeResult:
        store = dataset.get_dataset()
        return _daily_result(context, store, lambda d: support_inbox_day(store, d), "possible_opt_out")

    @asset(
        name=OPT_OUT_LIST,
        deps=[CLASSIFIED],
        group_name=GROUP,
        kinds={"parquet", "csv"},
        code_version=version,
        automation_condition=AutomationCondition.eager(),
        description=(
            "Subscribers whose latest opt-out/opt-in event is an opt-out, over all days, with the "
            "evidence (time, id_sms, keyword, text, receiving phone and prefix). Also written as a "
            "CSV safe to open in a spreadsheet."
        ),
        metadata={"dagster/column_schema": column_schema(opt_out_schema(tz))},
    )
    def opt_out_list(dataset: ParquetDatasetResource) -> MaterializeResult:
        store = dataset.get_dataset()
        written = write_opt_out_list(store, rules)
        return MaterializeResult(
            metadata={
                "dagster/row_count": written.table.num_rows,
                "opted_out": written.table.num_rows,
                "scope": rules.scope,
                "path": MetadataValue.path(store.uri(written.paths[0])),
                "csv": MetadataValue.path(store.uri(written.paths[1])),
                "preview": MetadataValue.md(markdown_preview(written.table, 10)),
            }
        )

    @asset(
        name=POLL_RESULTS,
        deps=[CLASSIFIED],
        group_name=GROUP,
        kinds={"parquet"},
        code_version=version,
        automation_condition=AutomationCondition.eager(),
        description=(
            "Votes per poll and option (one vote per subscriber), with voters, superseded and invalid."
        ),
    )
    def poll_results(dataset: ParquetDatasetResource) -> MaterializeResult:
        store = dataset.get_dataset()
        written, png = write_poll_results(store, rules)
        meta: dict[str, Any] = {
            "dagster/row_count": written.table.num_rows,
            "polls": len(rules.polls),
            "path": MetadataValue.path(store.uri(written.paths[0])),
            "results": MetadataValue.md(results_markdown(written.table)),
        }
        if png is not None:
            meta["chart"] = MetadataValue.md(
                f"![poll results](data:image/png;base64,{base64.b64encode(png).decode()})"
            )
            meta["chart_path"] = MetadataValue.path(store.uri(written.paths[1]))
        return MaterializeResult(metadata=meta)

    return [classified_messages, support_inbox, opt_out_list, poll_results]
