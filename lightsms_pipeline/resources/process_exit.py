"""A run's process skips CPython's last garbage collection when it exits.

Why: a process that imported Dagster exits about a second later than it needs to. At exit CPython
tears its modules down and runs its cyclic garbage collector over everything still alive, and
Dagster's modules alone are some 270,000 tracked objects: measured here, a `dagster asset
materialize` of one day spent 1.1-1.2 s between its last `atexit` handler and its end, out of 6-7 s
in all (benchmarks/RESULTS.md, "Backfill"). With the collector frozen at exit (`gc.freeze`, the
standard library's own switch) the same process ends 0.1 s after it.

What it gives up is only finalizers of garbage in reference cycles at exit, which CPython never
promised to run anyway. Nothing of ours relies on them: every Parquet file is written and renamed
before a run reports it (storage.py), and every connection and file is closed where it is used.
Refcounted objects are still freed as their modules are torn down, and every other `atexit`
handler still runs (ours is registered last, while the run executes, so it runs first).
"""

from __future__ import annotations

import atexit
import gc
import threading

_registered = False
_lock = threading.Lock()


def skip_final_garbage_collection() -> None:
    """Freeze the collector when this process exits (once per process, however often called)."""
    global _registered
    with _lock:
        if not _registered:
            atexit.register(gc.freeze)
            _registered = True
