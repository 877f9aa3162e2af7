"""Fixtures of the production suite: a real PostgreSQL server, a deployment on it, a simulator.

One PostgreSQL server serves the whole test session, whichever xdist workers need it: the first
one starts it, the last one done stops it (`shared_postgres_server`, a file under a lock in the
folder the workers share). Each test or module makes its own database on it.

The deployment (code server, webserver, daemon) is started once per module that needs it: its
tests carry `xdist_group("postgres")` (a module's `pytestmark`; a mark on a fixture groups
nothing), so `--dist loadgroup` keeps them on one worker. pytest-xdist 3.8 groups by appending
`@group` to each test's node id, which pytest 9.2 no longer lets a plugin change: grouping then
stops without a word (pytest-dev/pytest-xdist#1386) and each worker would start its own
deployment. pyproject.toml keeps pytest below 9.2 for that, and `one_worker_for` fails the tests
loudly if a second worker ever starts one again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from production.postgres_server import PostgresServer, PostgresUnavailable, shared_postgres_server

POSTGRES_GROUP = pytest.mark.xdist_group("postgres")


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every xdist worker of this run shares (the parent of their basetemps), or the
    basetemp without xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """The session's PostgreSQL server: the machine's, else the `dev` extra's from PyPI
    (postgres_server.py). No server FAILS the tests (never a silent skip), saying what to
    install."""
    try:
        server = shared_postgres_server(shared_folder(tmp_path_factory))
        db = server.__enter__()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield db
    finally:
        server.__exit__(None, None, None)


def one_worker_for(group: str, config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Under `--dist loadgroup`, claim `group` for this xdist worker, or fail if another worker
    claimed it: the group was not kept together. The claim is one atomic link in the folder the
    workers share."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None or not getattr(config.option, "loadgroup", False):
        return
    shared = shared_folder(tmp_path_factory)
    claim = shared / f"{group}-worker"
    mine = shared / f"{group}-worker.{worker}"
    mine.write_text(worker, encoding="utf-8")
    try:
        os.link(mine, claim)
    except FileExistsError:
        owner = claim.read_text(encoding="utf-8")
        if owner != worker:
            pytest.fail(
                f"xdist workers {owner} and {worker} both run the xdist_group({group!r}) tests: "
                "--dist loadgroup did not keep them on one worker (pytest 9.2 with pytest-xdist 3.8 "
                "drops the groups, pytest-dev/pytest-xdist#1386; pyproject.toml pins pytest<9.2)",
                pytrace=False,
            )
