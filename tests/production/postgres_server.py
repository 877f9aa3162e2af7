"""A throwaway PostgreSQL server on 127.0.0.1, for the production tests and the benchmark.

The server refuses to run as root, so as root (CI) its files belong to the `postgres` user and
every command runs through `runuser -u postgres --`. It listens on a free port, keeps its socket
and data in a private temporary folder, runs in UTC (Dagster requires it), and is stopped and
deleted on exit. The password is random and never printed: `repr` shows the URL without it.
"""

from __future__ import annotations

import dataclasses
import fcntl
import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER_USER = "postgres"
ROLE = "dagster"
DATABASE = "lightsms"
MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql/*/bin: "
    "install the server (Debian/Ubuntu: apt-get install -y postgresql; .ci/run does it in CI)"
)


class PostgresUnavailable(RuntimeError):
    """The server could not be found or started; the message says what to install or fix."""


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL Dagster reads from DAGSTER_PG_URL (psycopg2, see the README)."""
        return f"postgresql+psycopg2://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def __repr__(self) -> str:
        return (
            f"PostgresServer(postgresql+psycopg2://{self.user}:***@{self.host}:{self.port}/{self.database})"
        )

    def with_database(self, name: str) -> PostgresServer:
        """A new, empty database on this server (one per deployment keeps tests apart)."""
        conn = self.connect("postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8'")
        conn.close()
        return PostgresServer(self.host, self.port, name, self.user, self.password)

    def connect(self, database: str | None = None) -> Any:
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database or self.database,
        )


def server_binaries() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`: PATH first, then Debian's versioned folders."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(f"{folder}/initdb", os.X_OK) and os.access(f"{folder}/pg_ctl", os.X_OK):
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server(*, durable: bool = True) -> Iterator[PostgresServer]:
    """Start a server, create the role and database, yield it, stop it and delete its files.

    `durable=False` turns off fsync and synchronous commits (tests: nothing to keep after a
    crash); the benchmark keeps PostgreSQL's defaults.
    """
    root, server = start_server(durable=durable)
    try:
        yield server
    finally:
        stop_server(root)


@contextmanager
def shared_postgres_server(shared: Path, *, durable: bool = False) -> Iterator[PostgresServer]:
    """One server for every process that enters with the same `shared` folder (the xdist workers
    of one test run): the first one in starts it, the last one out stops it and deletes its
    files. The bookkeeping (where it listens, how many use it) is a file under an exclusive lock;
    it holds the password, so only its owner may read it."""
    state_file = shared / "postgres-server.json"
    with _locked(shared / "postgres-server.lock"):
        if state_file.exists():
            state = json.loads(state_file.read_text(encoding="utf-8"))
            _log(shared, f"attached (pid {os.getpid()})")
        else:
            root, server = start_server(durable=durable)
            state = {"root": str(root), "server": dataclasses.asdict(server), "users": 0}
            _log(shared, f"started on port {server.port} (pid {os.getpid()})")
        state["users"] += 1
        _write_private(state_file, state)
    try:
        yield PostgresServer(**state["server"])
    finally:
        with _locked(shared / "postgres-server.lock"):
            state = json.loads(state_file.read_text(encoding="utf-8"))
            state["users"] -= 1
            if state["users"] == 0:
                stop_server(Path(state["root"]))
                state_file.unlink()
                _log(shared, f"stopped (pid {os.getpid()})")
            else:
                _write_private(state_file, state)


def _log(shared: Path, line: str) -> None:
    """`postgres-server.log` in the shared folder: who started, used and stopped the server."""
    with (shared / "postgres-server.log").open("a", encoding="utf-8") as log:
        log.write(line + "\n")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_private(path: Path, value: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps(value), encoding="utf-8")
    os.replace(tmp, path)


def _as_server_user() -> list[str]:
    """The prefix that runs a command as the server's user: as root, through `runuser`."""
    return ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []


def start_server(*, durable: bool) -> tuple[Path, PostgresServer]:
    """A running server with the role and the database: its folder (for `stop_server`) and it."""
    bindir = server_binaries()
    if bindir is None:
        raise PostgresUnavailable(MISSING)
    as_root = os.geteuid() == 0
    prefix = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="lightsms-pg-"))
    data, log = root / "data", root / "server.log"
    password = secrets.token_urlsafe(24)
    port = free_port()
    try:
        pwfile = root / "pw"
        pwfile.write_text(password + "\n", encoding="utf-8")
        if as_root:
            try:
                user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"no `{SERVER_USER}` user: the server refuses to run as root, and its files must "
                    "belong to that user (Debian's postgresql package creates it)"
                ) from None
            os.chown(root, user.pw_uid, user.pw_gid)
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        os.chmod(root, 0o700)
        os.chmod(pwfile, 0o600)
        _run(
            [
                *prefix, str(bindir / "initdb"), "-D", str(data), "-U", ROLE, f"--pwfile={pwfile}",
                "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync",
            ],
            "initdb",
        )  # fmt: skip
        pwfile.unlink()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": f"'{root}'",
            "timezone": "'UTC'",
            "log_timezone": "'UTC'",
            "max_connections": "200",
        }
        if not durable:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("".join(f"{k} = {v}\n" for k, v in settings.items()))
        _run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"],
            "start",
        )
        server = PostgresServer("127.0.0.1", port, "postgres", ROLE, password).with_database(DATABASE)
    except BaseException:
        stop_server(root)
        raise
    return root, server


def stop_server(root: Path) -> None:
    """Stop the server whose files are in `root` (if it runs) and delete them."""
    bindir = server_binaries()
    if bindir is not None and (root / "data" / "postmaster.pid").exists():
        subprocess.run(
            [
                *_as_server_user(),
                str(bindir / "pg_ctl"),
                "-D",
                str(root / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
    shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str], what: str) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise PostgresUnavailable(f"PostgreSQL {what} failed ({proc.returncode}): {proc.stderr[-2000:]}")
