"""The `opt_out_list` asset: who is opted out now, over all days, as Parquet and CSV."""

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue, asset

from lightsms_pipeline.assets.derived import derived_options
from lightsms_pipeline.assets.scope import SINGLE_ACCOUNT, AssetScope
from lightsms_pipeline.contract import CLASSIFIED, OPT_OUT_LIST
from lightsms_pipeline.datasets.subscriptions import write_opt_out_list_read
from lightsms_pipeline.presentation.previews import column_schema, table_preview
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.rules.subscriptions import opt_out_schema

PREVIEW_ROWS = 10


def build_opt_out_list(rules: Rules, scope: AssetScope = SINGLE_ACCOUNT) -> AssetsDefinition:
    @asset(
        key=scope.key(OPT_OUT_LIST),
        deps=[scope.key(CLASSIFIED)],
        required_resource_keys=scope.resource_keys(),
        kinds={"parquet", "csv"},
        description=(
            "Subscribers whose latest opt-out/opt-in event is an opt-out, over all days, with the "
            "evidence (time, id_sms, keyword, text, receiving phone and prefix). Also written as a "
            "CSV safe to open in a spreadsheet."
        ),
        metadata={"dagster/column_schema": column_schema(opt_out_schema(rules.timezone), OPT_OUT_LIST)},
        **derived_options(rules, scope),
    )
    def opt_out_list(context: AssetExecutionContext) -> MaterializeResult:
        store = scope.dataset(context).get_dataset()
        written, history = write_opt_out_list_read(store, rules)
        return MaterializeResult(
            metadata={
                "dagster/row_count": written.table.num_rows,
                "opted_out": written.table.num_rows,
                "scope": rules.scope,
                "path": MetadataValue.path(store.uri(written.paths[0])),
                "csv": MetadataValue.path(store.uri(written.paths[1])),
                "preview": table_preview(written.table, PREVIEW_ROWS),
                **history.metadata(),
            }
        )

    return opt_out_list
