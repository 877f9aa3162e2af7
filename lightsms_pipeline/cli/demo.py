"""`lightsms-pipeline demo`: the main job over a fixed simulated week, and the simulator and local
instance that `dev` shares with it."""

from __future__ import annotations

import os
import secrets
import sys
import warnings
from datetime import date
from importlib import resources
from pathlib import Path

from lightsms_pipeline.settings import Settings
from lightsms_pipeline.storage.parquet import Dataset

DEMO_START = date(2025, 1, 13)
DEMO_END = date(2025, 1, 19)
DEMO_LOGIN = "demo"


def simulator(per_day: int, start: date | None, api_key: str, port: int = 0):  # type: ignore[no-untyped-def]
    from lightsms_pipeline.simulator.server import SimulatorServer
    from lightsms_pipeline.simulator.traffic import Traffic

    return SimulatorServer(Traffic(seed=42, per_day=per_day), login=DEMO_LOGIN, api_key=api_key, port=port)


def run_demo(data_dir: str | None, per_day: int, start: date, end: date) -> int:
    """The main job end to end on the embedded simulator: a fixed week, so the output is the same
    every time; writes to `data/` and records the runs in `.dagster_home/` for `make dev`."""
    from dagster import DagsterInstance

    warnings.filterwarnings("ignore", module="dagster")  # beta/preview notices, not the user's concern

    from lightsms_pipeline.assets.schedules import range_run_request
    from lightsms_pipeline.contract import MAIN_JOB
    from lightsms_pipeline.definitions import build_definitions
    from lightsms_pipeline.presentation.summary import print_summary
    from lightsms_pipeline.resources import LightSMSResource

    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").resolve()
    ensure_instance_config(home)
    settings = Settings.from_env()
    api_key = secrets.token_hex(16)  # a throw-away key: the simulator is the account
    with simulator(per_day, None, api_key).start() as sim:
        # A dry run of the stop list: the demo shows what would be pushed, and pushes nothing.
        # The simulator's one login is the account: an accounts file (several logins) is not used.
        settings = settings.replace(
            base_url=sim.base_url,
            stop_list_sync="dry-run",
            accounts_file="",
            **({"data_dir": data_dir} if data_dir else {}),
        )
        account = LightSMSResource.from_settings(settings, login=DEMO_LOGIN, api_key=api_key)
        job = build_definitions(settings, resources={"lightsms": account}).resolve_job_def(MAIN_JOB)
        print(f"simulator at {sim.base_url}; materializing {start}..{end} into {settings.data_dir}/")
        request = range_run_request(start, end, run_key="demo")
        with DagsterInstance.from_config(str(home)) as instance:
            result = job.execute_in_process(
                instance=instance,
                tags=request.tags,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                raise_on_error=False,
            )
        if not result.success:
            print("the demo run failed; see the events above", file=sys.stderr)
            return 1
    print_summary(Dataset(settings.data_dir), start, end)
    return 0


# The local instance (docs/performance.md): SQLite in DAGSTER_HOME, one LightSMS run at a time,
# a backfill's bookkeeping written in batches. One file, deploy/dagster.local.yaml, which `make
# dev`, `make demo`, the README's real-account path and the benchmark all use; this package's
# cli/dagster.local.yaml links to it in the repository and is a copy of it in the wheel, so an
# installed `lightsms-pipeline demo`/`dev` has it too (pyproject.toml's package data).
LOCAL_INSTANCE_CONFIG = resources.files("lightsms_pipeline.cli") / "dagster.local.yaml"


def ensure_instance_config(home: Path) -> None:
    """Copy the local instance configuration into a DAGSTER_HOME that has none; a home that has
    one (the user's own) is left as it is."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_bytes(LOCAL_INSTANCE_CONFIG.read_bytes())
