"""Reading an upstream day for a downstream one, and what a write hands back to its asset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from lightsms_pipeline.errors import LightSMSError
from lightsms_pipeline.storage.parquet import Dataset


class MissingUpstreamError(LightSMSError):
    """A downstream day was asked for before its upstream day was materialized."""


@dataclass(frozen=True)
class Written:
    """A dataset just written: its table (for metadata) and the files, main file first."""

    table: pa.Table
    paths: tuple[str, ...]


def read_upstream_day(dataset: Dataset, asset: str, day: date, columns: list[str] | None = None) -> pa.Table:
    """`asset`'s partition for `day`, or a `MissingUpstreamError` naming what to materialize."""
    if not dataset.has_partition(asset, day):
        raise MissingUpstreamError(f"{asset} has no partition {day}: materialize {asset} for {day} first")
    return dataset.read_partition(asset, day, columns)
