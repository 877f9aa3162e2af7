"""Dagster's default SQLite storage, writing a batch of asset events in one transaction per
database instead of two transactions (each on a new engine) per event.

Same files and tables as the default (`$DAGSTER_HOME/history/…`, `schedules/`): going back to
Dagster's class keeps all history. On a Dagster the writer was not verified with (`batching_on`)
every override hands its call to Dagster's own method."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData

from lightsms_pipeline.dagster_ext import batching_on
from lightsms_pipeline.dagster_ext.batches import (
    event_rows,
    index_events,
    insert_rows,
    runs_of_kind,
    store_check_planned,
)


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` whose `store_event_batch` writes a run's planned events or
    materializations with one transaction on the run's database and one on the index database.

    The two databases are separate SQLite files, so the batch is atomic in each, not across
    them: the run's log is written first, as Dagster's own `store_event` does. If the index
    transaction fails, the rows just added to the run's log are deleted again before the error
    goes up, so that Dagster's fallback (storing the events one by one) stores each once."""

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        if not batching_on():
            return super()._store_asset_check_evaluation_planned(event, event_id)
        store_check_planned(self, event, event_id)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        if not batching_on():
            return super().store_event_batch(events)
        for one_statement, run in runs_of_kind(events):
            if one_statement:
                self._store_in_one_transaction_each(run)
            else:
                super().store_event_batch(run)

    def _store_in_one_transaction_each(self, events: list[EventLogEntry]) -> None:
        run_id = events[0].run_id
        rows = event_rows(self, events)
        with self.run_connection(run_id) as conn:
            run_log_ids = insert_rows(conn, rows)
        try:
            with self.index_transaction() as conn:
                index_events(self, conn, events, insert_rows(conn, rows))
        except Exception:
            with self.run_connection(run_id) as conn:
                table = SqlEventLogStorageTable
                conn.execute(table.delete().where(table.c.id.in_(run_log_ids)))
            raise


class BatchingSqliteStorage(DagsterSqliteStorage):
    """`DagsterSqliteStorage` (runs, event logs, schedules in `base_dir`) with the batching
    event log above: `instance.BatchingInstance`'s default storage, or named in dagster.yaml as
    `storage: {custom: {module: …, class: BatchingSqliteStorage, config: {base_dir: …}}}`."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data=inst_data)
        if batching_on():
            self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> BatchingSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
