"""lightsms-pipeline: LightSMS incoming SMS to exact Parquet datasets, as Dagster assets."""

from importlib.metadata import version

# One source of the version: pyproject.toml, as the installed package's metadata carries it.
__version__ = version("lightsms-pipeline")
