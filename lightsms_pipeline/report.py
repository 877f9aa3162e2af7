"""The summary `make demo` prints: what landed, who opted out, what the polls say, the inbox size."""

from __future__ import annotations

from datetime import date, timedelta

from lightsms_pipeline.schema import incoming_schema
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.storage import Dataset


def print_summary(settings: Settings, start: date, end: date) -> None:
    store = Dataset(settings.data_dir)
    print(f"\nincoming_messages ({store.uri(store.asset_dir('incoming_messages'))})")
    day = start
    total = 0
    while day <= end:
        rows = store.read_partition("incoming_messages", day, ["id_sms"]).num_rows
        total += rows
        print(f"  {day}  {rows:6d} messages")
        day += timedelta(days=1)
    all_rows = store.read_asset("incoming_messages", incoming_schema(settings.timezone), ["id_sms"])
    print(f"  {'total':10s}  {total:6d} messages ({all_rows.num_rows} in the whole dataset)")
