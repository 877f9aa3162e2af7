"""The Dagster code location: wiring only (`dagster dev -w workspace.yaml` loads `defs`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetSelection, Definitions, EnvVar, define_asset_job, in_process_executor

from lightsms_pipeline.assets import build_downstream_assets
from lightsms_pipeline.assets.incoming import build_incoming_messages
from lightsms_pipeline.assets.stop_list import build_stop_list_sync, opt_out_freshness
from lightsms_pipeline.contract import INCOMING, MAIN_JOB, OPT_OUT_LIST
from lightsms_pipeline.partitions import daily_partitions
from lightsms_pipeline.resources import LightSMSResource, ParquetDatasetResource
from lightsms_pipeline.rules.loading import load_rules
from lightsms_pipeline.schedules import build_schedules
from lightsms_pipeline.settings import API_KEY_VARIABLE, LOGIN_VARIABLE, Settings


def build_definitions(settings: Settings, *, resources: Mapping[str, Any] | None = None) -> Definitions:
    """The code location for `settings`. `resources` replaces default resources by key (a test's
    or the demo's LightSMS resource, say); the defaults read the credentials through `EnvVar`."""
    partitions_def = daily_partitions(settings)
    rules = load_rules(settings.rules_path(), timezone=settings.timezone)
    assets = [
        build_incoming_messages(settings, partitions_def, region=rules.default_region),
        *build_downstream_assets(partitions_def, rules),
        build_stop_list_sync(settings, rules),
    ]
    # The clock of sms-rules §8 needs these two refreshed: the UI shows when they fall behind.
    freshness = opt_out_freshness(settings)
    assets = [
        a.map_asset_specs(lambda spec: spec.replace_attributes(freshness_policy=freshness))
        if a.key.to_user_string() in (INCOMING, OPT_OUT_LIST)
        else a
        for a in assets
    ]
    job = define_asset_job(
        MAIN_JOB,
        selection=AssetSelection.all(),
        description="Fetch incoming SMS for the selected days and rebuild the datasets built on them.",
    )
    return Definitions(
        assets=assets,
        # Steps run in the run's own process: a second Python start-up per run (~3 s here) buys
        # nothing when the fetching is threaded inside the one asset (benchmarks/RESULTS.md).
        executor=in_process_executor,
        jobs=[job],
        schedules=build_schedules(settings, MAIN_JOB),
        resources={**default_resources(settings), **(resources or {})},
    )


def default_resources(settings: Settings) -> dict[str, Any]:
    """The LightSMS account from `LIGHTSMS_LOGIN` / `LIGHTSMS_API_KEY` and the dataset."""
    return {
        "lightsms": LightSMSResource.from_settings(
            settings, login=EnvVar(LOGIN_VARIABLE), api_key=EnvVar(API_KEY_VARIABLE)
        ),
        "dataset": ParquetDatasetResource(data_dir=settings.data_dir),
    }


defs = build_definitions(Settings.from_env())
