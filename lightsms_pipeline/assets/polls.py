"""The `poll_results` asset: votes per poll and option over all days, with a chart."""

import base64
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue, asset

from lightsms_pipeline.assets.derived import derived_options
from lightsms_pipeline.assets.scope import SINGLE_ACCOUNT, AssetScope
from lightsms_pipeline.contract import CLASSIFIED, POLL_RESULTS
from lightsms_pipeline.datasets.polls import write_poll_results_read
from lightsms_pipeline.presentation.chart import CHART_NOT_DRAWN
from lightsms_pipeline.presentation.previews import column_schema, table_preview
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.rules.polls import POLL_RESULTS_SCHEMA


def build_poll_results(rules: Rules, scope: AssetScope = SINGLE_ACCOUNT) -> AssetsDefinition:
    @asset(
        key=scope.key(POLL_RESULTS),
        deps=[scope.key(CLASSIFIED)],
        required_resource_keys=scope.resource_keys(),
        kinds={"parquet"},
        description=(
            "Votes per poll and option (one vote per subscriber), with voters, superseded and invalid."
        ),
        metadata={"dagster/column_schema": column_schema(POLL_RESULTS_SCHEMA)},
        **derived_options(rules, scope),
    )
    def poll_results(context: AssetExecutionContext) -> MaterializeResult:
        store = scope.dataset(context).get_dataset()
        written, png, history = write_poll_results_read(store, rules)
        meta: dict[str, Any] = {
            "dagster/row_count": written.table.num_rows,
            "polls": len(rules.polls),
            "path": MetadataValue.path(store.uri(written.paths[0])),
            "results": table_preview(written.table, written.table.num_rows),
            **history.metadata(),
        }
        if png is not None:
            # A picture: markdown with an inline PNG is how the UI shows one.
            meta["chart"] = MetadataValue.md(
                f"![poll results](data:image/png;base64,{base64.b64encode(png).decode()})"
            )
            meta["chart_path"] = MetadataValue.path(store.uri(written.paths[1]))
        elif rules.polls:
            meta["chart"] = MetadataValue.text(CHART_NOT_DRAWN)
            context.log.warning(f"poll chart {CHART_NOT_DRAWN}")
        return MaterializeResult(metadata=meta)

    return poll_results
