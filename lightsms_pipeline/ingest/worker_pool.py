"""Worker processes, each serving tasks on a few threads: more than one core for `ingest_days`.

Why not `concurrent.futures.ProcessPoolExecutor`: its workers run one task at a time (a day is
mostly waiting on LightSMS, so a worker needs several in flight), and when one worker dies the
whole pool breaks and every pending task fails with it. Here each worker process serves
`threads` socket pairs, one task at a time on each; a pair is a *slot*, driven by one thread of
the calling process (`RemoteSlot`). A worker that dies (SIGKILL, OOM) fails only the tasks in
its own slots, with `WorkerDiedError`; the other workers and the calling process carry on.

A worker is a fresh interpreter (`python -m lightsms_pipeline.ingest.worker_pool`), never a fork of
the threaded Dagster run process. Not multiprocessing's "spawn" or "forkserver" either: both
re-import the parent's `__main__` in every child, which under `dagster asset materialize` is
Dagster's CLI (1.4 s of imports a worker). Everything a worker needs, secrets included,
travels pickled over its first socket: never in argv, the environment or a log line.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from lightsms_pipeline.errors import LightSMSError

log = logging.getLogger(__name__)

# The directory holding the `lightsms_pipeline` package, put first on a worker's path.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
_OWN_PREFIX = "LIGHTSMS_"
# `auto` is one process per core, at most this many: past it the run's own process (Dagster's
# bookkeeping, assembling windowed days) and the provider's limits gain nothing.
MAX_AUTO_PROCESSES = 4
_JOIN_SECONDS = 10.0

C = TypeVar("C")  # a worker's context, built once per process by `setup`
T = TypeVar("T")  # a task
R = TypeVar("R")  # a task's outcome


class WorkerDiedError(LightSMSError):
    """A worker process ended (killed, out of memory) while it held a task; the task's day
    keeps its previous file."""


class WorkerTaskError(LightSMSError):
    """A worker's task raised an exception that cannot travel between processes: its type and
    message, as text."""


def resolve_worker_processes(value: int | Literal["auto"]) -> int:
    """`LIGHTSMS_WORKER_PROCESSES` as a count of processes (the caller's included): `auto` is
    one per core available to this process, capped at `MAX_AUTO_PROCESSES`; 0 counts as 1."""
    if value == "auto":
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
        return max(1, min(cores, MAX_AUTO_PROCESSES))
    return max(1, value)


@dataclass(frozen=True)
class _Ready:
    pid: int


@dataclass(frozen=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True)
class _Done(Generic[R]):
    outcome: R


class RemoteSlot(Generic[T, R]):
    """One of a worker's socket pairs: runs one task at a time in that worker."""

    def __init__(self, conn: Connection, process: subprocess.Popen[bytes]) -> None:
        self._conn = conn
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_ready(self) -> bool:
        """Block until the worker has started (True) or has died or failed to start (False)."""
        try:
            first = self._conn.recv()
        except (EOFError, OSError):
            log.warning("worker process %s ended before it was ready (%s)", self.pid, self._why())
            return False
        if isinstance(first, _Failed):
            log.warning("worker process %s could not start: %s", self.pid, first.error)
            return False
        return True

    def send(self, task: T) -> bool:
        """Hand `task` to the worker; False if the worker is gone (the task never reached it)."""
        try:
            self._conn.send(task)
        except OSError:  # BrokenPipeError, ConnectionResetError
            return False
        return True

    def result(self, what: str) -> R:
        """The outcome of the task sent last; `WorkerDiedError` naming `what` if the worker died
        holding it, or the task's own exception."""
        try:
            reply = self._conn.recv()
        except (EOFError, OSError):
            raise WorkerDiedError(
                f"the worker process (pid {self.pid}) ingesting {what} ended before it answered "
                f"({self._why()}); whatever it had not written keeps its previous file"
            ) from None
        if isinstance(reply, _Failed):
            raise reply.error
        assert isinstance(reply, _Done)
        return reply.outcome  # type: ignore[no-any-return]

    def _why(self) -> str:
        try:
            code = self._process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return "still running, its socket closed"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def close(self) -> None:
        """No more tasks: the worker's thread for this slot ends (the worker, with its last)."""
        self._conn.close()


@contextmanager
def worker_slots(
    setup: Callable[[Any], C],
    setup_arg: Any,
    run: Callable[[C, T], R],
    *,
    processes: int,
    threads: int,
) -> Iterator[list[RemoteSlot[T, R]]]:
    """Start `processes` workers with `threads` slots each, not waiting for them (each slot's
    `wait_ready` does). The caller closes every slot when done with it; on exit the workers
    are waited for (one still running after `_JOIN_SECONDS` is killed).

    `setup(setup_arg)` builds a worker's context once; `run(context, task)` serves each task.
    Both are module-level functions (pickled by name); `setup_arg` is pickled whole.
    """
    started: list[subprocess.Popen[bytes]] = []
    slots: list[RemoteSlot[T, R]] = []
    path = os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))
    # A worker reads no setting from its environment: the credentials and the salt (which the
    # run's process may hold as variables, for Dagster's EnvVar) are left out of it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIX)} | {"PYTHONPATH": path}
    try:
        for _ in range(processes):
            pairs = [socket.socketpair() for _ in range(threads)]
            fds = [child.fileno() for _, child in pairs]
            process = subprocess.Popen(
                [sys.executable, "-m", "lightsms_pipeline.ingest.worker_pool", *map(str, fds)],
                pass_fds=fds,
                env=env,
                stdin=subprocess.DEVNULL,
            )
            started.append(process)
            conns = []
            for parent, child in pairs:
                child.close()  # the worker holds its own copy: its death closes the pair
                conns.append(Connection(parent.detach()))
            with suppress(OSError):  # a worker that died at once: its slots find out
                conns[0].send((setup, setup_arg, run))
            slots.extend(RemoteSlot(conn, process) for conn in conns)
        yield slots
    finally:
        # A worker ends once its slots are closed; its interpreter's exit (a few hundred ms) is
        # waited for on a thread of its own, not by the run.
        for process in started:
            threading.Thread(target=_reap, args=(process,), name="lightsms-reap", daemon=True).start()


def _reap(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(timeout=_JOIN_SECONDS)
    except subprocess.TimeoutExpired:
        log.warning("worker process %s did not stop; killing it", process.pid)
        process.kill()
        process.wait()


def _worker_main(fds: list[int]) -> None:
    """A worker process: read what to run, build the context, serve each socket on a thread."""
    conns = [Connection(fd) for fd in fds]
    try:
        setup, setup_arg, run = conns[0].recv()
        context = setup(setup_arg)
    except EOFError:
        return  # the calling process went away before sending anything
    except BaseException as exc:
        for conn in conns:
            _send(conn, _Failed(portable(exc)))
        return
    for conn in conns:
        _send(conn, _Ready(os.getpid()))
    servers = [threading.Thread(target=_serve, args=(run, context, conn), daemon=True) for conn in conns]
    for thread in servers:
        thread.start()
    for thread in servers:
        thread.join()


def _serve(run: Callable[[C, T], R], context: C, conn: Connection) -> None:
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the slot was closed, or the calling process is gone
        try:
            reply: _Done[R] | _Failed = _Done(run(context, task))
        except BaseException as exc:
            reply = _Failed(portable(exc))
        if not _send(conn, reply):
            return


def _send(conn: Connection, message: object) -> bool:
    try:
        conn.send(message)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        # The outcome itself would not pickle: say so rather than leave the slot waiting.
        return _send(conn, _Failed(WorkerTaskError(f"a worker's answer could not be sent: {exc}")))
    except OSError:  # BrokenPipeError, ConnectionResetError
        return False
    return True


def portable(exc: BaseException) -> Exception:
    """`exc` if it is an `Exception` that survives pickling, else a `WorkerTaskError` with its
    type and message."""
    if isinstance(exc, Exception):
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            pass
        else:
            return exc
    return WorkerTaskError(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    # Through the module's own name: what the worker pickles must name
    # `lightsms_pipeline.ingest.worker_pool`, not `__main__`.
    from lightsms_pipeline.ingest import worker_pool

    worker_pool._worker_main([int(fd) for fd in sys.argv[1:]])
