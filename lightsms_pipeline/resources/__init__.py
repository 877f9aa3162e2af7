"""Dagster resources: the LightSMS client and the Parquet dataset, configured from the environment."""

from lightsms_pipeline.resources.dataset import ParquetDatasetResource
from lightsms_pipeline.resources.lightsms import LightSMSResource

__all__ = ["LightSMSResource", "ParquetDatasetResource"]
