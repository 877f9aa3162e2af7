"""A day's `incoming_messages` file lists its rows by (received_at, id_sms as an integer), also
when ids carry leading zeros within one second: served over HTTP by the simulator, materialized
by Dagster, read back from the Parquet file."""

from __future__ import annotations

import pyarrow.parquet as pq
from conftest import JAN_15
from pipeline import OneDayTraffic
from reliability.partition_files import part_path

from lightsms_pipeline.simulator.traffic import SimMessage


def message(id_sms: str, time: str) -> SimMessage:
    day = JAN_15.isoformat()
    return SimMessage(id_sms, f"{day} {time}", "37061234567", "37060000000", "", f"text {id_sms}")


def test_ids_with_leading_zeros_in_one_second_land_in_integer_order(pipeline, data_dir, simulator):
    # Listed as the API lists ids, ascending as (length, digits): "7" < "9" < "007" < "010". An
    # id with a leading zero moves: 007 (= 7) belongs before 9, and after "7", the same integer
    # spelled shorter.
    simulator.traffic = OneDayTraffic(
        JAN_15,
        [
            message("5", "11:59:59"),
            message("7", "12:00:00"),
            message("9", "12:00:00"),
            message("007", "12:00:00"),
            message("010", "12:00:00"),
            message("0008", "12:00:01"),
        ],
    )
    assert pipeline.materialize(JAN_15).success
    table = pq.read_table(part_path(data_dir, JAN_15))
    assert table["id_sms"].to_pylist() == ["5", "7", "007", "9", "010", "0008"]
    assert table["text"].to_pylist() == [f"text {i}" for i in ["5", "7", "007", "9", "010", "0008"]]
