"""What a batch of events becomes in the event log's tables, for any SQL storage of Dagster's.

Shared by the SQLite and PostgreSQL storages: the SQL is the same (Dagster's own tables and its
own row and index helpers), only the transactions around it differ."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby

from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from sqlalchemy.engine import Connection

# The event types written here in one statement. Dagster batches a few more (asset check
# planned events, failures to materialize); those keep Dagster's own one-by-one path, because
# they touch other tables (asset checks) or are not stored by open-source storages at all.
ONE_STATEMENT_TYPES = frozenset(
    {
        DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.ASSET_OBSERVATION,
    }
)


def writes_in_one_statement(event: EventLogEntry) -> bool:
    dagster_event = event.dagster_event
    return (
        dagster_event is not None
        and dagster_event.event_type in ONE_STATEMENT_TYPES
        and dagster_event.asset_key is not None
    )


def runs_of_kind(events: Sequence[EventLogEntry]) -> Iterator[tuple[bool, list[EventLogEntry]]]:
    """The batch cut into consecutive runs of one-statement events and of the others, in order,
    each run within one Dagster run (a batch normally is one already)."""
    for (one_statement, _run_id), group in groupby(
        events, key=lambda e: (writes_in_one_statement(e), e.run_id)
    ):
        yield one_statement, list(group)


def insert_events(
    storage: SqlEventLogStorage, conn: Connection, events: Sequence[EventLogEntry]
) -> list[int]:
    """One INSERT for all the events (the rows Dagster's `store_event` would write), returning
    their storage ids in the events' order."""
    table = SqlEventLogStorageTable
    statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    rows = [storage._event_to_row(event) for event in events]
    return [int(row[0]) for row in conn.execute(statement, rows)]


def asset_entry_writers(events: Sequence[EventLogEntry]) -> list[int]:
    """Positions of the events whose update of the asset-key table survives the batch: the last
    of each (asset key, event type), in batch order.

    Each event type writes a fixed set of columns of its asset's row, so the state after
    updating the row for every event equals the state after updating it for these alone: a
    column's last writer is always the last event of some type, and these keep their order."""
    last: dict[tuple[str, str], int] = {}
    for position, event in enumerate(events):
        dagster_event = event.get_dagster_event()
        asset_key = dagster_event.asset_key
        assert asset_key is not None  # writes_in_one_statement
        last[(asset_key.to_string(), dagster_event.event_type_value)] = position
    return sorted(last.values())


def index_events(
    storage: SqlEventLogStorage, conn: Connection, events: Sequence[EventLogEntry], event_ids: Sequence[int]
) -> None:
    """The cross-run index rows of stored asset events: their indexed tags, then the asset-key
    rows, as `store_event` writes them for each event."""
    storage._store_asset_event_tags(conn, events, event_ids)
    for position in asset_entry_writers(events):
        storage._store_asset_event(conn, events[position], event_ids[position])
