"""The downstream datasets from the stored partitions: read only what each needs, call the rules.

Between `storage` and `rules` on the data path: each function reads the columns (and rows, by a
Parquet filter) its rule needs, calls the pure rule, and writes the result atomically. The
assets, the demo and the benchmarks all go through here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from lightsms_pipeline.contract import (
    CLASSIFIED,
    INCOMING,
    OPT_OUT_CSV,
    OPT_OUT_PARQUET,
    POLL_CHART_PNG,
    POLL_RESULTS_PARQUET,
    SUPPORT_INBOX,
)
from lightsms_pipeline.errors import LightSMSError
from lightsms_pipeline.presentation.chart import render_poll_chart
from lightsms_pipeline.presentation.csv_export import write_csv_safe
from lightsms_pipeline.rules.classify import classified_schema, classify
from lightsms_pipeline.rules.inbox import support_inbox, support_inbox_columns, support_inbox_filter
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.rules.polls import poll_results, poll_results_columns, poll_results_filter
from lightsms_pipeline.rules.subscriptions import opt_out_events_filter, opt_out_list, opt_out_list_columns
from lightsms_pipeline.storage import Dataset


class MissingUpstreamError(LightSMSError):
    """A downstream day was asked for before its upstream day was materialized."""


@dataclass(frozen=True)
class Written:
    table: pa.Table
    paths: tuple[str, ...]


def _read_day(dataset: Dataset, asset: str, day: date, columns: list[str] | None = None) -> pa.Table:
    if not dataset.has_partition(asset, day):
        raise MissingUpstreamError(f"{asset} has no partition {day}: materialize {asset} for {day} first")
    return dataset.read_partition(asset, day, columns)


def classify_day(dataset: Dataset, day: date, rules: Rules) -> Written:
    """`classified_messages` for one day, from that day's `incoming_messages`."""
    table = classify(_read_day(dataset, INCOMING, day), rules)
    return Written(table, (dataset.write_partition(CLASSIFIED, day, table),))


def support_inbox_day(dataset: Dataset, day: date) -> Written:
    """`support_inbox` for one day, from that day's `classified_messages` (only `other` rows)."""
    classified = _read_day(dataset, CLASSIFIED, day, list(support_inbox_columns()))
    table = support_inbox(classified.filter(support_inbox_filter()))
    return Written(table, (dataset.write_partition(SUPPORT_INBOX, day, table),))


def compute_opt_out_list(dataset: Dataset, rules: Rules) -> pa.Table:
    """The opt-out list over every stored day; reads only the opt-out/opt-in events."""
    events = dataset.read_asset(
        CLASSIFIED, classified_schema(rules.timezone), opt_out_list_columns(), opt_out_events_filter()
    )
    return opt_out_list(events, rules)


def write_opt_out_list(dataset: Dataset, rules: Rules) -> Written:
    table = compute_opt_out_list(dataset, rules)
    parquet = dataset.file_path(OPT_OUT_PARQUET)
    csv = dataset.file_path(OPT_OUT_CSV)
    dataset.write_parquet(parquet, table)
    buffer = io.BytesIO()
    write_csv_safe(table, buffer)
    dataset.write_bytes(csv, buffer.getvalue())
    return Written(table, (parquet, csv))


def compute_poll_results(dataset: Dataset, rules: Rules) -> pa.Table:
    """Every declared poll's results over every stored day; reads only votes and the `other`
    messages near a poll window."""
    rows = dataset.read_asset(
        CLASSIFIED, classified_schema(rules.timezone), poll_results_columns(), poll_results_filter(rules)
    )
    return poll_results(rows, rules)


def write_poll_results(dataset: Dataset, rules: Rules) -> tuple[Written, bytes | None]:
    """The results table, and the chart as PNG bytes (None when no poll is declared)."""
    table = compute_poll_results(dataset, rules)
    parquet = dataset.file_path(POLL_RESULTS_PARQUET)
    dataset.write_parquet(parquet, table)
    if not rules.polls:
        return Written(table, (parquet,)), None
    png = render_poll_chart(table, rules)
    chart = dataset.file_path(POLL_CHART_PNG)
    dataset.write_bytes(chart, png)
    return Written(table, (parquet, chart)), png
