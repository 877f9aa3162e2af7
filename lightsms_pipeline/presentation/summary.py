"""The summary `make demo` prints: what landed, who opted out, what the polls say, the inbox size,
and what the stop-list sync pushed or, in a dry run, would push.

It reads the files the run wrote, the same numbers the Dagster UI shows as metadata.
"""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa

from lightsms_pipeline.contract import (
    CLASSIFIED,
    INCOMING,
    OPT_OUT_CSV,
    OPT_OUT_PARQUET,
    POLL_CHART_PNG,
    POLL_RESULTS_PARQUET,
    STOP_LIST_CONFLICTS_PARQUET,
    STOP_LIST_RECORD_PARQUET,
    SUPPORT_INBOX,
)
from lightsms_pipeline.storage.parquet import Dataset


def summary_lines(store: Dataset, start: date, end: date) -> list[str]:
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    lines = [f"incoming_messages  {store.uri(store.asset_dir(INCOMING))}"]
    total = inbox = flagged = 0
    for day in days:
        rows = store.read_partition(INCOMING, day, ["id_sms"]).num_rows
        classes = store.read_partition(CLASSIFIED, day, ["class"])["class"].value_counts().to_pylist()
        counts = {c["values"]: c["counts"] for c in classes}
        day_inbox = store.read_partition(SUPPORT_INBOX, day, ["possible_opt_out"])
        total += rows
        inbox += day_inbox.num_rows
        flagged += sum(day_inbox["possible_opt_out"].to_pylist())
        mix = ", ".join(
            f"{k} {counts.get(k, 0)}" for k in ("opt_out", "opt_in", "poll_vote", "help", "other")
        )
        lines.append(f"  {day}  {rows:5d} messages  ({mix})")
    lines.append(f"  total       {total:5d} messages")

    opt_outs = store.read_file(OPT_OUT_PARQUET)
    csv_uri = store.uri(store.file_path(OPT_OUT_CSV))
    lines.append(f"opt_out_list       {opt_outs.num_rows} subscribers opted out  ({csv_uri})")
    lines.append(f"support_inbox      {inbox} messages need a reply, {flagged} flagged possible_opt_out")
    lines.append(_stop_list_line(store))
    lines.extend(_poll_lines(store.read_file(POLL_RESULTS_PARQUET)))
    if store.fs.exists(store.file_path(POLL_CHART_PNG)):
        lines.append(f"  chart: {store.uri(store.file_path(POLL_CHART_PNG))}")
    return lines


def _stop_list_line(store: Dataset) -> str:
    if not store.fs.exists(store.file_path(STOP_LIST_RECORD_PARQUET)):
        return "stop_list_sync     no record (LIGHTSMS_STOP_LIST_SYNC=off): nothing looked up or pushed"
    actions = store.read_file(STOP_LIST_RECORD_PARQUET)["action"].to_pylist()
    conflicts = store.read_file(STOP_LIST_CONFLICTS_PARQUET).num_rows
    conflicts_uri = store.uri(store.file_path(STOP_LIST_CONFLICTS_PARQUET))
    return (
        f"stop_list_sync     {actions.count('would_push')} numbers would be pushed (dry run), "
        f"{actions.count('pushed')} pushed, {actions.count('already_listed')} already listed; "
        f"{conflicts} conflicts for a person  ({conflicts_uri})"
    )


def _poll_lines(results: pa.Table) -> list[str]:
    if results.num_rows == 0:
        return ["poll_results       no polls declared (see rules.yaml)"]
    lines = []
    current = None
    for row in results.to_pylist():
        if row["poll_id"] != current:
            current = row["poll_id"]
            lines.append(
                f"poll_results       {current}: {row['voters']} voters, {row['superseded']} superseded, "
                f"{row['invalid']} invalid"
            )
        bar = "#" * round(row["share"] * 40)
        lines.append(f"  {row['option']:>3} {row['label']:<12} {row['votes']:5d}  {row['share']:6.1%}  {bar}")
    return lines


def print_summary(store: Dataset, start: date, end: date) -> None:
    print("\n" + "\n".join(summary_lines(store, start, end)))
