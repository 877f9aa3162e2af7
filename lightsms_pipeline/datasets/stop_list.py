"""The stop list's files: `stop_list_record.parquet` (append-only, rewritten atomically) and
`stop_list_conflicts.parquet`, beside the opt-out list they are computed from."""

from __future__ import annotations

import pyarrow as pa

from lightsms_pipeline.contract import (
    OPT_OUT_LIST,
    OPT_OUT_PARQUET,
    STOP_LIST_CONFLICTS_PARQUET,
    STOP_LIST_RECORD_PARQUET,
)
from lightsms_pipeline.datasets.upstream import MissingUpstreamError
from lightsms_pipeline.rules.stop_list import record_schema
from lightsms_pipeline.storage.parquet import Dataset


def read_opt_out_list(dataset: Dataset) -> pa.Table:
    """The opt-out list as `opt_out_list` last wrote it."""
    if not dataset.fs.exists(dataset.file_path(OPT_OUT_PARQUET)):
        raise MissingUpstreamError(f"{OPT_OUT_PARQUET} does not exist: materialize {OPT_OUT_LIST} first")
    table = dataset.read_file(OPT_OUT_PARQUET)
    if "first_opted_out_at" not in table.column_names:
        raise MissingUpstreamError(
            f"{OPT_OUT_PARQUET} was written by an older version (no first_opted_out_at): "
            f"materialize {OPT_OUT_LIST} again"
        )
    return table


def read_record(dataset: Dataset, timezone: str) -> pa.Table:
    """The record of earlier runs; empty (with its schema) before the first one."""
    if not dataset.fs.exists(dataset.file_path(STOP_LIST_RECORD_PARQUET)):
        return record_schema(timezone).empty_table()
    return dataset.read_file(STOP_LIST_RECORD_PARQUET).cast(record_schema(timezone))


def write_record(dataset: Dataset, record: pa.Table) -> str:
    """Replace the record atomically: a run killed mid-write leaves the previous record whole."""
    path = dataset.file_path(STOP_LIST_RECORD_PARQUET)
    dataset.write_parquet(path, record)
    return path


def write_conflicts(dataset: Dataset, conflicts: pa.Table) -> str:
    path = dataset.file_path(STOP_LIST_CONFLICTS_PARQUET)
    dataset.write_parquet(path, conflicts)
    return path
