"""Running real Dagster materializations in tests: definitions built from a `Settings` object.

A test configures its run by building settings (`pipeline.with_settings(parallelism=1)`), never by
changing `os.environ`; only the credentials travel as variables, as they do in production, where
Dagster reads them through `EnvVar`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult

from lightsms_pipeline.assets.schedules import range_run_request
from lightsms_pipeline.contract import INCOMING, MAIN_JOB
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.simulator.traffic import SimMessage, Traffic


def materialize(
    settings: Settings,
    start: date,
    end: date | None = None,
    assets: Sequence[str] | None = (INCOMING,),
    *,
    raise_on_error: bool = True,
    resources: Mapping[str, Any] | None = None,
) -> ExecuteInProcessResult:
    """One run over `start..end` (a single-run backfill), on the instance in DAGSTER_HOME."""
    defs = build_definitions(settings, resources=resources)
    job = defs.resolve_job_def(MAIN_JOB)
    tags = range_run_request(start, end or start, run_key="test").tags
    selection = [AssetKey(a) for a in assets] if assets is not None else None
    with DagsterInstance.get() as instance:
        return job.execute_in_process(
            instance=instance, tags=tags, asset_selection=selection, raise_on_error=raise_on_error
        )


@dataclass(frozen=True)
class Pipeline:
    """The pipeline a test runs: its settings and the credentials' variables."""

    settings: Settings
    credentials: Mapping[str, str] = field(default_factory=dict)

    def with_settings(self, **changes: Any) -> Pipeline:
        return replace(self, settings=self.settings.replace(**changes))

    def materialize(
        self,
        start: date,
        end: date | None = None,
        assets: Sequence[str] | None = (INCOMING,),
        *,
        raise_on_error: bool = True,
    ) -> ExecuteInProcessResult:
        return materialize(self.settings, start, end, assets, raise_on_error=raise_on_error)

    def env(self) -> dict[str, str]:
        """The environment of a child process running this pipeline (`Settings.from_env` there)."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTSMS_")}
        return {**inherited, **self.settings.to_env(), **self.credentials}


class OneDayTraffic(Traffic):
    """Traffic that serves exactly `messages`, in that order, on `day` and nothing elsewhere."""

    def __init__(self, day: date, messages: Sequence[SimMessage]) -> None:
        super().__init__(per_day=0)
        self.served_day, self.messages = day, tuple(messages)

    def day_messages(self, d: date) -> tuple[SimMessage, ...]:
        return self.messages if d == self.served_day else ()
