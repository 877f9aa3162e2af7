"""`incoming_messages` materialized for real against the simulator; the Parquet read back."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import JAN_15
from dagster import AssetKey, DagsterEventType, DagsterInstance
from reliability.partition_files import expected_rows, file_rows, part_path

from lightsms_pipeline.normalize.schema import incoming_schema
from lightsms_pipeline.simulator.faults import FaultPlan
from lightsms_pipeline.simulator.traffic import Traffic

VILNIUS = ZoneInfo("Europe/Vilnius")


def test_single_day_writes_exactly_the_days_messages_with_the_schema(pipeline, data_dir, traffic):
    result = pipeline.materialize(JAN_15)
    assert result.success
    path = part_path(data_dir, JAN_15)
    table = pq.read_table(path)
    assert table.schema.remove_metadata() == incoming_schema("Europe/Vilnius")
    assert file_rows(path) == expected_rows(traffic, JAN_15)
    assert set(table["account"].to_pylist()) == {"test-login"}
    assert table["sender_e164"].null_count < table.num_rows  # most senders are phone numbers
    assert table["sender_e164"].null_count > 0  # short codes and alphanumeric senders are not


def test_a_days_file_carries_received_at_min_max_and_no_dictionary_for_its_unique_columns(
    pipeline, data_dir, traffic
):
    # A query over a time range (DuckDB, pyarrow.dataset) skips files by received_at's min and
    # max. Ids and times (nearly) never repeat in a day: a dictionary of them only makes the
    # file larger (Dataset.write_parquet), while senders repeat and keep theirs.
    assert pipeline.materialize(JAN_15).success
    row_group = pq.ParquetFile(part_path(data_dir, JAN_15)).metadata.row_group(0)
    columns = {row_group.column(i).path_in_schema: row_group.column(i) for i in range(row_group.num_columns)}
    times = sorted(pq.read_table(part_path(data_dir, JAN_15))["received_at"].to_pylist())
    assert len(times) == len(traffic.day(JAN_15))
    received = columns["received_at"].statistics
    assert received is not None and received.has_min_max
    assert (received.min.timestamp(), received.max.timestamp()) == (
        times[0].timestamp(),
        times[-1].timestamp(),
    )
    for name in ("id_sms", "received_at"):
        assert not columns[name].has_dictionary_page, name
    assert columns["sender"].has_dictionary_page


def test_materialization_reports_rows_schema_path_preview_and_fetch_stats(pipeline, traffic):
    result = pipeline.materialize(JAN_15)
    (mat,) = result.asset_materializations_for_node("incoming_messages")
    meta = mat.metadata
    assert meta["dagster/row_count"].value == len(traffic.day(JAN_15))
    assert meta["path"].value.endswith("date=2025-01-15/part-0.parquet")
    preview = meta["preview"].value
    assert [c.name for c in preview.schema.columns] == incoming_schema("Europe/Vilnius").names
    assert [(r.data["id_sms"], r.data["sender"]) for r in preview.records] == [
        (m.id_sms, m.sender) for m in traffic.day(JAN_15)[:5]
    ]
    assert meta["fetch_requests"].value >= 1 and "fetch_retries" in meta
    assert meta["distinct_senders"].value == len({m.sender for m in traffic.day(JAN_15)})


def test_month_long_range_is_one_run_with_every_day(pipeline, data_dir, traffic, simulator):
    start, end = date(2025, 1, 1), date(2025, 1, 31)
    result = pipeline.materialize(start, end)
    assert result.success
    with DagsterInstance.get() as instance:
        assert len(instance.get_run_records()) == 1
        keys = instance.get_materialized_partitions(AssetKey("incoming_messages"))
    days = [start + timedelta(days=n) for n in range(31)]
    assert keys == {d.isoformat() for d in days}
    # One materialization per partition, each with the run's metadata.
    mat = result.asset_materializations_for_node("incoming_messages")[0]
    per_day = mat.metadata["rows_per_day"].value.records
    assert [(r.data["day"], r.data["rows"], r.data["senders"]) for r in per_day] == [
        (d.isoformat(), len(traffic.day(d)), len({m.sender for m in traffic.day(d)})) for d in days
    ]
    for d in days:
        assert file_rows(part_path(data_dir, d)) == expected_rows(traffic, d)
    assert simulator.stats.by_endpoint["incoming.php"] == 31


def test_rerun_replaces_the_partition_never_appends(pipeline, data_dir, traffic):
    pipeline.materialize(JAN_15)
    first = pq.read_table(part_path(data_dir, JAN_15))
    pipeline.materialize(JAN_15)
    second = pq.read_table(part_path(data_dir, JAN_15))
    assert second.num_rows == first.num_rows == len(traffic.day(JAN_15))
    assert second["id_sms"].to_pylist() == first["id_sms"].to_pylist()
    assert sorted(os.listdir(part_path(data_dir, JAN_15).parent)) == ["part-0.parquet"]


def test_empty_day_writes_an_empty_file_with_the_full_schema(pipeline, data_dir, simulator):
    empty = date(2025, 1, 20)
    simulator.traffic = Traffic(seed=7, per_day=60, empty_days=frozenset({empty}))
    assert pipeline.materialize(empty).success
    table = pq.read_table(part_path(data_dir, empty))
    assert table.num_rows == 0
    assert table.schema.remove_metadata() == incoming_schema("Europe/Vilnius")


def test_pandas_reads_the_whole_dataset_with_a_date_column(pipeline, data_dir, traffic):
    pipeline.materialize(date(2025, 1, 14), date(2025, 1, 16))
    df = pd.read_parquet(data_dir / "incoming_messages")
    assert len(df) == sum(len(traffic.day(date(2025, 1, d))) for d in (14, 15, 16))
    assert sorted(df["date"].astype(str).unique()) == ["2025-01-14", "2025-01-15", "2025-01-16"]


@pytest.mark.parametrize("day", [date(2024, 10, 27), date(2025, 3, 30)], ids=["autumn-25h", "spring-23h"])
def test_dst_days_keep_every_message_inside_the_local_day(pipeline, data_dir, traffic, day):
    result = pipeline.materialize(day)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["received_at_inside_partition_day"]
    times = pq.read_table(part_path(data_dir, day))["received_at"].to_pylist()
    assert len(times) == len(traffic.day(day))
    start = datetime(day.year, day.month, day.day, tzinfo=VILNIUS)
    assert all(start <= t < start + timedelta(days=1, hours=2) for t in times)
    assert [t.astimezone(VILNIUS).date() for t in times] == [day] * len(times)


def test_failed_day_keeps_its_previous_file_and_other_days_land(pipeline, data_dir, simulator):
    d1, d2 = date(2025, 1, 15), date(2025, 1, 16)
    pipeline.materialize(d1, d2)
    before = part_path(data_dir, d2).read_bytes()
    simulator.faults = FaultPlan(fail_dates={d2.isoformat()})
    result = pipeline.materialize(d1, d2, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None and "2025-01-16" in failure.message and "incoming.php" in failure.message
    assert part_path(data_dir, d2).read_bytes() == before
    with DagsterInstance.get() as instance:
        events = [r.dagster_event for r in instance.all_logs(result.run_id) if r.dagster_event]
    landed = [
        e.step_materialization_data.materialization.partition for e in events if e.is_step_materialization
    ]
    assert landed == [d1.isoformat()]
    simulator.faults = None
    assert pipeline.materialize(d2).success


def test_asset_checks_pass_on_good_data(pipeline):
    result = pipeline.materialize(JAN_15)
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == {
        "id_sms_unique",
        "received_at_inside_partition_day",
        "required_columns_not_null",
    }
    assert all(e.passed for e in evaluations)


def test_step_retry_heals_a_transient_outage_without_refetching_landed_days(
    pipeline, data_dir, simulator, monkeypatch
):
    pipeline = pipeline.with_settings(
        run_retries=1,
        run_retry_delay_seconds=0,
    )
    d1, d2 = date(2025, 1, 15), date(2025, 1, 16)
    # d2's first four requests fail: the client's whole budget, so the first attempt fails.
    simulator.faults = FaultPlan(script=[], fail_dates={d2.isoformat()})
    original = simulator.faults.choose
    calls = {"n": 0}

    def outage_then_recovery(endpoint, date_param=None):
        if endpoint == "incoming.php" and date_param == d2.isoformat():
            calls["n"] += 1
            if calls["n"] > 4:
                return None
        return original(endpoint, date_param)

    monkeypatch.setattr(simulator.faults, "choose", outage_then_recovery)
    result = pipeline.materialize(d1, d2)
    assert result.success
    assert part_path(data_dir, d2).exists()
    with DagsterInstance.get() as instance:
        kinds = [r.dagster_event.event_type for r in instance.all_logs(result.run_id) if r.dagster_event]
    # It healed through one step retry: the step failed, was restarted, and asked for d2 again.
    assert kinds.count(DagsterEventType.STEP_UP_FOR_RETRY) == 1
    assert kinds.count(DagsterEventType.STEP_RESTARTED) == 1
    requested = [p.get("date") for p in simulator.log]
    assert requested.count(d2.isoformat()) == 5  # the client's 4 attempts, then the retry's one
    assert requested.count(d1.isoformat()) == 1  # landed in the first attempt, kept on the retry


def test_xml_responses_give_the_same_partition_as_json(pipeline, data_dir, traffic, monkeypatch):
    pipeline = pipeline.with_settings(response_format="xml")
    assert pipeline.materialize(JAN_15).success
    assert file_rows(part_path(data_dir, JAN_15)) == expected_rows(traffic, JAN_15)


def test_sender_hash_salt_publishes_keyed_hashes_instead_of_numbers(pipeline, data_dir, traffic, monkeypatch):
    pipeline = pipeline.with_settings(sender_hash_salt="pepper")
    assert pipeline.materialize(JAN_15, assets=None).success
    senders = {m.sender for m in traffic.day(JAN_15)}
    for asset in ("incoming_messages", "classified_messages", "support_inbox"):
        table = pq.read_table(data_dir / asset / f"date={JAN_15}" / "part-0.parquet")
        published = set(table["sender"].to_pylist()) | set(table["sender_e164"].drop_null().to_pylist())
        assert published and all(s.startswith("h:") for s in published)
        assert not published & senders
    opt_outs = pq.read_table(data_dir / "opt_out_list.parquet")
    assert all(s.startswith("h:") for s in opt_outs["subscriber"].to_pylist())
    crm_export = (data_dir / "opt_out_list.csv").read_text(encoding="utf-8")
    assert not any(s in crm_export for s in senders if len(s) > 6)
