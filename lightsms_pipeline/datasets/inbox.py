"""`support_inbox`: each day's `other` messages, for a person to answer."""

from __future__ import annotations

from datetime import date

from lightsms_pipeline.contract import CLASSIFIED, SUPPORT_INBOX
from lightsms_pipeline.datasets.upstream import Written, read_upstream_day
from lightsms_pipeline.rules.inbox import support_inbox, support_inbox_columns, support_inbox_filter
from lightsms_pipeline.storage.parquet import Dataset


def support_inbox_day(dataset: Dataset, day: date) -> Written:
    """`support_inbox` for one day, from that day's `classified_messages` (only `other` rows)."""
    classified = read_upstream_day(dataset, CLASSIFIED, day, list(support_inbox_columns()))
    table = support_inbox(classified.filter(support_inbox_filter()))
    return Written(table, (dataset.write_partition(SUPPORT_INBOX, day, table),))
