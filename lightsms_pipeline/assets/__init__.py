"""Dagster assets, grouped by domain: thin wrappers that read, call the core, write and report."""

from __future__ import annotations

from dagster import AssetsDefinition, BackfillPolicy, DailyPartitionsDefinition

from lightsms_pipeline.assets.classified import build_classified_messages
from lightsms_pipeline.assets.inbox import build_support_inbox
from lightsms_pipeline.assets.polls import build_poll_results
from lightsms_pipeline.assets.scope import SINGLE_ACCOUNT, AssetScope
from lightsms_pipeline.assets.subscriptions import build_opt_out_list
from lightsms_pipeline.rules.model import Rules


def build_downstream_assets(
    partitions_def: DailyPartitionsDefinition,
    backfill_policy: BackfillPolicy,
    rules: Rules,
    scope: AssetScope = SINGLE_ACCOUNT,
) -> list[AssetsDefinition]:
    """The assets built on `incoming_messages`: classification, support inbox, opt-out list, polls.
    The daily ones take `incoming_messages`'s `backfill_policy` (`daily_backfill_policy`)."""
    return [
        build_classified_messages(partitions_def, backfill_policy, rules, scope),
        build_support_inbox(partitions_def, backfill_policy, rules, scope),
        build_opt_out_list(rules, scope),
        build_poll_results(rules, scope),
    ]
