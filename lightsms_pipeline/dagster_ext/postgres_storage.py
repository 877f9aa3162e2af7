"""dagster-postgres's storage, writing a batch of asset events (planned events included) in one
transaction on one connection, over connections it keeps instead of one per statement.

dagster-postgres batches only materializations and observations; planned events, one per day
of a backfill, still go one by one, each on a new connection (about 10 ms each here).

On a Dagster the writer was not verified with (`batching_on`) this is dagster-postgres's storage
as it is: every override hands its call to dagster-postgres's method and its own connections
are kept. The base classes are dagster-postgres's public ones; the batch writer's private
imports (`batches`) are guarded, so a Dagster where those moved still loads this storage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lightsms_pipeline.errors import MissingExtraError

try:
    from dagster_postgres import DagsterPostgresStorage, PostgresEventLogStorage
    from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config
except ImportError as exc:  # an extra: a dagster.yaml naming this storage says which one
    raise MissingExtraError("postgres", "the PostgreSQL instance storage (deploy/dagster.yaml)") from exc

from lightsms_pipeline.dagster_ext import batching_on

if TYPE_CHECKING:
    from dagster._core.events.log import EventLogEntry
    from dagster._serdes import ConfigurableClassData

# Any failure here (a private module moved, a helper changed shape) means falling back.
_unavailable: Exception | None
try:
    from lightsms_pipeline.dagster_ext import batches
except Exception as error:
    _unavailable = error
else:
    _unavailable = None


class BatchingPostgresEventLogStorage(PostgresEventLogStorage):
    """`PostgresEventLogStorage` whose `store_event_batch` writes the events and their index
    rows in one transaction: all or nothing, so Dagster's fallback after an error (storing the
    events one by one) stores each once."""

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        if not batching_on(_unavailable):
            return super()._store_asset_check_evaluation_planned(event, event_id)
        batches.store_check_planned(self, event, event_id)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        if not batching_on(_unavailable):
            return super().store_event_batch(events)
        for one_statement, run in batches.runs_of_kind(events):
            if one_statement:
                with self.index_transaction() as conn:
                    rows = batches.event_rows(self, run)
                    batches.index_events(self, conn, run, batches.insert_rows(conn, rows))
            else:
                super().store_event_batch(run)


class BatchingPostgresStorage(DagsterPostgresStorage):
    """`DagsterPostgresStorage` with the batching event log above; same configuration
    (`postgres_url`, or `postgres_db`), under `storage: custom:` in dagster.yaml."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: Any = None,
    ) -> None:
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        if not batching_on(_unavailable):
            return
        self._event_log_storage = BatchingPostgresEventLogStorage(
            postgres_url, should_autocreate_tables, token_provider=token_provider
        )
        # dagster-postgres opens a new connection for every statement (a `NullPool`, so that an
        # instance holds none between uses): 67 connections for a 12-day run here, each about
        # 3 ms to connect and 6.5 ms of the server's CPU. One kept per storage, checked before
        # reuse and renewed hourly, as dagster-webserver's own `optimize_for_webserver` does.
        for storage in (self._run_storage, self._event_log_storage, self._schedule_storage):
            storage._engine = create_pg_engine(
                postgres_url,
                token_provider,
                isolation_level="AUTOCOMMIT",
                pool_size=1,
                max_overflow=8,
                pool_recycle=3600,
                pool_pre_ping=True,
            )

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> BatchingPostgresStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )
