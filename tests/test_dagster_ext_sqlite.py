"""The local instance (deploy/dagster.local.yaml): Dagster's SQLite storage writing a backfill's
bookkeeping in batches (lightsms_pipeline/dagster_ext/). Pins the Dagster internals it leans on,
so an upgrade fails here first, and the behaviour a user sees: every event stored once and in
order, every day's materialization recorded, a failed run's days shown failed; and, on a Dagster
it was not verified with, Dagster's own behaviour with one warning."""

from __future__ import annotations

import hashlib
import inspect
import logging
import re
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster
import pytest
import sqlalchemy
import yaml
from dagster import AssetKey, AssetPartitionStatus, AssetRecordsFilter, DagsterEventType, DagsterInstance
from dagster._core.events import BATCH_WRITABLE_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.methods.event_methods import EventMethods
from dagster._core.instance.runs import run_domain
from dagster._core.storage.event_log.base import EventLogStorage
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import deserialize_value
from pipeline import Pipeline
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import Engine

from lightsms_pipeline import dagster_ext
from lightsms_pipeline.assets.partitions import daily_partitions
from lightsms_pipeline.contract import INCOMING
from lightsms_pipeline.dagster_ext import VERIFIED_DAGSTER
from lightsms_pipeline.dagster_ext.batches import asset_entry_writers
from lightsms_pipeline.dagster_ext.instance import BatchingInstance
from lightsms_pipeline.dagster_ext.sqlite_storage import BatchingSqliteEventLogStorage, BatchingSqliteStorage
from lightsms_pipeline.simulator.faults import FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer

REPO = Path(__file__).resolve().parents[1]
LOCAL_CONFIG = REPO / "deploy" / "dagster.local.yaml"
FIRST = date(2025, 1, 6)
DAYS = 12
LAST = FIRST + timedelta(days=DAYS - 1)
KEYS = [(FIRST + timedelta(days=n)).isoformat() for n in range(DAYS)]


# --- the internals relied on, as verified ------------------------------------------------------


def test_the_verified_dagster_is_the_one_constraints_txt_pins_and_the_suite_runs() -> None:
    # On an upgrade: re-read the methods below in the new source, re-run this file, then add it.
    pinned = re.findall(r"^dagster==(\S+)$", (REPO / "constraints.txt").read_text(), flags=re.M)
    assert pinned == [dagster.__version__]
    assert dagster.__version__ in VERIFIED_DAGSTER


def test_dagster_reads_the_batch_size_through_the_instance_method_the_extension_overrides() -> None:
    source = inspect.getsource(EventMethods.handle_new_event)
    assert "self._get_event_batch_size()" in source
    assert "self._event_storage_impl.store_event_batch(events)" in source
    # ...and falls back to storing one by one when a batch write raises.
    assert "self._event_storage_impl.store_event(event)" in source.split("except Exception")[1]
    assert list(inspect.signature(EventMethods._get_event_batch_size).parameters) == ["self"]


def test_planned_events_and_materializations_are_the_events_dagster_batches() -> None:
    assert {
        DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        DagsterEventType.ASSET_MATERIALIZATION,
    } <= BATCH_WRITABLE_EVENTS
    # One planned event per partition, batched, unless these variables say otherwise.
    source = inspect.getsource(run_domain)
    assert "DAGSTER_EMIT_PLANNED_EVENTS_INDIVIDUALLY" in source
    assert "DagsterEventBatchMetadata(batch_id, i == last_index)" in source


def test_the_storage_helpers_the_batch_writer_calls_keep_their_signatures() -> None:
    def params(function: Any) -> list[str]:
        return list(inspect.signature(function).parameters)

    assert params(EventLogStorage.store_event_batch) == ["self", "events"]
    assert params(SqlEventLogStorage._event_to_row) == ["self", "event"]
    assert params(SqlEventLogStorage._store_asset_event) == ["self", "conn", "event", "event_id"]
    assert params(SqlEventLogStorage._store_asset_event_tags) == ["self", "conn", "events", "event_ids"]
    assert params(SqliteEventLogStorage.run_connection) == ["self", "run_id"]
    assert params(DagsterSqliteStorage.__init__) == ["self", "base_dir", "inst_data"]
    # The storage's own batch method is the base class's loop: the reason for the subclass.
    assert SqliteEventLogStorage.store_event_batch is EventLogStorage.store_event_batch


# The Dagster methods whose behaviour the batch writer reproduces (lightsms_pipeline/dagster_ext/
# batches.py), by a digest of their source as verified. A new digest after an upgrade: re-read the
# method, carry any change over to batches.py, then update the digest.
REPRODUCED = {
    "SqlEventLogStorage.store_event": "391ced414e9bfecb",
    "SqliteEventLogStorage.store_event": "f89aed40602438b9",
    "PostgresEventLogStorage.store_event": "4a2e37e5871bf2c8",
    "SqlEventLogStorage._store_asset_check_evaluation_planned": "bbecef7ab5ce9d01",
    "SqlEventLogStorage._event_to_row": "93d47fbe7edc4f70",
    "SqlEventLogStorage._store_asset_event": "fdb9340b9eef1c9b",
}


def test_the_dagster_methods_the_batch_writer_reproduces_are_unchanged() -> None:
    from dagster_postgres import PostgresEventLogStorage

    classes = {c.__name__: c for c in (SqlEventLogStorage, SqliteEventLogStorage, PostgresEventLogStorage)}
    digests = {}
    for name in REPRODUCED:
        owner, method = name.split(".")
        source = inspect.getsource(getattr(classes[owner], method))
        digests[name] = hashlib.sha256(source.encode()).hexdigest()[:16]
    assert digests == REPRODUCED


def test_the_asset_row_is_updated_for_the_last_event_of_each_asset_and_type_in_order() -> None:
    planned, done = DagsterEventType.ASSET_MATERIALIZATION_PLANNED, DagsterEventType.ASSET_MATERIALIZATION

    class Shaped:
        """The two attributes of an event the grouping reads."""

        def __init__(self, kind: DagsterEventType, key: str) -> None:
            self.asset_key, self.event_type_value = AssetKey(key), kind.value

        def get_dagster_event(self) -> Shaped:
            return self

    batch = [
        Shaped(planned, "a"),
        Shaped(planned, "b"),
        Shaped(done, "a"),
        Shaped(planned, "a"),
        Shaped(done, "a"),
    ]
    assert asset_entry_writers(batch) == [1, 3, 4]  # type: ignore[arg-type]


# --- behaviour on a real run ---------------------------------------------------------------------


@pytest.fixture
def local_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME holding the repository's local instance configuration."""
    home = tmp_path / "local_home"
    home.mkdir()
    shutil.copyfile(LOCAL_CONFIG, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def fallback_warnings(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Callable[[], list[str]]:
    """The extension's warnings logged so far in the test, said afresh: the process-wide "said
    once" is reset for the test and put back after it."""
    monkeypatch.setattr(dagster_ext, "_fallback_said", threading.Lock())
    caplog.set_level(logging.WARNING, logger=dagster_ext.__name__)
    return lambda: [r.getMessage() for r in caplog.records if r.name == dagster_ext.__name__]


@pytest.fixture
def unverified(monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    """This process as if the installed Dagster were not one the extension was verified with."""
    others = ("1.13.26", "1.13.28")
    assert dagster.__version__ not in others
    monkeypatch.setattr(dagster_ext, "VERIFIED_DAGSTER", others)
    return others


@contextmanager
def counted_commits() -> Iterator[Counter[str]]:
    """Commits on every SQLAlchemy engine while inside, by database file name."""
    commits: Counter[str] = Counter()

    def on_commit(conn: Any) -> None:
        commits[Path(str(conn.engine.url.database)).name] += 1

    sqlalchemy_event.listen(Engine, "commit", on_commit)
    try:
        yield commits
    finally:
        sqlalchemy_event.remove(Engine, "commit", on_commit)


def run_events(instance: DagsterInstance, run_id: str) -> list[tuple[str, str | None, str | None]]:
    records = instance.get_records_for_run(run_id).records
    return [
        (r.event_log_entry.dagster_event.event_type_value, r.event_log_entry.dagster_event.partition,
         r.event_log_entry.step_key)
        for r in records
        if r.event_log_entry.dagster_event is not None
    ]  # fmt: skip


def check_rows(instance: DagsterInstance, run_id: str) -> Counter[tuple[str, str, str, str]]:
    """The run's rows of the asset-check executions table: check, partition, status, event type."""
    table = AssetCheckExecutionsTable
    storage = instance.event_log_storage
    assert isinstance(storage, SqliteEventLogStorage)
    with storage.index_connection() as conn:
        rows = conn.execute(
            sqlalchemy.select(
                table.c.check_name, table.c.partition, table.c.execution_status, table.c.evaluation_event
            ).where(table.c.run_id == run_id)
        ).fetchall()
    return Counter(
        (
            name,
            partition,
            status,
            deserialize_value(event, EventLogEntry).get_dagster_event().event_type_value,
        )
        for name, partition, status, event in rows
    )


def test_the_local_config_loads_the_batching_instance_and_storage(local_home: Path) -> None:
    with DagsterInstance.get() as instance:
        assert isinstance(instance, BatchingInstance)
        assert isinstance(instance.event_log_storage, BatchingSqliteEventLogStorage)
        assert instance._get_event_batch_size() == 1000
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1
    # Dagster's default layout: removing the blocks keeps the history readable.
    assert (local_home / "history" / "runs.db").is_file()
    assert (local_home / "history" / "runs" / "index.db").is_file()


def test_a_backfill_on_the_local_instance_stores_the_same_events_as_dagster_default_in_order(
    pipeline: Pipeline,
    dagster_home: Path,
    local_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    fallback_warnings: Callable[[], list[str]],
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))  # Dagster's default instance first
    with counted_commits() as default_commits:
        default_run = pipeline.materialize(FIRST, LAST)
    with DagsterInstance.get() as instance:
        expected = run_events(instance, default_run.run_id)
        expected_checks = check_rows(instance, default_run.run_id)

    monkeypatch.setenv("DAGSTER_HOME", str(local_home))
    with counted_commits() as commits:
        result = pipeline.materialize(FIRST, LAST)
    assert result.success
    with DagsterInstance.get() as instance:
        stored = run_events(instance, result.run_id)
        assert stored == expected  # the same events, in the same order, each once
        # The asset checks' rows as by default: planned per check and day, evaluated per check
        # and run (a single-run backfill evaluates a check once for its range).
        assert check_rows(instance, result.run_id) == expected_checks
        assert sum(expected_checks.values()) == 3 * DAYS + 3
        kinds = Counter(kind for kind, _, _ in stored)
        assert kinds["ASSET_MATERIALIZATION_PLANNED"] == DAYS
        assert kinds["ASSET_MATERIALIZATION"] == DAYS
        # Every day's materialization is recorded and readable through the public API.
        materialized = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey(INCOMING), asset_partitions=KEYS), limit=1000
        ).records
        assert sorted(r.partition_key for r in materialized) == KEYS
        status = instance.get_status_by_partition(
            AssetKey(INCOMING), KEYS, daily_partitions(pipeline.settings)
        )
        assert status == dict.fromkeys(KEYS, AssetPartitionStatus.MATERIALIZED)
    # The lever itself: each day's planned event and materialization cost a commit on the
    # run's database and one on the index (2 x DAYS each); batched, two commits on each.
    for database in ("index.db", f"{result.run_id}.db"):
        default_database = database if database == "index.db" else f"{default_run.run_id}.db"
        assert default_commits[default_database] - commits[database] >= 2 * DAYS - 2, database
    assert fallback_warnings() == []  # the verified path says nothing


def test_a_failed_backfill_on_the_local_instance_shows_its_failed_days_failed(
    pipeline: Pipeline, simulator: SimulatorServer, local_home: Path
) -> None:
    failing = {KEYS[2], KEYS[7]}
    simulator.faults = FaultPlan(fail_dates=failing)
    result = pipeline.with_settings(max_attempts=1).materialize(FIRST, LAST, raise_on_error=False)
    assert not result.success
    with DagsterInstance.get() as instance:
        status = instance.get_status_by_partition(
            AssetKey(INCOMING), KEYS, daily_partitions(pipeline.settings)
        )
    assert status == {
        k: AssetPartitionStatus.FAILED if k in failing else AssetPartitionStatus.MATERIALIZED for k in KEYS
    }


class IndexFailsOnce(BatchingSqliteEventLogStorage):
    """The index transaction of the first batch fails after its first statement, as a locked
    database or a full disk would make it."""

    failures_left = 0

    def _store_asset_event_tags(self, conn: Any, events: Any, event_ids: Any) -> None:
        if IndexFailsOnce.failures_left and len(events) > 1:
            IndexFailsOnce.failures_left -= 1
            raise OSError("disk I/O error (injected)")
        super()._store_asset_event_tags(conn, events, event_ids)


class IndexFailsOnceStorage(BatchingSqliteStorage):
    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = IndexFailsOnce(self._event_log_storage._base_dir)


def test_a_batch_whose_index_write_fails_is_stored_once_by_dagster_fallback(
    pipeline: Pipeline, local_home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    faulty = {
        "custom": {
            "module": __name__,
            "class": "IndexFailsOnceStorage",
            "config": {"base_dir": str(local_home)},
        }
    }
    with (local_home / "dagster.yaml").open("a", encoding="utf-8") as config:
        config.write(yaml.safe_dump({"storage": faulty}))
    IndexFailsOnce.failures_left = 1
    result = pipeline.materialize(FIRST, LAST)
    assert IndexFailsOnce.failures_left == 0
    assert "disk I/O error (injected)" in capfd.readouterr().err  # Dagster's fallback said so
    with DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, IndexFailsOnce)
        stored = run_events(instance, result.run_id)
        planned = Counter(p for kind, p, _ in stored if kind == "ASSET_MATERIALIZATION_PLANNED")
        assert planned == Counter(KEYS)  # each day's planned event once in the run's log
        status = instance.get_status_by_partition(
            AssetKey(INCOMING), KEYS, daily_partitions(pipeline.settings)
        )
        assert status == dict.fromkeys(KEYS, AssetPartitionStatus.MATERIALIZED)
        materialized = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey(INCOMING), asset_partitions=KEYS), limit=1000
        ).records
        assert Counter(r.partition_key for r in materialized) == Counter(KEYS)


# --- on a Dagster the extension was not verified with: Dagster's own behaviour, said once --------


def test_on_an_unverified_dagster_the_local_instance_loads_as_dagster_own_and_says_so_once(
    local_home: Path,
    unverified: tuple[str, ...],
    fallback_warnings: Callable[[], list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    with DagsterInstance.get() as instance:
        assert isinstance(instance, BatchingInstance)  # dagster.yaml still loads
        assert type(instance.event_log_storage) is SqliteEventLogStorage  # Dagster's own storage
        assert instance._get_event_batch_size() == 0  # Dagster's default: one by one...
        monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "7")
        assert instance._get_event_batch_size() == 7  # ...unless Dagster's own variable says
    with DagsterInstance.get() as instance:
        assert instance._get_event_batch_size() == 7
    [warning] = fallback_warnings()
    assert f"this is Dagster {dagster.__version__}" in warning
    assert ", ".join(unverified) in warning
    assert "remove `instance_class` and `event_batch_size`" in warning


def test_on_an_unverified_dagster_a_backfill_stores_exactly_what_plain_dagster_stores(
    pipeline: Pipeline,
    dagster_home: Path,
    local_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    unverified: tuple[str, ...],
    fallback_warnings: Callable[[], list[str]],
) -> None:
    # Plain Dagster: the same dagster.yaml with the extension's block deleted, as the docs say.
    plain = yaml.safe_load(LOCAL_CONFIG.read_text(encoding="utf-8"))
    del plain["instance_class"], plain["event_batch_size"]
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(plain), encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    with counted_commits() as default_commits:
        default_run = pipeline.materialize(FIRST, LAST)
    with DagsterInstance.get() as instance:
        expected = run_events(instance, default_run.run_id)
        expected_checks = check_rows(instance, default_run.run_id)

    monkeypatch.setenv("DAGSTER_HOME", str(local_home))
    with counted_commits() as commits:
        result = pipeline.materialize(FIRST, LAST)
    assert result.success
    with DagsterInstance.get() as instance:
        assert run_events(instance, result.run_id) == expected
        assert check_rows(instance, result.run_id) == expected_checks
    # Written as Dagster writes them, event by event: the same commits on every database.
    default_commits[f"{result.run_id}.db"] = default_commits.pop(f"{default_run.run_id}.db")
    assert commits == default_commits
    assert commits["index.db"] >= 2 * DAYS

    assert pipeline.materialize(LAST + timedelta(days=1)).success
    assert len(fallback_warnings()) == 1  # one for the process, not one per event or run


def test_on_an_unverified_dagster_the_batch_writer_hands_a_batch_to_dagster_own_method(
    pipeline: Pipeline,
    tmp_path: Path,
    unverified: tuple[str, ...],
    fallback_warnings: Callable[[], list[str]],
) -> None:
    """The storage class named on its own (`storage: custom:`), fed a run's events as one batch."""
    run_id = pipeline.materialize(FIRST, LAST).run_id
    with DagsterInstance.get() as instance:
        events = [r.event_log_entry for r in instance.get_records_for_run(run_id).records]

    def stored_by(storage: SqliteEventLogStorage) -> tuple[Counter[str], list[str]]:
        try:
            with counted_commits() as commits:
                storage.store_event_batch(events)
            kinds = [e.get_dagster_event().event_type_value for e in storage.get_logs_for_run(run_id)]
            return commits, kinds
        finally:
            storage.dispose()

    plain = stored_by(SqliteEventLogStorage(str(tmp_path / "plain")))
    assert plain == stored_by(BatchingSqliteEventLogStorage(str(tmp_path / "batching")))
    assert plain[0]["index.db"] >= 2 * DAYS  # one by one
    assert len(fallback_warnings()) == 1


def test_a_dagster_that_moved_a_class_the_writer_subclasses_still_loads_the_instance_as_its_own(
    pipeline: Pipeline,
    local_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    fallback_warnings: Callable[[], list[str]],
) -> None:
    # As if Dagster had moved it: the extension's import of it fails, Dagster's own modules keep
    # theirs. The extension's modules are imported afresh, and put back after the test.
    monkeypatch.delattr(sqlite_event_log, "SqliteEventLogStorage")
    monkeypatch.setattr(dagster_ext, "instance", sys.modules["lightsms_pipeline.dagster_ext.instance"])
    for name in ("lightsms_pipeline.dagster_ext.instance", "lightsms_pipeline.dagster_ext.sqlite_storage"):
        monkeypatch.delitem(sys.modules, name)
    with DagsterInstance.get() as instance:
        assert type(instance) is not BatchingInstance  # the one imported afresh
        assert type(instance).__name__ == "BatchingInstance"
        assert type(instance.event_log_storage) is SqliteEventLogStorage
    result = pipeline.materialize(FIRST, FIRST + timedelta(days=2))
    assert result.success
    [warning] = fallback_warnings()
    assert f"on this Dagster ({dagster.__version__}) it cannot import" in warning
    assert "SqliteEventLogStorage" in warning
