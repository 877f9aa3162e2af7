"""`poll_results`: every declared poll counted over every stored day, with its chart."""

from __future__ import annotations

import pyarrow as pa

from lightsms_pipeline.contract import CLASSIFIED, POLL_CHART_PNG, POLL_RESULTS, POLL_RESULTS_PARQUET
from lightsms_pipeline.datasets.upstream import Written
from lightsms_pipeline.presentation.chart import chart_available, render_poll_chart
from lightsms_pipeline.rules.classify import classified_schema
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.rules.polls import (
    countable_poll_rows,
    poll_results,
    poll_results_columns,
    poll_results_filter,
)
from lightsms_pipeline.storage.history_state import DayExtracts, HistoryRead, HistoryState
from lightsms_pipeline.storage.parquet import Dataset


def poll_extracts(rules: Rules) -> DayExtracts:
    """What `poll_results` takes from each day: votes and the replies inside a poll's scope.

    The pushed-down filter is coarse (every `other` message between the first poll's start and the
    last one's end); the exact scope, per row, keeps what is stored to what can be counted.
    """
    return DayExtracts(
        POLL_RESULTS,
        classified_schema(rules.timezone),
        poll_results_columns(),
        poll_results_filter(rules),
        lambda day: countable_poll_rows(day, rules),
    )


def compute_poll_results(dataset: Dataset, rules: Rules) -> pa.Table:
    """Every declared poll's results recomputed from every stored day, no kept state: one filtered
    read of all partitions. The reference `refresh_poll_results` must equal."""
    rows = dataset.read_asset(
        CLASSIFIED, classified_schema(rules.timezone), poll_results_columns(), poll_results_filter(rules)
    )
    return poll_results(rows, rules)


def refresh_poll_results(dataset: Dataset, rules: Rules) -> tuple[pa.Table, HistoryRead]:
    """Every declared poll's results from the kept per-day extracts, reading only changed days."""
    history = HistoryState(dataset, poll_extracts(rules), rules.fingerprint()).read()
    return poll_results(history.table, rules), history


def write_poll_results(dataset: Dataset, rules: Rules) -> tuple[Written, bytes | None]:
    """The results table, and the chart as PNG bytes (None when no poll is declared, or without
    matplotlib: presentation/chart.py)."""
    written, png, _ = write_poll_results_read(dataset, rules)
    return written, png


def write_poll_results_read(dataset: Dataset, rules: Rules) -> tuple[Written, bytes | None, HistoryRead]:
    """`write_poll_results`, and how the history was read (days read afresh, days reused)."""
    table, history = refresh_poll_results(dataset, rules)
    parquet = dataset.write_file(POLL_RESULTS_PARQUET, table)
    chart = dataset.file_path(POLL_CHART_PNG)
    if not rules.polls or not chart_available():
        if rules.polls and dataset.fs.exists(chart):
            dataset.fs.rm(chart)  # an old picture beside new results would show old counts
        return Written(table, (parquet,)), None, history
    png = render_poll_chart(table, rules)
    dataset.write_bytes(chart, png)
    return Written(table, (parquet, chart)), png, history
