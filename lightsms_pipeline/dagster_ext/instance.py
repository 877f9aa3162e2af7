"""A `DagsterInstance` whose event batch size is set in `dagster.yaml` (`event_batch_size`).

Dagster reads its batch size only from the `DAGSTER_EVENT_BATCH_SIZE` variable of whichever
process stores an event. A backfill's planned events are stored by the process that creates
the run (the CLI, the webserver, the daemon), its materializations by the run worker: exporting
the variable in one place misses the others. Named in `dagster.yaml` as `instance_class`, this
class is what every one of those processes loads, so the setting travels with the instance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from dagster import Field, IntSource
from dagster._core.instance import DagsterInstance
from dagster._core.instance.ref import InstanceRef
from dagster._serdes import ConfigurableClassData

from lightsms_pipeline.dagster_ext.sqlite_storage import BatchingSqliteStorage

# A year of daily partitions of a few assets in one batch; the buffer holds events only until
# the batch's last one (the end of a run's planning, of a step's materializations).
DEFAULT_EVENT_BATCH_SIZE = 1000


class BatchingInstance(DagsterInstance):
    def __init__(self, *args: Any, event_batch_size: int = DEFAULT_EVENT_BATCH_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._configured_event_batch_size = event_batch_size

    @classmethod
    def config_schema(cls) -> dict[str, Field]:
        return {
            "event_batch_size": Field(
                IntSource,
                is_required=False,
                default_value=DEFAULT_EVENT_BATCH_SIZE,
                description="Asset events Dagster hands to the storage at once (0: one by one).",
            )
        }

    @staticmethod
    def config_defaults(base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        """Dagster's defaults, with the batching SQLite storage in `base_dir` (DAGSTER_HOME)."""
        storage = ConfigurableClassData(
            BatchingSqliteStorage.__module__,
            BatchingSqliteStorage.__name__,
            yaml.safe_dump({"base_dir": base_dir}, default_flow_style=False),
        )
        return {**InstanceRef.config_defaults(base_dir), "storage": storage}

    def _get_event_batch_size(self) -> int:
        return self._configured_event_batch_size
