"""`stop_list_sync` over HTTP to the simulator: real Dagster runs, real Parquet, the simulator's
own stop list as the provider's truth.

Two days (2025-01-12..13) are materialized once per module, with the sync off, into a template
data dir; each test copies it and runs the sync against a fresh simulator (same traffic, empty
stop list). The opt-out list is the input: its phone subscribers are what must reach the list.
"""

from __future__ import annotations

import logging
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from conftest import API_KEY, LOGIN, RULES_FILE
from dagster import AssetCheckSeverity, AssetKey, DagsterInstance, ExecuteInProcessResult
from pipeline import Pipeline, materialize
from reliability.materializer import kill, wait_until

from lightsms_pipeline.contract import (
    CLASSIFIED,
    INCOMING,
    MAIN_JOB,
    OPT_OUT_LIST,
    STOP_LIST_CLOCK_CHECK,
    STOP_LIST_CONFLICTS_PARQUET,
    STOP_LIST_RECORD_PARQUET,
    STOP_LIST_SYNC,
)
from lightsms_pipeline.datasets.stop_list import read_opt_out_list
from lightsms_pipeline.datasets.upstream import MissingUpstreamError
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.settings import API_KEY_VARIABLE, LOGIN_VARIABLE, Settings
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.stop_list import ADD_TO_STOP, FIND_ON_STOP
from lightsms_pipeline.simulator.traffic import Traffic
from lightsms_pipeline.storage.parquet import Dataset

D12, D13, D14 = date(2025, 1, 12), date(2025, 1, 13), date(2025, 1, 14)
REPO_ROOT = Path(__file__).resolve().parents[2]
OPTED_IN_ON_D14 = "+48554082054"  # STOP on the 12th, "Yes" on the 14th
ALPHANUMERIC = "Telia"  # STOP on the 12th: on the opt-out list, cannot be pushed
# One worker builds the shared days once; the tests are sequential HTTP and Dagster runs anyway.
pytestmark = pytest.mark.xdist_group("stop_list_sync")
# What the sync needs and nothing else (no inbox, no poll chart): the runs stay short.
SYNC_PATH = (INCOMING, CLASSIFIED, OPT_OUT_LIST, STOP_LIST_SYNC)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """incoming..opt_out_list for the two days, built once (sync off: no stop-list call)."""
    root = tmp_path_factory.mktemp("stop-list-upstream")
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with (
        SimulatorServer(Traffic(seed=7, per_day=60), login=LOGIN, api_key=API_KEY) as sim,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv("DAGSTER_HOME", str(home))
        env.setenv(LOGIN_VARIABLE, LOGIN)
        env.setenv(API_KEY_VARIABLE, API_KEY)
        settings = Settings(
            base_url=sim.base_url,
            data_dir=str(root / "data"),
            start_date="2024-10-01",
            rules_file=str(RULES_FILE),
            run_retries=0,
            stop_list_sync="off",
        )
        assert materialize(settings, D12, D13, assets=SYNC_PATH[:-1]).success
    return root / "data"


@pytest.fixture
def synced(pipeline: Pipeline, upstream: Path, data_dir: Path) -> Pipeline:
    """The pipeline on a copy of the two days, mode on."""
    shutil.copytree(upstream, data_dir, dirs_exist_ok=True)
    return pipeline.with_settings(stop_list_sync="on")


def run_sync(p: Pipeline) -> ExecuteInProcessResult:
    """The stop-list asset alone, as the UI's "Materialize" on it runs it."""
    job = build_definitions(p.settings).resolve_job_def(MAIN_JOB)
    with DagsterInstance.get() as instance:
        return job.execute_in_process(
            instance=instance, asset_selection=[AssetKey(STOP_LIST_SYNC)], raise_on_error=False
        )


def phone_opt_outs(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The opt-out list's phone subscribers, E.164 -> their row: what must reach the stop list."""
    rows = pq.read_table(data_dir / "opt_out_list.parquet").to_pylist()
    return {r["subscriber"]: r for r in rows if r["subscriber"].startswith("+")}


def record(data_dir: Path) -> list[dict[str, Any]]:
    return pq.read_table(data_dir / STOP_LIST_RECORD_PARQUET).to_pylist()


def actions(data_dir: Path) -> dict[str, str]:
    rows = record(data_dir)
    assert len({r["subscriber"] for r in rows}) == len(rows), "a subscriber recorded twice"
    return {r["subscriber"]: r["action"] for r in rows}


def conflicts(data_dir: Path) -> dict[str, str]:
    return {
        r["subscriber"]: r["conflict"]
        for r in pq.read_table(data_dir / STOP_LIST_CONFLICTS_PARQUET).to_pylist()
    }


def clock(result: ExecuteInProcessResult) -> Any:
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == STOP_LIST_CLOCK_CHECK]
    return evaluation


def sync_metadata(result: ExecuteInProcessResult) -> dict[str, Any]:
    (mat,) = result.asset_materializations_for_node(STOP_LIST_SYNC)
    return {k: v.value for k, v in mat.metadata.items()}


def digits(subscriber: str) -> str:
    return subscriber.removeprefix("+")


def test_dry_run_records_would_push_looks_up_and_changes_nothing_at_the_provider(
    synced: Pipeline, simulator: SimulatorServer, data_dir: Path
) -> None:
    phones = phone_opt_outs(data_dir)
    listed = sorted(phones)[0]
    simulator.stop_list.preload(digits(listed), "2024-08-29 11:07:43")
    dry = synced.with_settings(stop_list_sync="dry-run")

    result = run_sync(dry)
    assert result.success
    assert actions(data_dir) == {s: "already_listed" if s == listed else "would_push" for s in phones}
    for row in record(data_dir):
        evidence = phones[row["subscriber"]]
        assert (row["mode"], row["id_sms"]) == ("dry-run", evidence["id_sms"])
        assert row["first_opted_out_at"] == evidence["first_opted_out_at"]
        assert row["provider_answer"] == ("2024-08-29 11:07:43" if row["subscriber"] == listed else None)
    assert simulator.stats.by_endpoint[ADD_TO_STOP] == 0 and len(simulator.stop_list) == 1
    assert simulator.stats.by_endpoint[FIND_ON_STOP] == len(phones)  # lookups are read-only
    assert conflicts(data_dir) == {ALPHANUMERIC: "not_a_phone_number"}
    meta = sync_metadata(result)
    assert (meta["would_push"], meta["already_listed"], meta["conflicts"]) == (len(phones) - 1, 1, 1)
    warning = clock(result)
    assert not warning.passed and warning.severity == AssetCheckSeverity.WARN
    assert warning.description.startswith(f"{len(phones) - 1} opt-out(s) waited longer than 24 h")


def test_on_pushes_each_number_once_a_rerun_pushes_nothing_and_a_later_opt_in_is_a_conflict(
    synced: Pipeline, simulator: SimulatorServer, data_dir: Path
) -> None:
    phones = phone_opt_outs(data_dir)
    listed = sorted(phones)[-1]
    simulator.stop_list.preload(digits(listed), "2024-08-29 11:07:43")

    result = run_sync(synced)
    assert result.success and clock(result).passed
    entries = simulator.stop_list.entries()
    assert set(entries) == {digits(s) for s in phones}
    assert dict(simulator.stop_list.add_requests) == {digits(s): 1 for s in phones if s != listed}
    for row in record(data_dir):
        expected = entries[digits(row["subscriber"])]
        if row["subscriber"] == listed:
            assert (row["action"], row["provider_answer"]) == ("already_listed", expected.time_in)
        else:
            assert (row["action"], row["provider_answer"], row["mode"]) == ("pushed", expected.id, "on")
    before = record(data_dir)
    calls = dict(simulator.stats.by_endpoint)

    assert run_sync(synced).success
    assert record(data_dir) == before
    assert dict(simulator.stats.by_endpoint) == calls  # the record alone answered: no request at all

    # A subscriber who opts back in after the push is a conflict for a person: no API removes it.
    assert digits(OPTED_IN_ON_D14) in simulator.stop_list
    result = synced.materialize(D14, assets=SYNC_PATH)  # the day with the "Yes", then the sync
    assert result.success
    found = conflicts(data_dir)
    assert found[OPTED_IN_ON_D14] == "opted_in_after_push"
    assert ALPHANUMERIC not in found  # it opted in too: nothing left to push
    assert sync_metadata(result)["conflicts"] == len(found)
    assert actions(data_dir)[OPTED_IN_ON_D14] == "pushed"  # the record is never rewritten


def test_failed_pushes_keep_the_others_fail_the_run_naming_the_count_and_heal_on_the_next_run(
    synced: Pipeline, simulator: SimulatorServer, data_dir: Path
) -> None:
    phones = sorted(phone_opt_outs(data_dir))
    unavailable, reset, answer_lost = phones[0], phones[1], phones[2]
    simulator.faults = FaultPlan(
        fail_pushes={
            digits(unavailable): FaultKind.HTTP_503,
            digits(reset): FaultKind.RESET,
            digits(answer_lost): FaultKind.APPLY_THEN_RESET,
        }
    )
    result = run_sync(synced)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert "2 number(s) did not reach the stop list" in message and "add2stop.php" in message
    assert unavailable in message and reset in message
    assert actions(data_dir) == {
        **{s: "pushed" for s in phones if s not in (unavailable, reset)},
        answer_lost: "already_listed",  # the push went through; the lookup found it
    }
    assert simulator.stop_list.add_requests[digits(answer_lost)] == 1
    failed_check = clock(result)
    assert not failed_check.passed and failed_check.severity == AssetCheckSeverity.ERROR
    assert failed_check.description.startswith("2 opt-out(s) waited longer than 24 h")

    simulator.faults = None
    assert run_sync(synced).success
    assert actions(data_dir) == {**actions(data_dir), unavailable: "pushed", reset: "pushed"}
    assert set(actions(data_dir)) == set(phones)
    assert dict(simulator.stop_list.add_requests) == {digits(s): 1 for s in phones}


CHILD = """
import warnings
warnings.filterwarnings("ignore")
from dagster import AssetKey, DagsterInstance
from lightsms_pipeline.contract import MAIN_JOB, STOP_LIST_SYNC
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.settings import Settings
job = build_definitions(Settings.from_env()).resolve_job_def(MAIN_JOB)
with DagsterInstance.get() as instance:
    job.execute_in_process(instance=instance, asset_selection=[AssetKey(STOP_LIST_SYNC)])
"""


@pytest.fixture
def child_sync(synced: Pipeline, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The sync in its own process (as a deployed run), killed at the end if still running."""
    env = {**synced.with_settings(timeout_seconds=60).env(), "PYTHONPATH": str(REPO_ROOT)}
    with open(tmp_path / "child.log", "wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD], env=env, stdout=log, stderr=log, start_new_session=True
        )
        try:
            yield child
        finally:
            if child.poll() is None:
                kill(child)


@pytest.mark.slow
def test_a_run_killed_between_a_push_and_its_record_heals_through_the_lookup(
    synced: Pipeline,
    simulator: SimulatorServer,
    data_dir: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    phones = sorted(phone_opt_outs(data_dir))
    third = phones[2]
    # The third push takes effect, then its answer hangs: the run is killed right there.
    simulator.faults = FaultPlan(fail_pushes={digits(third): FaultKind.APPLY_THEN_SLOW}, slow_seconds=30)
    child = request.getfixturevalue("child_sync")
    assert wait_until(lambda: digits(third) in simulator.stop_list or child.poll() is not None, timeout=90)
    assert child.poll() is None, (tmp_path / "child.log").read_text(errors="replace")[-3000:]
    kill(child)
    assert child.returncode == -signal.SIGKILL
    killed = record(data_dir)
    assert [(r["subscriber"], r["action"]) for r in killed] == [(s, "pushed") for s in phones[:2]]

    simulator.faults = None
    assert run_sync(synced).success
    healed = record(data_dir)
    assert healed[:2] == killed  # what the killed run recorded stays as it was
    assert actions(data_dir) == {s: "already_listed" if s == third else "pushed" for s in phones}
    assert dict(simulator.stop_list.add_requests) == {digits(s): 1 for s in phones}


def test_off_calls_nothing_and_writes_nothing_but_the_clock_still_warns(
    synced: Pipeline, simulator: SimulatorServer, data_dir: Path
) -> None:
    result = run_sync(synced.with_settings(stop_list_sync="off"))
    assert result.success
    assert simulator.stats.requests == 0
    assert not (data_dir / STOP_LIST_RECORD_PARQUET).exists()
    warning = clock(result)
    assert not warning.passed and warning.severity == AssetCheckSeverity.WARN
    meta = sync_metadata(result)
    assert (meta["mode"], meta["conflicts"], meta["would_push"]) == ("off", 1, 0)  # Telia, from the key alone


SALT = "salt-for-the-stop-list-9x"


def test_salted_sync_pushes_numbers_read_again_and_no_digit_reaches_a_log_event_or_file(
    pipeline: Pipeline,
    simulator: SimulatorServer,
    upstream: Path,
    data_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    phones = sorted(phone_opt_outs(upstream))  # the unsalted truth
    refused = phones[0]
    simulator.faults = FaultPlan(fail_pushes={digits(refused): FaultKind.HTTP_503})
    salted = pipeline.with_settings(sender_hash_salt=SALT, stop_list_sync="on")
    result = salted.materialize(D12, D13, assets=SYNC_PATH, raise_on_error=False)
    assert not result.success  # one number could not be pushed

    assert set(simulator.stop_list.entries()) == {digits(s) for s in phones[1:]}
    rows = record(data_dir)
    assert len(rows) == len(phones) - 1 and all(r["subscriber"].startswith("h:") for r in rows)
    assert all(s.startswith("h:") for s in conflicts(data_dir))
    texts: list[str] = []
    with DagsterInstance.get() as instance:
        for entry in instance.all_logs(result.run_id):
            texts.extend([entry.user_message, repr(entry.dagster_event)])
    captured = capfd.readouterr()
    texts.extend([caplog.text, captured.out, captured.err])
    assert "did not reach the stop list" in "\n".join(texts) and "h:" in "\n".join(texts)
    for path in tmp_path.rglob("*"):
        if path.suffix == ".parquet":
            texts.append(str(pq.read_table(path).to_pylist()))
        elif path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    numbers = [digits(s) for s in phones] + [API_KEY]
    leaks = [(n, t[max(0, t.find(n) - 80) : t.find(n) + 20]) for t in texts for n in numbers if n in t]
    assert leaks == []
    assert re.search(r"phone=\*\*\*", caplog.text)  # the request lines were logged, without the number


def test_an_opt_out_list_written_before_first_opted_out_at_asks_for_a_rebuild(
    upstream: Path, tmp_path: Path
) -> None:
    store = Dataset(str(tmp_path))
    old = pq.read_table(upstream / "opt_out_list.parquet").drop_columns(["first_opted_out_at"])
    store.write_parquet(store.file_path("opt_out_list.parquet"), old)
    with pytest.raises(MissingUpstreamError, match="materialize opt_out_list again"):
        read_opt_out_list(store)
