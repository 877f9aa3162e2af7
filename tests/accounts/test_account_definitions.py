"""The code location with several accounts: each account's keys, group, pool, job, schedules and
resources are its own; without an accounts file it is today's, name for name."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import AssetKey, Definitions, EnvVar
from several_accounts import ACME, BETA, GAMMA, write_accounts_file

from lightsms_pipeline.contract import (
    ALL_ACCOUNTS_JOB,
    CLASSIFIED,
    DAILY_SCHEDULE,
    GROUP,
    INCOMING,
    INTRADAY_SCHEDULE,
    LIVE_JOB,
    LIVE_SENSOR,
    MAIN_JOB,
    OPT_OUT_LIST,
    POLL_RESULTS,
    POOL,
    REPLIES,
    STOP_LIST_SYNC,
    SUPPORT_INBOX,
)
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.resources import LightSMSResource, ParquetDatasetResource
from lightsms_pipeline.settings import Settings

ASSETS = (INCOMING, CLASSIFIED, SUPPORT_INBOX, OPT_OUT_LIST, POLL_RESULTS, STOP_LIST_SYNC, REPLIES)
SETTINGS = Settings(data_dir="s3://bucket/sms", timezone="Europe/Vilnius", start_date="2024-06-01")


def keys(defs: Definitions) -> set[str]:
    return {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Definitions:
    path = write_accounts_file(
        tmp_path_factory.mktemp("accounts") / "accounts.yaml", [ACME, BETA], beta={"timezone": "Europe/Riga"}
    )
    return build_definitions(SETTINGS.replace(accounts_file=str(path)))


def test_without_an_accounts_file_the_code_location_is_todays_name_for_name() -> None:
    defs = build_definitions(SETTINGS)
    assert keys(defs) == set(ASSETS)
    assert {defs.resolve_assets_def(n).specs_by_key[AssetKey(n)].group_name for n in ASSETS} == {GROUP}
    assert [j.name for j in defs.jobs or []] == [MAIN_JOB, LIVE_JOB]
    assert {s.name for s in defs.schedules or []} == {DAILY_SCHEDULE, INTRADAY_SCHEDULE}
    assert [s.name for s in defs.sensors or []] == [LIVE_SENSOR]
    resources = defs.resources or {}
    assert set(resources) == {"lightsms", "dataset"}
    assert resources["dataset"].data_dir == "s3://bucket/sms"  # no account= level
    assert {defs.resolve_assets_def(n).op.pool for n in (INCOMING, STOP_LIST_SYNC)} == {POOL}


def test_each_account_has_its_own_prefixed_assets_group_pool_and_resources(two: Definitions) -> None:
    assert keys(two) == {f"{a.name}/{n}" for a in (ACME, BETA) for n in ASSETS}
    for account in (ACME, BETA):
        incoming = two.resolve_assets_def(AssetKey([account.name, INCOMING]))
        assert incoming.op.pool == f"{POOL}/{account.name}"
        assert {f"{account.name}_lightsms", f"{account.name}_dataset"} <= incoming.required_resource_keys
        other = BETA if account is ACME else ACME
        assert not any(k.startswith(other.name) for k in incoming.required_resource_keys)
        assert {c.asset_key for c in incoming.check_specs} == {AssetKey([account.name, INCOMING])}
        sync = two.resolve_assets_def(AssetKey([account.name, STOP_LIST_SYNC]))
        assert sync.op.pool == f"{POOL}/{account.name}"
        (spec,) = sync.specs
        expected = [AssetKey([account.name, n]) for n in (OPT_OUT_LIST, REPLIES)]
        assert [d.asset_key for d in spec.deps] == expected
        groups = {
            two.resolve_assets_def(AssetKey([account.name, n]))
            .specs_by_key[AssetKey([account.name, n])]
            .group_name
            for n in ASSETS
        }
        assert groups == {f"{account.name}_{GROUP}"}
        resources = two.resources or {}
        lightsms = resources[f"{account.name}_lightsms"]
        assert isinstance(lightsms, LightSMSResource) and lightsms.login == account.login
        assert isinstance(lightsms.api_key, EnvVar) and lightsms.api_key.env_var_name == account.api_key_env
        dataset = resources[f"{account.name}_dataset"]
        assert isinstance(dataset, ParquetDatasetResource)
        assert dataset.data_dir == f"s3://bucket/sms/account={account.name}"


def test_each_account_has_its_own_job_and_schedules_in_its_own_time_zone(two: Definitions) -> None:
    for account, zone in ((ACME, "Europe/Vilnius"), (BETA, "Europe/Riga")):
        job = two.resolve_job_def(f"{account.name}_{MAIN_JOB}")
        assert {k.path[0] for k in job.asset_layer.selected_asset_keys} == {account.name}
        assert job.partitions_def.timezone == zone  # type: ignore[union-attr]
        schedules = {s.name: s for s in two.schedules or [] if s.name.startswith(account.name + "_")}
        assert set(schedules) == {f"{account.name}_{DAILY_SCHEDULE}", f"{account.name}_{INTRADAY_SCHEDULE}"}
        for schedule in schedules.values():
            assert schedule.job_name == f"{account.name}_{MAIN_JOB}"  # type: ignore[union-attr]
            assert schedule.execution_timezone == zone  # type: ignore[union-attr]
    # one job runs one partitions definition: no all-accounts job across two time zones
    assert ALL_ACCOUNTS_JOB not in {j.name for j in two.jobs or []}


def test_accounts_sharing_zone_and_start_get_one_job_over_all_of_them(tmp_path: Path) -> None:
    path = write_accounts_file(tmp_path / "accounts.yaml", [ACME, BETA, GAMMA])
    defs = build_definitions(SETTINGS.replace(accounts_file=str(path)))
    job = defs.resolve_job_def(ALL_ACCOUNTS_JOB)
    assert {k.path[0] for k in job.asset_layer.selected_asset_keys} == {"acme", "beta", "gamma"}


def test_three_accounts_merge_into_their_own_names_only_every_job_in_process(tmp_path: Path) -> None:
    """The merged location holds each account's definitions and the one job over all of them,
    nothing more, and every job keeps the location's in-process executor."""
    path = write_accounts_file(tmp_path / "accounts.yaml", [ACME, BETA, GAMMA])
    defs = build_definitions(SETTINGS.replace(accounts_file=str(path)))
    names = [a.name for a in (ACME, BETA, GAMMA)]
    assert keys(defs) == {f"{n}/{asset}" for n in names for asset in ASSETS}
    assert [j.name for j in defs.jobs or []] == [
        *(f"{n}_{job}" for n in names for job in (MAIN_JOB, LIVE_JOB)),
        ALL_ACCOUNTS_JOB,
    ]
    assert [s.name for s in defs.sensors or []] == [f"{n}_{LIVE_SENSOR}" for n in names]
    jobs = [defs.resolve_job_def(j.name) for j in defs.jobs or []]
    assert {j.executor_def.name for j in jobs} == {"in_process"}
    assert [s.name for s in defs.schedules or []] == [
        f"{n}_{s}" for n in names for s in (DAILY_SCHEDULE, INTRADAY_SCHEDULE)
    ]
    assert set(defs.resources or {}) == {f"{n}_{r}" for n in names for r in ("lightsms", "dataset")}


def test_a_resource_override_replaces_one_accounts_resource_by_key(tmp_path: Path) -> None:
    path = write_accounts_file(tmp_path / "accounts.yaml", [ACME, BETA, GAMMA])
    override = ParquetDatasetResource(data_dir="memory://elsewhere")
    defs = build_definitions(SETTINGS.replace(accounts_file=str(path)), resources={"beta_dataset": override})
    resources = defs.resources or {}
    assert resources["beta_dataset"] is override
    assert resources["acme_dataset"].data_dir == "s3://bucket/sms/account=acme"
    assert len(resources) == 6
