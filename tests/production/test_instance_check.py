"""`lightsms-pipeline check` on the Dagster instance of $DAGSTER_HOME (deploy/dagster.yaml): each
wrong DAGSTER_PG_URL is one line naming the variable and what to fix, tried against the session's
real PostgreSQL server, and the password is in no output."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from lightsms_pipeline.cli.instance_check import (
    PG_URL_VARIABLE,
    check_instance,
    explain_connection_error,
    password_forms,
    redact,
)
from production.deployment import BIN, DEPLOY, REPO
from production.postgres_server import PostgresServer, free_port

WRONG = "Wr0ng-pa55word-for-the-check"


@pytest.fixture
def production_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DAGSTER_HOME holding deploy/dagster.yaml, which reads DAGSTER_PG_URL."""
    home = tmp_path / "production_home"
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv(PG_URL_VARIABLE, raising=False)
    return home


def at_port(pg: PostgresServer, port: int) -> str:
    return f"postgresql+psycopg2://{pg.user}:{WRONG}@127.0.0.1:{port}/{pg.database}"


# problem -> (the URL made from the session's server, or None for unset; what the line must say)
BAD_URLS: dict[str, tuple[Callable[[PostgresServer], str] | None, str]] = {
    "wrong password": (
        lambda pg: pg.url.replace(pg.password, WRONG),
        "the server refused the password of user 'dagster': fix the password",
    ),
    "missing database": (
        lambda pg: pg.url.rsplit("/", 1)[0] + "/no_such_db",
        "the database 'no_such_db' does not exist on 127.0.0.1:",
    ),
    "closed port": (lambda pg: at_port(pg, free_port()), "nothing accepts connections on 127.0.0.1:"),
    "scheme without the driver": (
        lambda pg: pg.url.replace("postgresql+psycopg2://", "postgresql://"),
        "starts with postgresql:// (No module named 'psycopg'",
    ),
    "not a URL": (
        lambda pg: f"{pg.user}:{pg.password}@127.0.0.1:{pg.port}/{pg.database}",
        "is not a database URL",
    ),
    "unset": (None, "DAGSTER_PG_URL is not set"),
}


@pytest.mark.parametrize("problem", list(BAD_URLS))
def test_a_wrong_dagster_pg_url_is_one_line_naming_the_variable_and_the_fix_never_the_password(
    problem: str, postgres: PostgresServer, production_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_url, expected = BAD_URLS[problem]
    if build_url is not None:
        monkeypatch.setenv(PG_URL_VARIABLE, build_url(postgres))

    result = check_instance(os.environ)

    assert result.failed
    (line,) = result.lines
    assert line.startswith(f"FAIL {PG_URL_VARIABLE}") and expected in line, line
    assert postgres.password not in line and WRONG not in line, line


def test_check_opens_the_production_instance_and_reports_a_wrong_password_without_a_traceback(
    postgres: PostgresServer, production_home: Path, pipeline_env: dict[str, str]
) -> None:
    db = postgres.with_database(f"check_{uuid.uuid4().hex[:8]}")
    env = {**pipeline_env, "DAGSTER_HOME": str(production_home)}
    command = [str(BIN / "lightsms-pipeline"), "check", "--days", "1"]

    wrong = db.url.replace(db.password, WRONG)
    # Side by side: each is a fresh Python that imports Dagster.
    good, bad = (
        subprocess.Popen(
            command,
            cwd=REPO,
            env={**env, PG_URL_VARIABLE: url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url in (db.url, wrong)
    )
    good_out, good_err = good.communicate(timeout=120)
    bad_out, bad_err = bad.communicate(timeout=120)

    assert good.returncode == 0, good_out + good_err
    assert f"PostgreSQL at dagster@127.0.0.1:{db.port}/{db.database}, 0 runs recorded" in good_out
    assert bad.returncode == 1
    assert "FAIL DAGSTER_PG_URL: cannot connect to dagster@127.0.0.1" in bad_out, bad_out
    assert "credentials work." in bad_out  # the LightSMS part still ran and passed
    for output in (good_out + good_err, bad_out + bad_err):
        assert "Traceback" not in output
        assert db.password not in output and WRONG not in output


def test_without_dagster_home_check_says_the_history_would_be_temporary() -> None:
    result = check_instance({})
    assert not result.failed
    assert result.lines[0].startswith("note DAGSTER_HOME is not set")


def test_redact_hides_the_password_raw_encoded_and_inside_any_url() -> None:
    raw = "postgresql+psycopg2://dagster:p%40ss%2Fw@db:5432/x"
    secrets = password_forms(raw)
    assert "p@ss/w" in secrets and "p%40ss%2Fw" in secrets
    text = f"failed for {raw}; password p@ss/w; also mysql://u:other@h/d"
    shown = redact(text, secrets)
    assert "p@ss" not in shown and "p%40ss" not in shown and "other" not in shown
    assert "dagster:***@db:5432/x" in shown and "mysql://u:***@h/d" in shown


@pytest.mark.parametrize(
    ("driver_message", "expected"),
    [
        (
            'connection to server at "10.0.0.9", port 5432 failed: timeout expired\n',
            "10.0.0.9:5432 did not answer within 5 s",
        ),
        (
            'connection to server at "10.0.0.9", port 5432 failed: FATAL:  no pg_hba.conf entry for '
            'host "10.0.0.1", user "dagster", database "dagster", no encryption\n',
            "does not accept this client (pg_hba.conf)",
        ),
        (
            'could not translate host name "postgresql" to address: Name or service not known\n',
            "the host 'postgresql' is unknown",
        ),
    ],
    ids=["timeout", "pg_hba", "unknown host"],
)
def test_connection_errors_a_test_server_cannot_produce_still_name_what_to_fix(
    driver_message: str, expected: str
) -> None:
    url = make_url("postgresql+psycopg2://dagster:secret@10.0.0.9:5432/dagster")
    if "postgresql" in driver_message:
        url = url.set(host="postgresql")
    assert expected in explain_connection_error(driver_message, url)
