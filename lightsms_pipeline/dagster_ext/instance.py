"""A `DagsterInstance` whose event batch size is set in `dagster.yaml` (`event_batch_size`).

Dagster reads its batch size only from the `DAGSTER_EVENT_BATCH_SIZE` variable of whichever
process stores an event. A backfill's planned events are stored by the process that creates
the run (the CLI, the webserver, the daemon), its materializations by the run worker: exporting
the variable in one place misses the others. Named in `dagster.yaml` as `instance_class`, this
class is what every one of those processes loads, so the setting travels with the instance.

On a Dagster it was not verified with (`batching_on`), it is Dagster's own instance: Dagster's
batch size and default storage. It imports only public names and `InstanceRef` (whose
`config_defaults` Dagster's loader asks a custom instance class for) unconditionally; the
batching storage, which subclasses private classes, is imported under a guard, so that a
Dagster where those moved still loads this instance, as plain Dagster, instead of failing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from dagster import DagsterInstance, Field, IntSource
from dagster._core.instance import InstanceRef

from lightsms_pipeline.dagster_ext import batching_on

# Any failure here (a private module moved, a base class changed shape) means falling back.
_unavailable: Exception | None
try:
    from dagster._serdes import ConfigurableClassData

    from lightsms_pipeline.dagster_ext.sqlite_storage import BatchingSqliteStorage
except Exception as error:
    _unavailable = error
else:
    _unavailable = None

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
        """Dagster's defaults, with the batching SQLite storage in `base_dir` (DAGSTER_HOME) when
        batching is on (the same files and tables either way)."""
        defaults = InstanceRef.config_defaults(base_dir)
        if not batching_on(_unavailable):
            return defaults
        storage = ConfigurableClassData(
            BatchingSqliteStorage.__module__,
            BatchingSqliteStorage.__name__,
            yaml.safe_dump({"base_dir": base_dir}, default_flow_style=False),
        )
        return {**defaults, "storage": storage}

    def _get_event_batch_size(self) -> int:
        if batching_on(_unavailable):
            return self._configured_event_batch_size
        return super()._get_event_batch_size()
