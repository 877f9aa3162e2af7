"""`definitions.py` itself: each asset's partitions, pool, checks, automation, backfill policy and
retries, the job, the schedules and the resources, so that a wiring mistake fails here."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dagster import (
    AssetKey,
    AutomationCondition,
    BackfillPolicy,
    DagsterEventType,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    EnvVar,
    FreshnessPolicy,
)
from pipeline import Pipeline

from lightsms_pipeline import definitions
from lightsms_pipeline.assets.schedules import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from lightsms_pipeline.contract import (
    CLASSIFIED,
    DAILY_SCHEDULE,
    GROUP,
    INCOMING,
    INTRADAY_SCHEDULE,
    MAIN_JOB,
    OPT_OUT_LIST,
    POLL_RESULTS,
    POOL,
    REPLIES,
    STOP_LIST_CLOCK_CHECK,
    STOP_LIST_SYNC,
    SUPPORT_INBOX,
)
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.resources import LightSMSResource, ParquetDatasetResource
from lightsms_pipeline.settings import Settings

DAILY = (INCOMING, CLASSIFIED, SUPPORT_INBOX)
WHOLE_HISTORY = (OPT_OUT_LIST, POLL_RESULTS)
PUSHES = (STOP_LIST_SYNC, REPLIES)  # the assets that change something at LightSMS
SETTINGS = Settings(
    timezone="Europe/Riga",
    start_date="2024-06-01",
    run_retries=3,
    run_retry_delay_seconds=7,
    daily_cron="30 1 * * *",
    intraday_cron="*/20 * * * *",
    base_url="http://127.0.0.1:1",
    data_dir="/srv/lightsms",
    parallelism=5,
    max_attempts=4,
    timeout_seconds=9,
    opt_out_max_delay_hours=48,
)


@pytest.fixture(scope="module")
def defs() -> Definitions:
    return build_definitions(SETTINGS)


def spec_of(defs: Definitions, name: str):  # type: ignore[no-untyped-def]
    (spec,) = defs.resolve_assets_def(name).specs
    return spec


def test_the_code_location_loads_defs_with_every_asset_and_the_main_job() -> None:
    loaded = definitions.defs
    assert isinstance(loaded, Definitions)
    assert {k.to_user_string() for k in loaded.resolve_all_asset_keys()} == {*DAILY, *WHOLE_HISTORY, *PUSHES}
    job = loaded.resolve_job_def(MAIN_JOB)
    assert job.executor_def.name == "in_process"
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {
        *DAILY,
        *WHOLE_HISTORY,
        *PUSHES,
    }


@pytest.mark.parametrize("name", DAILY)
def test_daily_assets_are_partitioned_by_provider_day_with_today_and_one_run_per_backfill(defs, name) -> None:
    asset = defs.resolve_assets_def(name)
    partitions = asset.partitions_def
    assert isinstance(partitions, DailyPartitionsDefinition)
    assert partitions.timezone == "Europe/Riga"
    assert partitions.start.date() == date(2024, 6, 1)
    assert partitions.end_offset == 1  # today's still-filling day is a partition
    assert asset.backfill_policy == BackfillPolicy.single_run()
    assert spec_of(defs, name).group_name == GROUP


@pytest.mark.parametrize("name", WHOLE_HISTORY)
def test_whole_history_assets_are_unpartitioned_and_read_the_classified_days(defs, name) -> None:
    asset = defs.resolve_assets_def(name)
    assert asset.partitions_def is None
    assert [d.asset_key for d in spec_of(defs, name).deps] == [AssetKey(CLASSIFIED)]


def test_only_the_assets_that_call_lightsms_run_in_the_api_pool(defs) -> None:
    pools = {name: defs.resolve_assets_def(name).op.pool for name in (*DAILY, *WHOLE_HISTORY, *PUSHES)}
    assert pools == {
        INCOMING: POOL,
        STOP_LIST_SYNC: POOL,
        REPLIES: POOL,
        **{n: None for n in (*DAILY[1:], *WHOLE_HISTORY)},
    }


def test_incoming_messages_carries_its_three_checks_and_the_step_retry_from_settings(defs) -> None:
    asset = defs.resolve_assets_def(INCOMING)
    assert {c.name for c in asset.check_specs} == {
        "id_sms_unique",
        "received_at_inside_partition_day",
        "required_columns_not_null",
    }
    policy = asset.op.retry_policy
    assert policy is not None and (policy.max_retries, policy.delay) == (3, 7)
    assert (
        build_definitions(SETTINGS.replace(run_retries=0)).resolve_assets_def(INCOMING).op.retry_policy
        is None
    )


def test_downstream_assets_follow_their_upstream_eagerly_and_incoming_waits_for_a_schedule(defs) -> None:
    assert spec_of(defs, INCOMING).automation_condition is None
    for name in (CLASSIFIED, SUPPORT_INBOX, *WHOLE_HISTORY, *PUSHES):
        assert spec_of(defs, name).automation_condition == AutomationCondition.eager(), name
    assert [d.asset_key for d in spec_of(defs, CLASSIFIED).deps] == [AssetKey(INCOMING)]
    assert [d.asset_key for d in spec_of(defs, SUPPORT_INBOX).deps] == [AssetKey(CLASSIFIED)]


def test_stop_list_sync_follows_the_opt_out_list_unpartitioned_with_the_clock_check(defs) -> None:
    asset = defs.resolve_assets_def(STOP_LIST_SYNC)
    assert asset.partitions_def is None and asset.backfill_policy is None
    # After the replies too: a confirmation leaves before its number is on the stop list (34).
    deps = [d.asset_key for d in spec_of(defs, STOP_LIST_SYNC).deps]
    assert deps == [AssetKey(OPT_OUT_LIST), AssetKey(REPLIES)]
    assert [c.name for c in asset.check_specs] == [STOP_LIST_CLOCK_CHECK]
    assert "48 h" in next(iter(asset.check_specs)).description  # type: ignore[operator]
    assert {"lightsms", "dataset"} <= asset.required_resource_keys


def test_incoming_and_the_opt_out_list_carry_a_freshness_policy_from_the_delay_limit(defs) -> None:
    expected = FreshnessPolicy.time_window(fail_window=timedelta(hours=48), warn_window=timedelta(hours=24))
    for name in (INCOMING, OPT_OUT_LIST):
        assert spec_of(defs, name).freshness_policy == expected, name
    for name in (CLASSIFIED, SUPPORT_INBOX, POLL_RESULTS, STOP_LIST_SYNC):
        assert spec_of(defs, name).freshness_policy is None, name


def test_schedules_run_the_main_job_on_the_configured_crons_in_the_provider_zone(defs) -> None:
    schedules = {s.name: s for s in defs.schedules or []}
    assert set(schedules) == {DAILY_SCHEDULE, INTRADAY_SCHEDULE}
    assert schedules[DAILY_SCHEDULE].cron_schedule == "30 1 * * *"
    assert schedules[INTRADAY_SCHEDULE].cron_schedule == "*/20 * * * *"
    for schedule in schedules.values():
        assert schedule.job_name == MAIN_JOB
        assert schedule.execution_timezone == "Europe/Riga"


def test_resources_take_the_settings_and_read_credentials_only_through_env_vars(defs) -> None:
    lightsms = defs.resources["lightsms"]
    assert isinstance(lightsms, LightSMSResource)
    assert isinstance(lightsms.login, EnvVar) and lightsms.login.env_var_name == "LIGHTSMS_LOGIN"
    assert isinstance(lightsms.api_key, EnvVar) and lightsms.api_key.env_var_name == "LIGHTSMS_API_KEY"
    transport = (lightsms.base_url, lightsms.max_attempts, lightsms.timeout_seconds, lightsms.pool_size)
    assert transport == ("http://127.0.0.1:1", 4, 9, 5)
    dataset = defs.resources["dataset"]
    assert isinstance(dataset, ParquetDatasetResource) and dataset.data_dir == "/srv/lightsms"


def test_a_resource_override_replaces_only_its_key() -> None:
    override = ParquetDatasetResource(data_dir="memory://elsewhere")
    defs = build_definitions(SETTINGS, resources={"dataset": override})
    assert defs.resources["dataset"] is override
    assert isinstance(defs.resources["lightsms"], LightSMSResource)


def test_the_range_tags_make_one_run_materialize_exactly_the_range(pipeline: Pipeline) -> None:
    """The two tag names are Dagster's, written as plain strings: a rename upstream fails here."""
    result = pipeline.materialize(date(2025, 1, 14), date(2025, 1, 16))
    assert result.success
    run = result.dagster_run
    assert run.tags[PARTITION_RANGE_START_TAG] == "2025-01-14"
    assert run.tags[PARTITION_RANGE_END_TAG] == "2025-01-16"
    with DagsterInstance.get() as instance:
        planned = [
            r.dagster_event.event_specific_data.partition  # type: ignore[union-attr]
            for r in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
        ]
    materialized = sorted(e.partition for e in result.get_asset_materialization_events())
    assert sorted(planned) == materialized == ["2025-01-14", "2025-01-15", "2025-01-16"]


def test_loading_the_code_location_does_not_import_pandas() -> None:
    """The webserver, the daemon and every run load the code location; pandas (half a second)
    is imported by pyarrow on the first Arrow array built, so no module may build one at import."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import sys, lightsms_pipeline.definitions; print('pandas' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
