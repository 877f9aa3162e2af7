"""`LIGHTSMS_BACKFILL_RUN_DAYS` on the assets: every daily asset of every account carries the
same policy (one run per backfill, or `multi_run(N)`), so Dagster runs a day's derived datasets
in the run that fetched it; the whole-history assets carry none and are built once, after."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, BackfillPolicy, Definitions

from lightsms_pipeline.contract import (
    CLASSIFIED,
    INCOMING,
    OPT_OUT_LIST,
    POLL_RESULTS,
    STOP_LIST_SYNC,
    SUPPORT_INBOX,
)
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.settings import Settings

DAILY = (INCOMING, CLASSIFIED, SUPPORT_INBOX)
UNPARTITIONED = (OPT_OUT_LIST, POLL_RESULTS, STOP_LIST_SYNC)
SETTINGS = Settings(base_url="http://127.0.0.1:1", start_date="2024-06-01")


def policies(defs: Definitions, prefix: tuple[str, ...] = ()) -> dict[str, BackfillPolicy | None]:
    return {
        n: defs.resolve_assets_def(AssetKey([*prefix, n])).backfill_policy for n in (*DAILY, *UNPARTITIONED)
    }


def test_without_the_setting_a_backfill_of_each_daily_asset_is_one_run() -> None:
    assert policies(build_definitions(SETTINGS)) == {
        **dict.fromkeys(DAILY, BackfillPolicy.single_run()),
        **dict.fromkeys(UNPARTITIONED),
    }


@pytest.mark.parametrize("days", [1, 3, 30])
def test_with_n_run_days_every_daily_asset_is_split_in_runs_of_n_days(days: int) -> None:
    assert policies(build_definitions(SETTINGS.replace(backfill_run_days=days))) == {
        **dict.fromkeys(DAILY, BackfillPolicy.multi_run(max_partitions_per_run=days)),
        **dict.fromkeys(UNPARTITIONED),
    }


def test_every_account_of_an_accounts_file_splits_its_backfills_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    accounts = [
        {"name": "acme", "login": "acme-login", "api_key_env": "ACME_LIGHTSMS_KEY"},
        {"name": "beta", "login": "beta-login", "api_key_env": "BETA_KEY", "timezone": "Europe/Riga"},
    ]
    path.write_text(yaml.safe_dump({"accounts": accounts}), encoding="utf-8")
    defs = build_definitions(SETTINGS.replace(accounts_file=str(path), backfill_run_days=7))
    for account in ("acme", "beta"):
        assert policies(defs, (account,)) == {
            **dict.fromkeys(DAILY, BackfillPolicy.multi_run(max_partitions_per_run=7)),
            **dict.fromkeys(UNPARTITIONED),
        }
