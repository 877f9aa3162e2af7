"""`ingest_days` on more than one core: days, and a huge day's windows, spread over processes.

One process cannot use the machine's second core: parsing answers, E.164 and building Arrow
columns hold the GIL (a year's backfill is about 6.5 s of it; a million-message day about 8 s).
So the run's own process and `worker_processes - 1` worker processes (worker_pool.py) share
`parallelism` slots, each slot one request in flight at a time, pulling tasks from one queue:

- a day task fetches, normalizes, writes and checks a day wherever it runs, and returns the
  small `DayResult` (the table stays in the process that wrote it);
- a day whose answer is too large (client.WindowPolicy) comes back as a split: its `from`/`to`
  windows (windows.split) go to the front of the queue, each is fetched and normalized where it
  runs, and the run's process puts the day together once every window is in, then writes it.

The run's own process starts working at once; workers join as they become ready (their start
is not waited for), and are started only for work big enough to pay for them: at least
`MIN_DAYS_FOR_WORKERS` days, or a day that needs windows. Everything else holds as on threads:
per-day isolation (a failed day, or a day whose worker was killed, is reported with its typed
error and keeps its previous file; the other days land), exact days, resume by run id.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TypeAlias

import pyarrow as pa

from lightsms_pipeline.api.client import ClientSpec, DayTooLarge, LightSMSClient
from lightsms_pipeline.errors import LightSMSError
from lightsms_pipeline.ingest.engine import (
    DayResult,
    IngestOptions,
    day_spans,
    duplicate_ids,
    ids_ascending,
    ingest_day,
    ingest_span,
    normalize_answer,
    write_day,
    written_by_this_run,
)
from lightsms_pipeline.ingest.windows import Window, split
from lightsms_pipeline.ingest.worker_pool import RemoteSlot, WorkerDiedError, portable, worker_slots
from lightsms_pipeline.normalize.incoming import sort_key_indices
from lightsms_pipeline.storage.parquet import Dataset

log = logging.getLogger(__name__)

# Fewer days than this are not worth a worker's start-up (about a second of one core, the fork
# server's imports), unless a day needs windows.
MIN_DAYS_FOR_WORKERS = 16


@dataclass(frozen=True)
class DayTask:
    day: date


@dataclass(frozen=True)
class SpanTask:
    """Consecutive days asked for in one request (`ingest_span`)."""

    days: tuple[date, ...]


@dataclass(frozen=True)
class WindowTask:
    day: date
    index: int
    window: Window


Task: TypeAlias = DayTask | SpanTask | WindowTask


@dataclass(frozen=True)
class Split:
    """A day too large for one answer: to be fetched window by window."""

    day: date


@dataclass(frozen=True)
class SpanDone:
    """A span's days, each written or failed on its own."""

    results: tuple[DayResult, ...]


@dataclass(frozen=True)
class Unspanned:
    """A span to be fetched day by day (`ingest_span` said so)."""

    days: tuple[date, ...]


Outcome: TypeAlias = DayResult | SpanDone | Unspanned | Split | pa.Table
# (requests, retries, timestamp_calls, seconds) a worker's client added while serving a task.
StatsDelta: TypeAlias = tuple[int, int, int, float]


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs, pickled into it at start; the API key and the salt are inside
    (`ClientSpec`, `IngestOptions`), both kept out of every repr."""

    client: ClientSpec
    data_dir: str
    options: IngestOptions
    fetched_at: datetime
    threads: int


@dataclass
class _Context:
    """One process's means to run tasks."""

    client: LightSMSClient
    dataset: Dataset
    options: IngestOptions
    fetched_at: datetime
    _reported: tuple[int, int, int, float] = (0, 0, 0, 0.0)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stats_delta(self) -> StatsDelta:
        """What the client counted since the last call (summed by the run's process)."""
        with self._lock:
            now = self.client.stats.snapshot()
            current = (now.requests, now.retries, now.timestamp_calls, now.seconds)
            delta = (
                current[0] - self._reported[0],
                current[1] - self._reported[1],
                current[2] - self._reported[2],
                current[3] - self._reported[3],
            )
            self._reported = current
            return delta


def _setup_worker(setup: WorkerSetup) -> _Context:
    client = LightSMSClient.from_spec(setup.client, pool_size=setup.threads)
    return _Context(client, Dataset(setup.data_dir), setup.options, setup.fetched_at)


def _run_in_worker(context: _Context, task: Task) -> tuple[Outcome, StatsDelta]:
    outcome = run_task(context, task)
    if isinstance(outcome, DayResult) and outcome.error is not None:
        outcome = replace(outcome, error=portable(outcome.error))
    if isinstance(outcome, SpanDone):
        outcome = SpanDone(
            tuple(r if r.error is None else replace(r, error=portable(r.error)) for r in outcome.results)
        )
    return outcome, context.stats_delta()


def run_task(context: _Context, task: Task) -> Outcome:
    """Run one task in this process. A day's errors are returned in its `DayResult`; a
    window's are raised (its day fails as a whole)."""
    if isinstance(task, WindowTask):
        raw = context.client.fetch_window(task.window)
        return normalize_answer(raw, context.options, context.fetched_at, str(task.window))
    if isinstance(task, SpanTask):
        try:
            results = ingest_span(
                context.client, context.dataset, task.days, context.options, context.fetched_at
            )
        except Exception:
            log.exception("unexpected error ingesting %s", _describe(task))
            results = None
        return Unspanned(task.days) if results is None else SpanDone(tuple(results))
    day = task.day
    try:
        return written_by_this_run(context.dataset, day, context.options) or ingest_day(
            context.client, context.dataset, day, context.options, context.fetched_at, windows=False
        )
    except DayTooLarge:
        return Split(day)
    except LightSMSError as exc:
        return DayResult(day=day, error=exc)
    except Exception as exc:
        log.exception("unexpected error ingesting %s", day)
        return DayResult(day=day, error=exc)


class _Work:
    """The tasks not yet taken, and how many are still open (queued or running)."""

    def __init__(self, tasks: Iterable[Task]) -> None:
        self._queue: deque[Task] = deque(tasks)
        self._open = len(self._queue)
        self._cond = threading.Condition()

    def take(self) -> Task | None:
        """The next task; None once every task is done (blocks while others may add some)."""
        with self._cond:
            while not self._queue and self._open:
                self._cond.wait()
            return self._queue.popleft() if self._queue else None

    def put_back(self, task: Task) -> None:
        with self._cond:
            self._queue.appendleft(task)
            self._cond.notify()

    def finish(self, follow_ups: Sequence[Task] = ()) -> None:
        """One task done; `follow_ups` (a split day's windows) go first in the queue."""
        with self._cond:
            self._queue.extendleft(reversed(follow_ups))
            self._open += len(follow_ups) - 1
            self._cond.notify_all()

    @property
    def done(self) -> bool:
        with self._cond:
            return self._open == 0

    def wait_done(self) -> None:
        with self._cond:
            while self._open:
                self._cond.wait()


@dataclass
class _Assembly:
    """A split day's windows as they come in."""

    parts: list[pa.Table | None]
    failed: bool = False

    @property
    def complete(self) -> bool:
        return all(p is not None for p in self.parts)


class _Run:
    def __init__(
        self,
        client: LightSMSClient,
        dataset: Dataset,
        days: Sequence[date],
        options: IngestOptions,
        fetched_at: datetime,
        on_done: Callable[[DayResult], None] | None,
        local_slots: int | None,
    ) -> None:
        self.client = client
        self.dataset = dataset
        self.options = options
        self.fetched_at = fetched_at
        self.on_done = on_done
        self.local = _Context(client, dataset, options, fetched_at)
        self.work = _Work(
            DayTask(span[0]) if len(span) == 1 else SpanTask(span)
            for span in day_spans(days, options.days_per_request)
        )
        self.results: dict[date, DayResult] = {}
        self.assemblies: dict[date, _Assembly] = {}
        self.lock = threading.Lock()
        self.processes = min(options.worker_processes, options.parallelism)
        self.per_worker = max(1, options.parallelism // self.processes)
        # This process's share of the slots once workers run; until then (and for a run too
        # small for workers) it runs all `parallelism` of them itself.
        self.local_share = max(1, options.parallelism - self.per_worker * (self.processes - 1))
        self.local_slots = options.parallelism
        if local_slots is not None:
            self.local_share = self.local_slots = local_slots
        # At most `parallelism` requests in flight, whoever holds them: local slots over their
        # allowance retire after their task, a ready worker slot waits for room.
        self.capacity = threading.Condition(self.lock)
        self.local_allowed = self.local_slots
        self.local_active = 0
        self.remote_active = 0
        self.threads: list[threading.Thread] = []
        self.workers = ExitStack()
        self.starter: threading.Thread | None = None

    # --- slots ---------------------------------------------------------------------------

    def spawn(self, target: Callable[..., None], *args: object) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name="lightsms-slot", daemon=True)
        with self.lock:
            self.threads.append(thread)
        thread.start()
        return thread

    def spawn_local(self) -> None:
        with self.capacity:
            self.local_active += 1
        self.spawn(self.local_slot)

    def local_slot(self) -> None:
        try:
            while True:
                with self.capacity:
                    if self.local_active > self.local_allowed:  # a worker's slot takes over
                        self.local_active -= 1
                        self.capacity.notify_all()
                        return
                task = self.work.take()
                if task is None:
                    break
                if self.skipped(task):
                    continue
                try:
                    outcome = run_task(self.local, task)
                except Exception as exc:
                    self.failed(task, exc)
                    continue
                self.handle(task, outcome)
        except BaseException:
            log.exception("a slot of this process stopped")
        with self.capacity:
            self.local_active -= 1
            self.capacity.notify_all()

    def remote_slot(self, slot: RemoteSlot[Task, tuple[Outcome, StatsDelta]]) -> None:
        served = 0
        active = False
        try:
            if slot.wait_ready():
                with self.capacity:
                    while self.local_active + self.remote_active >= self.options.parallelism:
                        self.capacity.wait()
                    self.remote_active += 1
                active = True
                served = self._serve_remote(slot)
        finally:
            slot.close()
            log.info("worker process %s: %d tasks served on one of its slots", slot.pid, served)
            with self.capacity:
                self.remote_active -= active
                self.local_allowed += 1  # this process takes the slot back (a dead worker's)
                refill = self.local_active < self.local_allowed
                self.capacity.notify_all()
            if refill and not self.work.done:
                self.spawn_local()

    def _serve_remote(self, slot: RemoteSlot[Task, tuple[Outcome, StatsDelta]]) -> int:
        """Feed the worker's slot until the work is done (or the worker is gone); the number
        of tasks it served."""
        served = 0
        while (task := self.work.take()) is not None:
            if self.skipped(task):
                continue
            if not slot.send(task):
                self.work.put_back(task)  # the worker is gone; the task never reached it
                return served
            served += 1
            try:
                outcome, delta = slot.result(_describe(task))
            except WorkerDiedError as exc:
                self.failed(task, exc)
                return served
            except Exception as exc:
                self.failed(task, exc)
                continue
            self.client.stats.add(
                requests=delta[0], retries=delta[1], timestamp_calls=delta[2], seconds=delta[3]
            )
            log.debug("%s: served by worker process %s", _describe(task), slot.pid)
            self.handle(task, outcome)
        return served

    def start_workers(self) -> None:
        """Start the worker processes once, on a thread of its own: the slots here keep
        working meanwhile."""
        with self.lock:
            if self.starter is not None or self.processes < 2:
                return
            self.starter = threading.Thread(target=self._start_workers, name="lightsms-workers", daemon=True)
        self.starter.start()

    def _start_workers(self) -> None:
        # Asked once here and handed to every worker; if it fails, the days report it and each
        # worker asks for itself.
        with suppress(LightSMSError):
            self.client.server_time_offset()
        setup = WorkerSetup(
            self.client.spec(), self.dataset.root, self.options, self.fetched_at, self.per_worker
        )
        try:
            slots = self.workers.enter_context(
                worker_slots(
                    _setup_worker,
                    setup,
                    _run_in_worker,
                    processes=self.processes - 1,
                    threads=self.per_worker,
                )
            )
        except Exception:
            log.exception("could not start worker processes; ingesting in this process only")
            with self.capacity:
                self.local_allowed = self.options.parallelism
            for _ in range(self.options.parallelism - self.local_active):
                self.spawn_local()
            return
        with self.capacity:
            self.local_allowed = self.local_share
        for slot in slots:
            self.spawn(self.remote_slot, slot)

    # --- outcomes ------------------------------------------------------------------------

    def handle(self, task: Task, outcome: Outcome) -> None:
        if isinstance(task, SpanTask):
            if isinstance(outcome, Unspanned):
                self.work.finish([DayTask(d) for d in outcome.days])
                return
            assert isinstance(outcome, SpanDone)
            for result in outcome.results:
                self.day_done(result)
            self.work.finish()
            return
        if isinstance(task, DayTask):
            if isinstance(outcome, Split):
                windows = split(Window.whole_day(task.day))
                with self.lock:
                    self.assemblies[task.day] = _Assembly([None] * len(windows))
                log.info("%s: fetching %d windows over %d processes", task.day, len(windows), self.processes)
                self.start_workers()
                self.work.finish([WindowTask(task.day, n, w) for n, w in enumerate(windows)])
                return
            assert isinstance(outcome, DayResult)
            self.day_done(outcome)
            self.work.finish()
            return
        with self.lock:
            assembly = self.assemblies[task.day]
            if not assembly.failed:
                assembly.parts[task.index] = outcome
            ready = not assembly.failed and assembly.complete
        if ready:
            self.day_done(self.assemble(task.day, assembly))
        self.work.finish()

    def failed(self, task: Task, error: Exception) -> None:
        if isinstance(task, WindowTask):
            with self.lock:
                assembly = self.assemblies[task.day]
                first = not assembly.failed
                assembly.failed = True
                assembly.parts = [None] * len(assembly.parts)  # let the others' tables go
            if first:
                self.day_done(DayResult(day=task.day, error=error))
        elif isinstance(task, SpanTask):
            for day in task.days:
                self.day_done(DayResult(day=day, error=error))
        else:
            self.day_done(DayResult(day=task.day, error=error))
        self.work.finish()

    def skipped(self, task: Task) -> bool:
        """A window of a day that already failed is not fetched."""
        if isinstance(task, WindowTask):
            with self.lock:
                if self.assemblies[task.day].failed:
                    self.work.finish()
                    return True
        return False

    def day_done(self, result: DayResult) -> None:
        with self.lock:
            self.results[result.day] = result
        if self.on_done is not None:
            self.on_done(result)

    def assemble(self, day: date, assembly: _Assembly) -> DayResult:
        """The day from its windows' tables, exactly what normalizing the windows' answers
        together would give: checked in order and without a repeated id, else (a message
        outside its window, an id in two windows) the day is fetched again the way one
        process does it, where `to_incoming_table` sorts and de-duplicates it whole."""
        parts = [p for p in assembly.parts if p is not None]
        assembly.parts = []
        try:
            table = pa.concat_tables(parts)
            ids = table["id_sms"]
            if not _joined_in_order(parts) or not (ids_ascending(ids) or not duplicate_ids(ids)):
                log.info("%s: its windows do not join in order; fetching the day in one process", day)
                return ingest_day(self.client, self.dataset, day, self.options, self.fetched_at)
            return write_day(self.dataset, day, table, self.options)
        except LightSMSError as exc:
            return DayResult(day=day, error=exc)
        except Exception as exc:
            log.exception("unexpected error ingesting %s", day)
            return DayResult(day=day, error=exc)


def _joined_in_order(parts: Sequence[pa.Table]) -> bool:
    """Whether tables each in (`received_at`, `id_sms`) order stay in order one after the
    other: each last row comes before the next table's first one."""
    edges = [p for p in parts if p.num_rows]
    for before, after in itertools.pairwise(edges):
        pair = pa.concat_tables([before.slice(before.num_rows - 1, 1), after.slice(0, 1)])
        if sort_key_indices(pair).to_pylist() != [0, 1]:
            return False
    return True


def _describe(task: Task) -> str:
    if isinstance(task, SpanTask):
        return f"{task.days[0]}..{task.days[-1]}"
    return str(task.day) if isinstance(task, DayTask) else f"{task.day} (window {task.window})"


def ingest_days_in_processes(
    client: LightSMSClient,
    dataset: Dataset,
    days: Sequence[date],
    options: IngestOptions,
    fetched_at: datetime,
    *,
    on_done: Callable[[DayResult], None] | None = None,
    local_slots: int | None = None,
) -> list[DayResult]:
    """`ingest_days` over `options.worker_processes` processes sharing `options.parallelism`
    requests in flight; results in day order, errors per day.

    `local_slots` overrides how many tasks this process runs itself (0: every task goes to a
    worker, as tests want; this process takes a slot back for each worker slot that ends)."""
    run = _Run(client, dataset, days, options, fetched_at, on_done, local_slots)
    with run.workers:
        if len(days) >= MIN_DAYS_FOR_WORKERS or run.local_slots == 0:
            run.start_workers()
        for _ in range(run.local_slots):
            run.spawn_local()
        run.work.wait_done()
        if run.starter is not None:
            run.starter.join()
    for thread in list(run.threads):
        thread.join()
    return [run.results[d] for d in days]
