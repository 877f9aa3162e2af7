"""The Dagster code location: wiring only (`dagster dev -w workspace.yaml` loads `defs`)."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, EnvVar, define_asset_job, in_process_executor

from lightsms_pipeline.assets import build_downstream_assets
from lightsms_pipeline.assets.incoming import build_incoming_messages
from lightsms_pipeline.contract import MAIN_JOB
from lightsms_pipeline.partitions import daily_partitions
from lightsms_pipeline.resources import LightSMSResource, ParquetDatasetResource
from lightsms_pipeline.rules.loading import load_rules
from lightsms_pipeline.schedules import build_schedules
from lightsms_pipeline.settings import Settings


def build_definitions(settings: Settings) -> Definitions:
    partitions_def = daily_partitions(settings)
    rules = load_rules(settings.rules_path(), timezone=settings.timezone)
    assets = [
        build_incoming_messages(settings, partitions_def, region=rules.default_region),
        *build_downstream_assets(partitions_def, rules),
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
        schedules=build_schedules(settings, job),
        resources={
            "lightsms": LightSMSResource(
                login=EnvVar("LIGHTSMS_LOGIN"),
                api_key=EnvVar("LIGHTSMS_API_KEY"),
                base_url=settings.base_url,
                response_format=settings.response_format,
                max_attempts=settings.max_attempts,
                timeout_seconds=settings.timeout_seconds,
                pool_size=max(settings.parallelism, 1),
            ),
            "dataset": ParquetDatasetResource(data_dir=settings.data_dir),
        },
    )


defs = build_definitions(Settings.from_env())
