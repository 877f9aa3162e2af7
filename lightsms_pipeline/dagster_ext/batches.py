"""What a batch of events becomes in the event log's tables, for any SQL storage of Dagster's.

Shared by the SQLite and PostgreSQL storages: the SQL is the same (Dagster's own tables and its
own row and index helpers), only the transactions around it differ."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby
from typing import Any, cast

from dagster import _check as check
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationPlanned
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._serdes import serialize_value
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


def event_rows(storage: SqlEventLogStorage, events: Sequence[EventLogEntry]) -> list[dict[str, Any]]:
    """The event-log rows Dagster's `store_event` would write for the events (serializing an
    event is most of the cost of storing it: done once, even where two databases get the row)."""
    return [storage._event_to_row(event) for event in events]


def insert_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """One INSERT for all the rows, returning their storage ids in the rows' order."""
    table = SqlEventLogStorageTable
    statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    return [int(row[0]) for row in conn.execute(statement, list(rows))]


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


def store_check_planned(storage: SqlEventLogStorage, event: EventLogEntry, event_id: int | None) -> None:
    """Dagster's `_store_asset_check_evaluation_planned`, serializing the event once instead of
    once per partition: a year's backfill plans each asset check for 365 partitions, one row
    each, all holding the same serialized event (the partitions subset included)."""
    planned = cast(AssetCheckEvaluationPlanned, check.not_none(event.dagster_event).event_specific_data)
    partition_keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
    common = dict(
        asset_key=planned.asset_key.to_string(),
        check_name=planned.check_name,
        run_id=event.run_id,
        execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
        evaluation_event=serialize_value(event),
        evaluation_event_timestamp=storage._event_insert_timestamp(event),
        evaluation_event_storage_id=event_id,
    )
    with storage.index_connection() as conn:
        conn.execute(
            AssetCheckExecutionsTable.insert().values(
                [{**common, "partition": key} for key in partition_keys]
            )
        )
