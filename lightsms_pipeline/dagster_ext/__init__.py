"""Extensions of Dagster's instance: the one place allowed to use `dagster._…` (private) names.

Why it exists: in a single-run backfill Dagster records two events per day (a planned
materialization before the run, a materialization after it) and its storages write each in
transactions of its own: on SQLite a new engine, connect, commit and dispose per event, on
PostgreSQL a new connection per planned event. For a year that bookkeeping cost more than the
work. Dagster can hand such events to its storage in batches (`store_event_batch`), but only
when asked to (its `DAGSTER_EVENT_BATCH_SIZE`), and its SQLite storage then still writes them
one by one. Here:

- `instance.BatchingInstance`: the batch size comes from `dagster.yaml` (`event_batch_size`),
  so it applies in every process that loads the instance (the CLI, `dagster dev`'s webserver,
  daemon, code server and run workers), not only where a variable happens to be exported;
- `sqlite_storage.BatchingSqliteStorage` and `postgres_storage.BatchingPostgresStorage`: the
  default storages, with a batch written in one transaction per database.

Every event is still stored, in order, once; a planned event per day is kept, so a failed run
still marks its days failed. Verified with dagster 1.13.27 (`VERIFIED_DAGSTER`); the behaviour
relied on is pinned by `tests/test_dagster_ext*.py`, which fail loudly on another version.
Turning it off: remove the `instance_class` block from `dagster.yaml` (and, on PostgreSQL, name
`storage: postgres:` instead of the `custom` storage).
"""

VERIFIED_DAGSTER = ("1.13.27",)
