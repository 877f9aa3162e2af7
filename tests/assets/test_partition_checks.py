"""The partition invariants behind the asset checks, on hand-made bad tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pyarrow as pa

from lightsms_pipeline.ingest.engine import PartitionFindings, check_partition
from lightsms_pipeline.normalize.schema import incoming_schema

TZ = "Europe/Vilnius"
VILNIUS = ZoneInfo(TZ)
DAY = date(2025, 1, 15)


def table(rows: list[tuple[str, datetime | None, str | None]]) -> pa.Table:
    n = len(rows)
    return pa.Table.from_pydict(
        {
            "id_sms": [r[0] for r in rows],
            "received_at": [r[1] for r in rows],
            "sender": ["37060000000"] * n,
            "sender_e164": ["+37060000000"] * n,
            "phone": [None] * n,
            "prefix": [""] * n,
            "text": [r[2] for r in rows],
            "account": ["demo"] * n,
            "fetched_at": [datetime(2025, 1, 16, tzinfo=UTC)] * n,
        },
        schema=incoming_schema(TZ),
    )


def local(hour: int, minute: int = 0, day: int = 15) -> datetime:
    return datetime(2025, 1, day, hour, minute, tzinfo=VILNIUS)


def test_a_clean_day_has_no_findings():
    good = table([("1", local(0), "a"), ("2", local(23, 59), "b")])
    assert check_partition(good, DAY, TZ) == PartitionFindings()


def test_duplicate_ids_are_named():
    dupes = table([("1", local(9), "a"), ("1", local(10), "b"), ("2", local(11), "c")])
    assert check_partition(dupes, DAY, TZ).duplicate_ids == ("1",)


def test_messages_outside_the_local_day_are_named_at_both_edges():
    # 00:00 next day (local) is outside; 23:59 of the day before too; 22:30 UTC on the 14th is
    # 00:30 on the 15th in Vilnius, so inside.
    rows = [
        ("1", local(0, 0, day=16), "late"),
        ("2", local(23, 59, day=14), "early"),
        ("3", datetime(2025, 1, 14, 22, 30, tzinfo=UTC), "inside"),
    ]
    assert check_partition(table(rows), DAY, TZ).outside_day_ids == ("1", "2")


def test_null_required_values_are_named_by_column():
    with_nulls = table([("1", None, "a"), ("2", local(10), None)])
    findings = check_partition(with_nulls, DAY, TZ)
    assert findings.null_columns == ("received_at", "text")
    assert findings.outside_day_ids == ("1",)  # an unknown time is not inside the day either
