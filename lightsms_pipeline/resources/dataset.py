"""`ParquetDatasetResource`: where the datasets live (`LIGHTSMS_DATA_DIR`, local or any fsspec URL)."""

from __future__ import annotations

from dagster import ConfigurableResource, InitResourceContext

from lightsms_pipeline.resources.process_exit import skip_final_garbage_collection
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.storage.parquet import Dataset


class ParquetDatasetResource(ConfigurableResource):  # type: ignore[type-arg]
    data_dir: str = Settings().data_dir

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Every asset of ours uses this resource, so a process that sets it up runs our assets:
        it exits without CPython's last garbage collection (process_exit.py: half a second of a
        3.6 s one-day run)."""
        skip_final_garbage_collection()

    def get_dataset(self) -> Dataset:
        return Dataset(self.data_dir)
