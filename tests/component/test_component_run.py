"""A day materialized through a user's `defs.yaml` of `LightSMSComponent`: real HTTP to the
simulator, a real Dagster run on the test's instance, the real Parquet file read back."""

from __future__ import annotations

from pathlib import Path

from component_sandbox import TYPE_LINE, loaded
from conftest import API_KEY, JAN_15, LOGIN, RULES_FILE
from dagster import AssetKey, DagsterInstance
from reliability.partition_files import expected_rows, file_rows, part_path

from lightsms_pipeline.assets.schedules import range_run_request
from lightsms_pipeline.contract import INCOMING, MAIN_JOB
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic

KEY_VARIABLE = "COMPONENT_TEST_LIGHTSMS_KEY"  # not LIGHTSMS_API_KEY: api_key_env is what is read


def test_a_defs_yaml_materializes_a_day_of_incoming_messages_from_the_api(
    simulator: SimulatorServer, traffic: Traffic, data_dir: Path, dagster_home: Path, monkeypatch
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, API_KEY)
    monkeypatch.delenv("LIGHTSMS_API_KEY", raising=False)
    text = (
        TYPE_LINE
        + f"""
attributes:
  login: {LOGIN}
  api_key_env: {KEY_VARIABLE}
  base_url: {simulator.base_url}
  data_dir: {data_dir}
  start_date: 2024-10-01
  rules_file: {RULES_FILE}
  parallelism: 2
  max_attempts: 4
  timeout_seconds: 5
  run_retries: 0
"""
    )
    with loaded(text) as (_, defs, path):
        job = defs.resolve_job_def(MAIN_JOB)
        tags = range_run_request(JAN_15, JAN_15, run_key="component-test").tags
        with DagsterInstance.get() as instance:
            result = job.execute_in_process(
                instance=instance, tags=tags, asset_selection=[AssetKey(INCOMING)]
            )
        assert API_KEY not in path.read_text(encoding="utf-8")
    assert result.success
    day = part_path(data_dir, JAN_15)
    assert day == data_dir / "incoming_messages" / "date=2025-01-15" / "part-0.parquet"
    rows = file_rows(day)
    assert rows and rows == expected_rows(traffic, JAN_15)
