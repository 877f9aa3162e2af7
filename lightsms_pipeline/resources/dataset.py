"""`ParquetDatasetResource`: where the datasets live (`LIGHTSMS_DATA_DIR`, local or any fsspec URL)."""

from __future__ import annotations

from dagster import ConfigurableResource

from lightsms_pipeline.settings import Settings
from lightsms_pipeline.storage.parquet import Dataset


class ParquetDatasetResource(ConfigurableResource):  # type: ignore[type-arg]
    data_dir: str = Settings().data_dir

    def get_dataset(self) -> Dataset:
        return Dataset(self.data_dir)
