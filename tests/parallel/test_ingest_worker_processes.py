"""`ingest_days` over worker processes: the same files as one process, errors per day, a killed
worker failing only the days it held, secrets only through the pipe.

Over real HTTP against the simulator, with real worker processes. Most tests give the run's own
process no slot (`local_slots=0`), so that every day and window provably went through a worker.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import API_KEY, LOGIN
from reliability.partition_files import compare, expected_rows, part_path

from lightsms_pipeline.api.client import LightSMSClient
from lightsms_pipeline.errors import MalformedResponseError
from lightsms_pipeline.ingest.engine import RUN_ID_KEY, DayResult, IngestOptions, ingest_days
from lightsms_pipeline.ingest.processes import MIN_DAYS_FOR_WORKERS, ingest_days_in_processes
from lightsms_pipeline.ingest.worker_pool import MAX_AUTO_PROCESSES, WorkerDiedError, resolve_worker_processes
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.simulator.faults import FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.storage.parquet import Dataset
from parallel.conftest import AUTUMN_DST, same_days

DAYS = [date(2024, 10, 20) + timedelta(days=n) for n in range(MIN_DAYS_FOR_WORKERS)]
SALT = "salt-parallel-5e1d"
SERVED = re.compile(r"worker process \d+: (\d+) tasks served")


def options(processes: int, **changes: object) -> IngestOptions:
    values: dict = {"account": LOGIN, "parallelism": 4, "sender_hash_salt": SALT, "run_id": "run-1"}
    return IngestOptions(**{**values, **changes}, worker_processes=processes)


def in_workers(client: LightSMSClient, root: Path, days: list[date], **kwargs) -> list[DayResult]:
    """Every task in a worker process (none in this one)."""
    return ingest_days_in_processes(
        client, Dataset(root), days, options(2), datetime.now(UTC), local_slots=0, **kwargs
    )


def tasks_served_by_workers(caplog: pytest.LogCaptureFixture) -> int:
    return sum(int(m.group(1)) for r in caplog.records if (m := SERVED.search(r.getMessage())))


def worker_pids() -> list[int]:
    """This process's children running `lightsms_pipeline.ingest.worker_pool`."""
    pids = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"lightsms_pipeline.ingest.worker_pool" in cmdline:
                pids.append(int(pid))
    return pids


def test_days_and_windows_ingested_by_workers_equal_the_one_process_files(
    tmp_path: Path, server: SimulatorServer, client: LightSMSClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lightsms_pipeline")
    one = ingest_days(client, Dataset(tmp_path / "one"), DAYS, options(1))
    server.stats.reset()
    before = client.stats.snapshot()
    spread = in_workers(client, tmp_path / "workers", DAYS)

    assert [r.ok for r in spread] == [True] * len(DAYS), [r.error for r in spread if not r.ok]
    windows = [p for p in server.log if "from" in p]
    assert windows and {p["from"][:10] for p in windows} == {AUTUMN_DST.isoformat()}
    # Every day and every window went through a worker: none ran in this process.
    assert tasks_served_by_workers(caplog) == len(DAYS) + len(windows)
    # The workers' requests are counted by the run's client, as the asset reports them.
    assert client.stats.since(before).requests == server.stats.requests
    # Equal contents but the time each run fetched at.
    for theirs in same_days(one, spread):
        assert theirs.schema.metadata[RUN_ID_KEY.encode()] == b"run-1"
        assert SALT not in str(theirs.column("sender").to_pylist())
    unsalted = tmp_path / "unsalted"
    ingest_days_in_processes(
        client, Dataset(unsalted), [AUTUMN_DST], options(2, sender_hash_salt=""), datetime.now(UTC)
    )
    assert compare(part_path(unsalted, AUTUMN_DST), expected_rows(server.traffic, AUTUMN_DST)).exact


def test_a_day_failing_in_a_worker_is_reported_with_its_typed_error_and_keeps_its_file(
    tmp_path: Path, server: SimulatorServer, client: LightSMSClient
) -> None:
    days = DAYS[:6]
    ingest_days(client, Dataset(tmp_path), days, options(1))
    before = {d: part_path(tmp_path, d).read_bytes() for d in days}
    bad = {days[1], days[4]}
    for day in bad:  # a record that is not an object: refused, not retried
        server.serve_body(b'{"123": "not a record"}', day=day.isoformat())

    results = in_workers(client, tmp_path, days)

    for result in results:
        if result.day in bad:
            assert isinstance(result.error, MalformedResponseError), result.error
            assert result.error.endpoint == "incoming.php" and result.error.window == result.day.isoformat()
            assert f"incoming.php for {result.day}" in str(result.error)
            assert part_path(tmp_path, result.day).read_bytes() == before[result.day]
        else:
            assert result.ok and part_path(tmp_path, result.day).read_bytes() != before[result.day]


def test_a_worker_killed_with_sigkill_fails_only_the_days_it_held(
    tmp_path: Path, server: SimulatorServer, client: LightSMSClient
) -> None:
    days = DAYS[:5]
    ingest_days(client, Dataset(tmp_path), days, options(1))  # also sets the client's clock offset
    before = {d: part_path(tmp_path, d).read_bytes() for d in days}
    server.stats.reset()
    server.faults = FaultPlan(latency_ms=2000)  # the worker's two slots each hold a day for 2 s
    killed: list[int] = []

    def kill_once_both_days_are_asked() -> None:
        deadline = time.monotonic() + 60
        while server.stats.by_endpoint["incoming.php"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        killed.extend(worker_pids())
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        server.faults = None

    killer = threading.Thread(target=kill_once_both_days_are_asked)
    killer.start()
    results = in_workers(client, tmp_path, days)
    killer.join()

    assert len(killed) == 1
    held = set(days[:2])  # the first two days of the queue, one in each of the worker's slots
    for result in results:
        if result.day in held:
            assert isinstance(result.error, WorkerDiedError), result.error
            assert str(result.day) in str(result.error) and "killed by SIGKILL" in str(result.error)
            assert part_path(tmp_path, result.day).read_bytes() == before[result.day]
        else:  # taken over by this process once no worker was left
            assert result.ok, result.error


def test_a_retry_in_workers_keeps_the_days_this_run_already_wrote_without_asking_again(
    tmp_path: Path, server: SimulatorServer, client: LightSMSClient
) -> None:
    days = DAYS[:4]
    in_workers(client, tmp_path, days[:2])  # run-1 wrote two days, then failed
    written = {d: part_path(tmp_path, d).read_bytes() for d in days[:2]}
    server.stats.reset()

    retried = ingest_days_in_processes(
        client, Dataset(tmp_path), days, options(2, resume=True), datetime.now(UTC), local_slots=0
    )

    assert all(r.ok for r in retried) and [r.rows > 0 for r in retried] == [True] * 4
    assert sorted(p["date"] for p in server.log) == [d.isoformat() for d in days[2:]]
    assert all(part_path(tmp_path, d).read_bytes() == written[d] for d in days[:2])


def test_workers_get_the_key_and_salt_through_their_pipe_not_argv_or_environment(
    tmp_path: Path, client: LightSMSClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIGHTSMS_API_KEY", API_KEY)  # as a deployment holds it, for EnvVar
    monkeypatch.setenv("LIGHTSMS_SENDER_HASH_SALT", SALT)
    seen: list[tuple[bytes, bytes]] = []

    def look(_: DayResult) -> None:
        for pid in worker_pids():
            proc = Path(f"/proc/{pid}")
            seen.append(((proc / "cmdline").read_bytes(), (proc / "environ").read_bytes()))

    results = in_workers(client, tmp_path, DAYS[:3], on_done=look)

    assert all(r.ok for r in results) and seen
    for cmdline, environ in seen:
        assert API_KEY.encode() not in cmdline + environ and SALT.encode() not in cmdline + environ
    assert API_KEY not in repr(client.spec())
    assert SALT not in repr(options(2))


def test_worker_processes_auto_is_one_per_core_capped_and_off_below_two() -> None:
    cores = len(os.sched_getaffinity(0))
    assert resolve_worker_processes("auto") == max(1, min(cores, MAX_AUTO_PROCESSES))
    assert (resolve_worker_processes(0), resolve_worker_processes(1), resolve_worker_processes(3)) == (
        1,
        1,
        3,
    )
    assert Settings.from_env({}).worker_processes == "auto"
    assert Settings.from_env({"LIGHTSMS_WORKER_PROCESSES": "2"}).worker_processes == 2
