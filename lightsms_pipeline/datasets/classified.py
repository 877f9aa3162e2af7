"""`classified_messages`: each day of `incoming_messages`, classified under the rules."""

from __future__ import annotations

from datetime import date

from lightsms_pipeline.contract import CLASSIFIED, INCOMING
from lightsms_pipeline.datasets.upstream import Written, read_upstream_day
from lightsms_pipeline.rules.classify import classify
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.storage.parquet import Dataset


def classify_day(dataset: Dataset, day: date, rules: Rules) -> Written:
    """`classified_messages` for one day, from that day's `incoming_messages`."""
    table = classify(read_upstream_day(dataset, INCOMING, day), rules)
    return Written(table, (dataset.write_partition(CLASSIFIED, day, table),))
