"""lightsms-pipeline: LightSMS incoming SMS to exact Parquet datasets, as Dagster assets."""

__version__ = "0.1.0"
