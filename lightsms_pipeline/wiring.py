"""The Definitions for given settings: assets, jobs, schedules and resources, wired per account.

Nothing here reads the environment or builds anything on import, so a caller that brings its own
settings (`LightSMSComponent`'s defs.yaml, a test, `demo`) is not touched by the `LIGHTSMS_*`
variables of the process; `definitions.py` is the code location built from them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dagster import AssetSelection, Definitions, EnvVar, define_asset_job, in_process_executor

from lightsms_pipeline.accounts import Account, load_accounts
from lightsms_pipeline.assets import build_downstream_assets
from lightsms_pipeline.assets.incoming import build_incoming_messages
from lightsms_pipeline.assets.live import build_live
from lightsms_pipeline.assets.partitions import daily_backfill_policy, daily_partitions
from lightsms_pipeline.assets.replies import build_replies
from lightsms_pipeline.assets.schedules import build_schedules
from lightsms_pipeline.assets.scope import SINGLE_ACCOUNT, AssetScope
from lightsms_pipeline.assets.stop_list import build_stop_list_sync, opt_out_freshness
from lightsms_pipeline.contract import ALL_ACCOUNTS_JOB, INCOMING, MAIN_JOB, OPT_OUT_LIST, account_scoped
from lightsms_pipeline.resources import LightSMSResource, ParquetDatasetResource
from lightsms_pipeline.rules.loading import load_rules
from lightsms_pipeline.settings import API_KEY_VARIABLE, LOGIN_VARIABLE, Settings


def build_definitions(settings: Settings, *, resources: Mapping[str, Any] | None = None) -> Definitions:
    """The code location for `settings`. `resources` replaces default resources by key (a test's
    or the demo's LightSMS resource, say); the defaults read the credentials through `EnvVar`.

    Without `LIGHTSMS_ACCOUNTS_FILE` it is the one account of `LIGHTSMS_LOGIN`; with it, every
    account of the file, each under its own key prefix, group, job, schedules, pool and data root
    (docs/accounts.md), merged with one job over all of them."""
    overrides = dict(resources or {})
    if not settings.accounts_file:
        return account_definitions(settings, SINGLE_ACCOUNT, single_account(settings), overrides)
    return several_accounts(
        load_accounts(settings.accounts_file, settings), settings.accounts_file, overrides
    )


def several_accounts(accounts: Sequence[Account], source: str, overrides: Mapping[str, Any]) -> Definitions:
    """Every account of `accounts` (written in `source`: an accounts file, or the `defs.yaml` of
    `LightSMSComponent`), each in its own scope, and the job over all of them when they share
    one partitioning."""
    per_account = [
        account_definitions(
            a.settings,
            AssetScope.for_account(a.name),
            LightSMSResource.from_settings(
                a.settings,
                login=a.login,
                api_key=EnvVar(a.api_key_env),
                login_source=f"the login of account {a.name} in {source}",
                key_source=a.api_key_env,
            ),
            overrides,
        )
        for a in accounts
    ]
    if len({(a.settings.timezone, a.settings.start_date) for a in accounts}) > 1:
        # One job can run one partitions definition only: with accounts in different time zones
        # or start dates, "all accounts" is the UI's selection of every group instead.
        return Definitions.merge(*per_account)
    all_accounts = define_asset_job(
        ALL_ACCOUNTS_JOB,
        selection=AssetSelection.all(),
        description="Every account: fetch incoming SMS for the days and rebuild the datasets.",
    )
    return Definitions.merge(*per_account, Definitions(jobs=[all_accounts]))


def account_definitions(
    settings: Settings, scope: AssetScope, lightsms: LightSMSResource, overrides: Mapping[str, Any]
) -> Definitions:
    """The assets, job, schedules and resources of one account (`lightsms`), named in its
    `scope`; the single account (`SINGLE_ACCOUNT`) gets exactly the names it always had.

    `overrides` replace this account's resources by key. Every account carries all of them
    (the same objects), so that `Definitions.merge`, which refuses two different resources
    under one key, takes them as one."""
    partitions_def = daily_partitions(settings)
    rules = load_rules(settings.rules_path(), timezone=settings.timezone)
    assets = [
        build_incoming_messages(settings, partitions_def, rules.default_region, scope),
        *build_downstream_assets(partitions_def, daily_backfill_policy(settings), rules, scope),
        build_stop_list_sync(settings, rules, scope),
        build_replies(settings, rules, scope),
    ]
    # The clock of docs/rules.md §8 needs these two refreshed: the UI shows when they fall behind.
    freshness = opt_out_freshness(settings)
    fresh_keys = (scope.key(INCOMING), scope.key(OPT_OUT_LIST))
    assets = [
        a.map_asset_specs(lambda spec: spec.replace_attributes(freshness_policy=freshness))
        if a.key in fresh_keys
        else a
        for a in assets
    ]
    job_name = MAIN_JOB if scope.account is None else account_scoped(MAIN_JOB, scope.account)
    job = define_asset_job(
        job_name,
        selection=AssetSelection.all() if scope.account is None else AssetSelection.groups(scope.group),
        description="Fetch incoming SMS for the selected days and rebuild the datasets built on them."
        if scope.account is None
        else f"Account {scope.account}: fetch incoming SMS for the selected days and rebuild its datasets.",
    )
    live_sensors, live_jobs = build_live(settings, scope)
    defaults = {
        scope.lightsms_key: lightsms,
        scope.dataset_key: ParquetDatasetResource(data_dir=settings.data_dir),
    }
    return Definitions(
        assets=assets,
        # Steps run in the run's own process: a second Python start-up per run (~3 s here) buys
        # nothing when the fetching is threaded inside the one asset (benchmarks/RESULTS.md).
        # One executor object for every account: `Definitions.merge` refuses two different ones.
        executor=in_process_executor,
        jobs=[job, *live_jobs],
        schedules=build_schedules(settings, job_name, account=scope.account),
        sensors=live_sensors,
        resources={**defaults, **overrides},
    )


def single_account(settings: Settings) -> LightSMSResource:
    """The account of `LIGHTSMS_LOGIN` / `LIGHTSMS_API_KEY`, read by Dagster through `EnvVar`."""
    return LightSMSResource.from_settings(
        settings, login=EnvVar(LOGIN_VARIABLE), api_key=EnvVar(API_KEY_VARIABLE)
    )
