"""Fixtures of the production suite: a real PostgreSQL server, a deployment on it, a simulator.

The PostgreSQL tests share one server per test session; `xdist_group("postgres")` keeps them on
one xdist worker, so one server is started, not one per worker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from production.postgres_server import PostgresServer, PostgresUnavailable, postgres_server

POSTGRES_GROUP = pytest.mark.xdist_group("postgres")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session. Missing binaries FAIL the tests (never a silent skip):
    CI installs the server (.ci/run), and a developer is told what to install."""
    try:
        server = postgres_server(durable=False)
        db = server.__enter__()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield db
    finally:
        server.__exit__(None, None, None)
