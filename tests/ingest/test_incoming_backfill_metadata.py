"""A long backfill through Dagster: every day exact, and the run's per-day table written once (an
observation) instead of onto each day's materialization."""

from __future__ import annotations

from datetime import date, timedelta

from reliability.partition_files import expected_rows, file_rows, part_path

from lightsms_pipeline.assets.incoming import MAX_DAYS_ON_EACH

START = date(2024, 11, 1)
DAYS = [START + timedelta(days=n) for n in range(MAX_DAYS_ON_EACH + 1)]


def test_a_backfill_longer_than_the_listed_days_writes_its_per_day_table_once(pipeline, data_dir, traffic):
    result = pipeline.materialize(DAYS[0], DAYS[-1])

    assert result.success
    mats = result.asset_materializations_for_node("incoming_messages")
    assert sorted(m.partition for m in mats) == [d.isoformat() for d in DAYS]
    for mat in mats:
        assert "dagster/column_schema" not in mat.metadata and "preview" not in mat.metadata
        assert mat.metadata["days"].value == len(DAYS)
        assert mat.metadata["rows_per_day"].value == "in this run's observation of incoming_messages"
    sizes = sorted(len(traffic.day(d)) for d in DAYS)
    assert mats[0].metadata["rows_per_day_min_median_max"].value == (
        f"{sizes[0]:,} / {sizes[len(sizes) // 2]:,} / {sizes[-1]:,}"
    )
    (observation,) = result.asset_observations_for_node("incoming_messages")
    records = observation.metadata["rows_per_day"].value.records
    assert [(r.data["day"], r.data["rows"], r.data["senders"]) for r in records] == [
        (d.isoformat(), len(traffic.day(d)), len({m.sender for m in traffic.day(d)})) for d in DAYS
    ]
    for d in DAYS:
        assert file_rows(part_path(data_dir, d)) == expected_rows(traffic, d)
