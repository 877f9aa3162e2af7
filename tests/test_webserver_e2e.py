"""End to end as a user does it: `dagster dev -w workspace.yaml` (webserver and daemon), a run
launched through GraphQL, and the Parquet read back with pandas."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import requests
from conftest import API_KEY
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError
from sender_truth import expected_e164

REPO = Path(__file__).resolve().parents[1]
DEADLINE_SECONDS = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "dagster dev exited early"
        try:
            if requests.get(f"{url}/server_info", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError("dagster dev did not come up")


@pytest.fixture
def webserver(pipeline_env: dict[str, str], tmp_path: Path):
    port = free_port()
    log = (tmp_path / "webserver.log").open("wb")
    binary = Path(sys.executable).with_name("dagster")
    process = subprocess.Popen(
        [str(binary), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        # The runs here are the test's own: the live pick-up, on by default under the daemon,
        # would add today's partition to the folder it reads (tests/cli/test_live_daemon.py).
        env={**pipeline_env, "LIGHTSMS_LIVE_INTERVAL_SECONDS": "0"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process)
        yield port
    finally:
        process.send_signal(signal.SIGINT)  # dagster dev stops its webserver and daemon on Ctrl-C
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.mark.slow
def test_run_launched_through_graphql_writes_parquet_pandas_can_read(webserver, data_dir, traffic, tmp_path):
    client = DagsterGraphQLClient("127.0.0.1", port_number=webserver)
    run_id = client.submit_job_execution(
        "lightsms_job",
        tags={
            "dagster/asset_partition_range_start": "2025-01-14",
            "dagster/asset_partition_range_end": "2025-01-15",
        },
    )
    deadline = time.monotonic() + DEADLINE_SECONDS
    status = None
    while time.monotonic() < deadline:
        try:
            status = client.get_run_status(run_id).value
        except DagsterGraphQLClientError:
            status = None
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(0.5)
    assert status == "SUCCESS", (tmp_path / "webserver.log").read_text(errors="replace")[-3000:]
    df = pd.read_parquet(data_dir / "incoming_messages")
    expected = [
        (m.id_sms, m.sender, expected_e164(m.sender)) for d in (14, 15) for m in traffic.day(date(2025, 1, d))
    ]
    columns = df[["id_sms", "sender", "sender_e164"]].astype(object)
    got = [tuple(row) for row in columns.where(columns.notna(), None).itertuples(index=False)]
    assert sorted(got) == sorted(expected)
    assert set(df["date"].astype(str)) == {"2025-01-14", "2025-01-15"}
    # The run's record and events live in DAGSTER_HOME; the key must not be among them.
    for path in Path(os.environ["DAGSTER_HOME"]).rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path
