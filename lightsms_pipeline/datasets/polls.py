"""`poll_results`: every declared poll counted over every stored day, with its chart."""

from __future__ import annotations

import pyarrow as pa

from lightsms_pipeline.contract import CLASSIFIED, POLL_CHART_PNG, POLL_RESULTS_PARQUET
from lightsms_pipeline.datasets.upstream import Written
from lightsms_pipeline.presentation.chart import render_poll_chart
from lightsms_pipeline.rules.classify import classified_schema
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.rules.polls import poll_results, poll_results_columns, poll_results_filter
from lightsms_pipeline.storage import Dataset


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
