"""The `support_inbox` asset: the messages that need a person, day by day."""

from dagster import AssetsDefinition, BackfillPolicy, DailyPartitionsDefinition

from lightsms_pipeline.assets.derived import build_daily_dataset
from lightsms_pipeline.assets.scope import SINGLE_ACCOUNT, AssetScope
from lightsms_pipeline.contract import CLASSIFIED, SUPPORT_INBOX
from lightsms_pipeline.datasets.inbox import support_inbox_day
from lightsms_pipeline.rules.inbox import support_inbox_schema
from lightsms_pipeline.rules.model import Rules


def build_support_inbox(
    partitions_def: DailyPartitionsDefinition,
    backfill_policy: BackfillPolicy,
    rules: Rules,
    scope: AssetScope = SINGLE_ACCOUNT,
) -> AssetsDefinition:
    return build_daily_dataset(
        name=SUPPORT_INBOX,
        upstream=CLASSIFIED,
        description=(
            "Messages that need a person (class other), one row each, with the possible_opt_out flag "
            "for free-text revocations such as 'please stop texting me'."
        ),
        schema=support_inbox_schema(rules.timezone),
        compute_day=support_inbox_day,
        counted="possible_opt_out",
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        rules=rules,
        scope=scope,
    )
