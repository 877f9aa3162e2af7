"""The `classified_messages` asset: every incoming message of a day with its class."""

from dagster import AssetsDefinition, BackfillPolicy, DailyPartitionsDefinition

from lightsms_pipeline.assets.derived import build_daily_dataset
from lightsms_pipeline.assets.scope import SINGLE_ACCOUNT, AssetScope
from lightsms_pipeline.contract import CLASSIFIED, INCOMING
from lightsms_pipeline.datasets.classified import classify_day
from lightsms_pipeline.rules.classify import classified_schema
from lightsms_pipeline.rules.model import Rules


def build_classified_messages(
    partitions_def: DailyPartitionsDefinition,
    backfill_policy: BackfillPolicy,
    rules: Rules,
    scope: AssetScope = SINGLE_ACCOUNT,
) -> AssetsDefinition:
    return build_daily_dataset(
        name=CLASSIFIED,
        upstream=INCOMING,
        description=(
            "Every incoming message with its class (opt_out, poll_vote, opt_in, help, other), the "
            "matched keyword or poll option, how the keyword matched (keyword_match: exact or "
            "look_alike), the normalized text and the possible_opt_out flag "
            "(rules: LIGHTSMS_RULES_FILE)."
        ),
        schema=classified_schema(rules.timezone),
        compute_day=lambda store, day: classify_day(store, day, rules),
        counted="possible_opt_out",
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        rules=rules,
        scope=scope,
    )
