"""Fixtures of the production suite: a real PostgreSQL server, a deployment on it, a simulator.

The PostgreSQL tests share one server per test session: every one of them carries
`xdist_group("postgres")` (a module's `pytestmark` or the test's own mark; a mark on a fixture
groups nothing), so `--dist loadgroup` runs them all on one xdist worker, which starts one server
and one deployment. Each test or module still makes its own database on it.

pytest-xdist 3.8 groups by appending `@group` to each test's node id, which pytest 9.2 no longer
lets a plugin change: grouping then stops without a word (pytest-dev/pytest-xdist#1386) and each
worker starts its own server and deployment. pyproject.toml keeps pytest below 9.2 for that, and
`one_worker_for_postgres` fails the tests loudly if a second worker ever needs a server again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from production.postgres_server import PostgresServer, PostgresUnavailable, postgres_server

POSTGRES_GROUP = pytest.mark.xdist_group("postgres")


@pytest.fixture(scope="session")
def postgres(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session. Missing binaries FAIL the tests (never a silent skip):
    CI installs the server (.ci/run), and a developer is told what to install."""
    one_worker_for_postgres(request.config, tmp_path_factory.getbasetemp().parent)
    try:
        server = postgres_server(durable=False)
        db = server.__enter__()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield db
    finally:
        server.__exit__(None, None, None)


def one_worker_for_postgres(config: pytest.Config, shared: Path) -> None:
    """Under `--dist loadgroup`, claim the session's PostgreSQL for this xdist worker, or fail if
    another worker claimed it: the group was not kept together. `shared` is the folder all workers
    of one run have in common (the parent of their basetemps); the claim is one atomic link."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None or not getattr(config.option, "loadgroup", False):
        return
    claim = shared / "postgres-worker"
    mine = shared / f"postgres-worker.{worker}"
    mine.write_text(worker, encoding="utf-8")
    try:
        os.link(mine, claim)
    except FileExistsError:
        owner = claim.read_text(encoding="utf-8")
        if owner != worker:
            pytest.fail(
                f"xdist workers {owner} and {worker} both start a PostgreSQL server: --dist loadgroup "
                "did not keep the xdist_group('postgres') tests on one worker (pytest 9.2 with "
                "pytest-xdist 3.8 drops the groups, pytest-dev/pytest-xdist#1386; pyproject.toml pins "
                "pytest<9.2 for that)",
                pytrace=False,
            )
