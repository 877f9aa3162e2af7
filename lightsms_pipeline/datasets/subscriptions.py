"""`opt_out_list`: who is opted out now, over every stored day, as Parquet and a CRM-safe CSV."""

from __future__ import annotations

import io

import pyarrow as pa

from lightsms_pipeline.contract import CLASSIFIED, OPT_OUT_CSV, OPT_OUT_LIST, OPT_OUT_PARQUET
from lightsms_pipeline.datasets.upstream import Written
from lightsms_pipeline.presentation.csv_export import write_csv_safe
from lightsms_pipeline.rules.classify import classified_schema
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.rules.subscriptions import opt_out_events_filter, opt_out_list, opt_out_list_columns
from lightsms_pipeline.storage.history_state import DayExtracts, HistoryRead, HistoryState
from lightsms_pipeline.storage.parquet import Dataset


def opt_out_extracts(rules: Rules) -> DayExtracts:
    """What `opt_out_list` takes from each day: its opt-out/opt-in events, the needed columns."""
    return DayExtracts(
        OPT_OUT_LIST, classified_schema(rules.timezone), opt_out_list_columns(), opt_out_events_filter()
    )


def compute_opt_out_list(dataset: Dataset, rules: Rules) -> pa.Table:
    """The opt-out list recomputed from every stored day, no kept state: one filtered read of all
    partitions. The reference `refresh_opt_out_list` must equal."""
    events = dataset.read_asset(
        CLASSIFIED, classified_schema(rules.timezone), opt_out_list_columns(), opt_out_events_filter()
    )
    return opt_out_list(events, rules)


def refresh_opt_out_list(dataset: Dataset, rules: Rules) -> tuple[pa.Table, HistoryRead]:
    """The opt-out list from the kept per-day extracts, reading only days that changed."""
    history = HistoryState(dataset, opt_out_extracts(rules), rules.fingerprint()).read()
    return opt_out_list(history.table, rules), history


def write_opt_out_list(dataset: Dataset, rules: Rules) -> Written:
    """Compute the list and replace `opt_out_list.parquet` and `opt_out_list.csv`."""
    return write_opt_out_list_read(dataset, rules)[0]


def write_opt_out_list_read(dataset: Dataset, rules: Rules) -> tuple[Written, HistoryRead]:
    """`write_opt_out_list`, and how the history was read (days read afresh, days reused)."""
    table, history = refresh_opt_out_list(dataset, rules)
    parquet = dataset.write_file(OPT_OUT_PARQUET, table)
    csv = dataset.file_path(OPT_OUT_CSV)
    buffer = io.BytesIO()
    write_csv_safe(table, buffer)
    dataset.write_bytes(csv, buffer.getvalue())
    return Written(table, (parquet, csv)), history
