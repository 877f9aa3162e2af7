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
still marks its days failed. Verified with the Dagster versions in `VERIFIED_DAGSTER` (the ones
constraints.txt pins and the suite runs against); the behaviour relied on is pinned by
`tests/test_dagster_ext*.py`, which fail loudly on another version.

On any other Dagster (the package allows a range), or if a private name the batch writers use
cannot be imported, nothing here changes what is written: the instance takes Dagster's own batch
size (`DAGSTER_EVENT_BATCH_SIZE`, or none), the storages hand every call to Dagster's own methods
and keep dagster-postgres's own connections, and the process logs one warning naming the
installed and the verified versions (`batching_on`). The warning is a log record, not a Python
warning: `-W error` or a `filterwarnings = error` must not turn it into a failed run.
Turning it off (and the warning with it): remove the `instance_class` block and
`event_batch_size` from `dagster.yaml` (and, on PostgreSQL, name `storage: postgres:` instead
of the `custom` storage). The history stays readable by Dagster's own classes.
"""

from __future__ import annotations

import logging
import threading

import dagster

VERIFIED_DAGSTER = ("1.13.27",)

_log = logging.getLogger(__name__)
# Taken once and never released: the warning is said by whichever call takes it first.
_fallback_said = threading.Lock()


def batching_on(unavailable: BaseException | None = None) -> bool:
    """Whether the batch writers may run in this process: the installed Dagster is one they were
    verified with and nothing they import is `unavailable`. If not, the caller does what Dagster
    does without the extension, and the first such answer in the process logs why."""
    installed = dagster.__version__
    if installed in VERIFIED_DAGSTER and unavailable is None:
        return True
    if _fallback_said.acquire(blocking=False):
        why = (
            f"this is Dagster {installed}"
            if unavailable is None
            else f"on this Dagster ({installed}) it cannot import what it uses ({unavailable!r})"
        )
        _log.warning(
            "lightsms_pipeline.dagster_ext was verified with Dagster %s only; %s. It writes nothing "
            "itself: Dagster's own event storage and batch size are used, exactly as without it. To "
            "silence this, install a verified Dagster, or remove `instance_class` and "
            "`event_batch_size` from dagster.yaml (on PostgreSQL, also write `storage: postgres:` "
            "instead of the `custom` storage); see docs/performance.md.",
            ", ".join(VERIFIED_DAGSTER),
            why,
        )
    return False
