"""The production instance (deploy/dagster.yaml) on a real PostgreSQL: dagster-postgres's storage
with the batch writer of lightsms_pipeline/dagster_ext/. Pins the dagster-postgres internals it
leans on and the behaviour a user sees: each event stored once and in order, every day's
materialization recorded, a failed run's days shown failed, the days' planned events written
in one statement instead of a connection each; on a Dagster it was not verified with,
dagster-postgres's own storage with one warning."""

from __future__ import annotations

import inspect
import logging
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster
import dagster_postgres
import pytest
import yaml
from dagster import AssetKey, AssetPartitionStatus, AssetRecordsFilter, DagsterEventType, DagsterInstance
from dagster_postgres import (
    DagsterPostgresStorage,
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)
from pipeline import Pipeline
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import Engine

from lightsms_pipeline import dagster_ext
from lightsms_pipeline.assets.partitions import daily_partitions
from lightsms_pipeline.contract import INCOMING
from lightsms_pipeline.dagster_ext.postgres_storage import BatchingPostgresEventLogStorage
from lightsms_pipeline.simulator.faults import FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from production.conftest import POSTGRES_GROUP
from production.deployment import DEPLOY
from production.postgres_server import PostgresServer

FIRST = date(2025, 1, 6)
DAYS = 12
LAST = FIRST + timedelta(days=DAYS - 1)
KEYS = [(FIRST + timedelta(days=n)).isoformat() for n in range(DAYS)]
PLANNED = DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value
MATERIALIZED = DagsterEventType.ASSET_MATERIALIZATION.value


def test_dagster_postgres_is_the_version_and_shape_the_batch_writer_was_verified_with() -> None:
    assert dagster_postgres.__version__ == "0.29.27"
    # dagster-postgres batches materializations and observations only; planned events go
    # through its store_event one by one. If that changed, the subclass may be unneeded.
    source = inspect.getsource(PostgresEventLogStorage.store_event_batch)
    assert "event_types == {DagsterEventType.ASSET_MATERIALIZATION}" in source
    assert "return super().store_event_batch(events)" in source
    assert list(inspect.signature(DagsterPostgresStorage.__init__).parameters) == [
        "self", "postgres_url", "should_autocreate_tables", "inst_data", "token_provider",
    ]  # fmt: skip
    assert list(inspect.signature(PostgresEventLogStorage.index_transaction).parameters) == ["self"]
    # Each storage connects through its `_engine` (replaced by a pooled one): if that changed,
    # the replacement would go unused and every event would open a connection again.
    for storage, connect in (
        (PostgresEventLogStorage, PostgresEventLogStorage._connect),
        (PostgresRunStorage, PostgresRunStorage.connect),
        (PostgresScheduleStorage, PostgresScheduleStorage.connect),
    ):
        assert "create_pg_connection(self._engine)" in inspect.getsource(connect), storage
        assert "poolclass=db_pool.NullPool" in inspect.getsource(storage.__init__), storage


@pytest.fixture
def production_home(
    postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Path:
    """DAGSTER_HOME holding deploy/dagster.yaml, on a database of its own."""
    db = postgres.with_database(f"ext_{request.node.name[-40:].lower()}")
    home = tmp_path / "production_home"
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", db.url)
    return home


@contextmanager
def event_inserts() -> Iterator[Counter[str]]:
    """The INSERT statements into the event log while inside, by the event types they carry."""
    inserts: Counter[str] = Counter()

    def on_execute(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO EVENT_LOGS"):
            carried = str(parameters)
            for kind in (PLANNED, MATERIALIZED):
                inserts[kind] += f"'{kind}'" in carried

    sqlalchemy_event.listen(Engine, "before_cursor_execute", on_execute)
    try:
        yield inserts
    finally:
        sqlalchemy_event.remove(Engine, "before_cursor_execute", on_execute)


def run_events(instance: DagsterInstance, run_id: str) -> list[tuple[str, str | None]]:
    records = instance.get_records_for_run(run_id).records
    return [
        (r.event_log_entry.dagster_event.event_type_value, r.event_log_entry.dagster_event.partition)
        for r in records
        if r.event_log_entry.dagster_event is not None
    ]


@POSTGRES_GROUP
def test_a_backfill_on_the_production_instance_records_every_day_once_in_order_in_two_inserts(
    pipeline: Pipeline, production_home: Path
) -> None:
    with event_inserts() as inserts:
        result = pipeline.materialize(FIRST, LAST)
    assert result.success
    with DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, BatchingPostgresEventLogStorage)
        stored = run_events(instance, result.run_id)
        # Each day planned once before the run starts, materialized once after, in day order.
        assert [p for kind, p in stored if kind == PLANNED] == KEYS
        assert [p for kind, p in stored if kind == MATERIALIZED] == KEYS
        kinds = [kind for kind, _ in stored]
        assert kinds.index(DagsterEventType.RUN_START.value) > max(
            i for i, k in enumerate(kinds) if k == PLANNED
        )
        assert kinds.index(DagsterEventType.STEP_SUCCESS.value) > max(
            i for i, k in enumerate(kinds) if k == MATERIALIZED
        )
        materialized = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey(INCOMING), asset_partitions=KEYS), limit=1000
        ).records
        assert Counter(r.partition_key for r in materialized) == Counter(KEYS)
        status = instance.get_status_by_partition(
            AssetKey(INCOMING), KEYS, daily_partitions(pipeline.settings)
        )
        assert status == dict.fromkeys(KEYS, AssetPartitionStatus.MATERIALIZED)
        # The latest materialization is the last day's: the asset's row took the batch's last event.
        latest = instance.get_latest_materialization_event(AssetKey(INCOMING))
        assert latest is not None and latest.dagster_event is not None
        assert latest.dagster_event.partition == KEYS[-1]
    # dagster-postgres alone inserts each planned event on a connection of its own; batched,
    # the days' planned events are one statement, their materializations another.
    assert inserts == Counter({PLANNED: 1, MATERIALIZED: 1})


@contextmanager
def connections_opened() -> Iterator[list[int]]:
    """How many database connections this process opens while inside (a list of one count)."""
    opened = [0]

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        opened[0] += 1

    sqlalchemy_event.listen(Engine, "connect", on_connect)
    try:
        yield opened
    finally:
        sqlalchemy_event.remove(Engine, "connect", on_connect)


@POSTGRES_GROUP
def test_a_backfill_on_the_production_instance_opens_a_few_connections_not_one_per_event(
    pipeline: Pipeline, production_home: Path
) -> None:
    pipeline.materialize(FIRST)  # the tables are created once, on the first run
    with connections_opened() as opened:
        result = pipeline.materialize(FIRST, LAST)
    assert result.success
    # dagster-postgres alone opens a connection for every event it stores and every query it
    # makes; the pooled engines keep one per storage and reuse it
    # (67 for this run without the pool; 12 with it, most of them the storages' checks for their
    # tables when the instance is created, one per storage and run)
    assert opened[0] <= 15, opened


@POSTGRES_GROUP
def test_a_failed_backfill_on_the_production_instance_shows_its_failed_days_failed(
    pipeline: Pipeline, simulator: SimulatorServer, production_home: Path
) -> None:
    failing = {KEYS[1], KEYS[9]}
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


@POSTGRES_GROUP
def test_on_an_unverified_dagster_the_production_instance_stores_what_dagster_postgres_stores(
    pipeline: Pipeline,
    postgres: PostgresServer,
    production_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # dagster-postgres alone: deploy/dagster.yaml with the extension deleted, as its comment says.
    plain_config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text(encoding="utf-8"))
    del plain_config["instance_class"], plain_config["event_batch_size"]
    plain_config["storage"] = {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    plain_home = tmp_path / "plain_home"
    plain_home.mkdir()
    (plain_home / "dagster.yaml").write_text(yaml.safe_dump(plain_config), encoding="utf-8")
    with monkeypatch.context() as plain:
        plain.setenv("DAGSTER_HOME", str(plain_home))
        plain.setenv("DAGSTER_PG_URL", postgres.with_database("ext_plain_dagster_postgres").url)
        with event_inserts() as expected_inserts:
            plain_run = pipeline.materialize(FIRST, LAST)
        with DagsterInstance.get() as instance:
            expected = run_events(instance, plain_run.run_id)

    monkeypatch.setattr(dagster_ext, "VERIFIED_DAGSTER", ("1.13.26", "1.13.28"))
    monkeypatch.setattr(dagster_ext, "_fallback_said", threading.Lock())
    caplog.set_level(logging.WARNING, logger=dagster_ext.__name__)
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    with event_inserts() as inserts:
        result = pipeline.materialize(FIRST, LAST)
    assert result.success
    with DagsterInstance.get() as instance:
        # dagster-postgres's own storage, with its own connections (a new one per statement)
        assert type(instance.event_log_storage) is PostgresEventLogStorage
        assert type(instance.event_log_storage._engine.pool).__name__ == "NullPool"
        assert run_events(instance, result.run_id) == expected
    # Each day's planned event and materialization inserted on its own, as dagster-postgres does.
    assert inserts == expected_inserts == Counter({PLANNED: DAYS, MATERIALIZED: DAYS})
    [warning] = [r.getMessage() for r in caplog.records if r.name == dagster_ext.__name__]
    assert f"this is Dagster {dagster.__version__}" in warning and "storage: postgres:" in warning
