"""Running real Dagster materializations in tests: definitions built from the test's environment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult

from lightsms_pipeline.definitions import MAIN_JOB, build_definitions
from lightsms_pipeline.schedules import range_run_request
from lightsms_pipeline.settings import Settings


def materialize(
    start: date,
    end: date | None = None,
    assets: Sequence[str] | None = ("incoming_messages",),
    *,
    raise_on_error: bool = True,
) -> ExecuteInProcessResult:
    """One run over `start..end` (a single-run backfill), on the instance in DAGSTER_HOME."""
    defs = build_definitions(Settings.from_env())
    job = defs.resolve_job_def(MAIN_JOB)
    tags = range_run_request(start, end or start, run_key="test").tags
    selection = [AssetKey(a) for a in assets] if assets is not None else None
    with DagsterInstance.get() as instance:
        return job.execute_in_process(
            instance=instance, tags=tags, asset_selection=selection, raise_on_error=raise_on_error
        )
