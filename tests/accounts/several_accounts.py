"""Several accounts against ONE simulator serving their logins: the file, the keys, the runs.

Imported by the tests of this folder (not a conftest: `from conftest import …` elsewhere must keep
meaning tests/conftest.py). Each account has its own login, key, traffic seed and stop list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml
from dagster import DagsterInstance, ExecuteInProcessResult

from lightsms_pipeline.assets.schedules import range_run_request
from lightsms_pipeline.contract import MAIN_JOB, account_scoped
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic


@dataclass(frozen=True)
class SimAccount:
    name: str
    login: str
    api_key_env: str
    api_key: str  # distinctive, so a leak is easy to find
    seed: int


ACME = SimAccount("acme", "acme-login", "ACME_LIGHTSMS_KEY", "sk-acme-5b1e0c9f7a3d42e8b6f1c0d9e8a7", 11)
BETA = SimAccount("beta", "beta-login", "BETA_LIGHTSMS_KEY", "sk-beta-9d8c7b6a5f4e3d2c1b0a9f8e7d6", 12)
GAMMA = SimAccount("gamma", "gamma-login", "GAMMA_LIGHTSMS_KEY", "sk-gamma-1a2b3c4d5e6f7a8b9c0d1e2f3", 13)
ALL = (ACME, BETA, GAMMA)
PER_DAY = 40  # small traffic: a few opt-outs a day, runs stay short
D14, D15, D16 = date(2025, 1, 14), date(2025, 1, 15), date(2025, 1, 16)


def serve(accounts: Sequence[SimAccount] = ALL) -> SimulatorServer:
    """One simulator serving every login of `accounts`, each with its own seed (not started)."""
    first, *rest = accounts
    traffic = Traffic(seed=first.seed, per_day=PER_DAY)
    server = SimulatorServer(traffic, login=first.login, api_key=first.api_key)
    for account in rest:
        server.add_login(account.login, account.api_key, Traffic(seed=account.seed, per_day=PER_DAY))
    return server


def write_accounts_file(path: Path, accounts: Sequence[SimAccount], **extra: Mapping[str, Any]) -> Path:
    """The YAML a user writes: name, login and the NAME of the key variable (never the key)."""
    entries = [
        {"name": a.name, "login": a.login, "api_key_env": a.api_key_env, **extra.get(a.name, {})}
        for a in accounts
    ]
    path.write_text(yaml.safe_dump({"accounts": entries}, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Deployment:
    """A deployment of several accounts on one simulator: settings with the accounts file."""

    simulator: SimulatorServer
    settings: Settings
    accounts: Sequence[SimAccount]

    def run(
        self,
        job: str,
        start: date,
        end: date | None = None,
        *,
        raise_on_error: bool = True,
        settings: Settings | None = None,
        assets: Sequence[str] | None = None,
    ) -> ExecuteInProcessResult:
        """One run of `job` over start..end (a single-run backfill), on the DAGSTER_HOME instance;
        `assets` limits it to those assets of every account in the job."""
        defs = build_definitions(settings or self.settings)
        tags = range_run_request(start, end or start, run_key="test").tags
        job_def = defs.resolve_job_def(job)
        selection = (
            None
            if assets is None
            else [k for k in job_def.asset_layer.selected_asset_keys if k.path[-1] in assets]
        )
        with DagsterInstance.get() as instance:
            return job_def.execute_in_process(
                instance=instance, tags=tags, raise_on_error=raise_on_error, asset_selection=selection
            )

    def root(self, account: SimAccount) -> Path:
        return Path(self.settings.data_dir) / f"account={account.name}"


def account_job(account: SimAccount) -> str:
    return account_scoped(MAIN_JOB, account.name)


def file_digests(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def day_rows(root: Path, asset: str, day: date) -> list[tuple[str, str, str, str]]:
    """(id_sms, sender, text, account) of a day's file, in file order."""
    table = pq.read_table(root / asset / f"date={day.isoformat()}" / "part-0.parquet")
    return list(
        zip(
            *(table[c].to_pylist() for c in ("id_sms", "sender", "text", "account")),
            strict=True,
        )
    )
