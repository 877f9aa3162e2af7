"""`lightsms-pipeline check` for the Dagster instance: open the one in $DAGSTER_HOME, say what to fix.

A wrong `DAGSTER_PG_URL` otherwise surfaces as Dagster's traceback, after dagster-postgres has
retried the connection for about ten seconds. Here the URL is read the way the instance's
`dagster.yaml` reads it, checked for syntax and driver, tried once with a short timeout, and only
then is the instance opened by Dagster. Every failure becomes one line naming the variable and
what to change in it. The password never appears: messages are built from the URL's other parts,
and any text from a driver or from Dagster passes through `redact` first.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import yaml
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from lightsms_pipeline.cli.docs import doc_hint
from lightsms_pipeline.errors import MissingExtraError

PG_URL_VARIABLE = "DAGSTER_PG_URL"
URL_FORM = "postgresql+psycopg2://USER:PASSWORD@HOST:5432/DATABASE"
CONNECT_TIMEOUT_SECONDS = 5
# `scheme://user:password@` in any text, for URLs too broken for SQLAlchemy to parse.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s]*)@")


@dataclass
class InstanceCheck:
    """The outcome: the lines to print (`ok   …`, `note …`, `FAIL …`) and whether it failed."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False

    def ok(self, text: str) -> None:
        self.lines.append(f"ok   {text}")

    def note(self, text: str) -> None:
        self.lines.append(f"note {text}")

    def fail(self, text: str) -> InstanceCheck:
        self.lines.append(f"FAIL {text}")
        self.failed = True
        return self


@dataclass(frozen=True)
class PostgresSetting:
    """Where the instance's PostgreSQL URL comes from: a variable (`{env: NAME}`), or the file."""

    source: str  # "DAGSTER_PG_URL" or "postgres_url in /home/dagster.yaml"
    url: str | None


def check_instance(environ: Mapping[str, str]) -> InstanceCheck:
    """Open the Dagster instance of `environ["DAGSTER_HOME"]` and report, one line per problem.

    Dagster resolves `{env: …}` in dagster.yaml from the process environment: pass `os.environ`
    (the CLI does), so that what is checked is what Dagster reads.
    """
    result = InstanceCheck()
    home_value = environ.get("DAGSTER_HOME", "")
    if not home_value:
        result.note(
            "DAGSTER_HOME is not set: `dagster dev` then keeps runs, schedules and backfills in a "
            "temporary folder deleted when it stops; set DAGSTER_HOME to a folder to keep them "
            f"(docs/deploying.md; {doc_hint('deploying.md')})"
        )
        return result
    home = Path(home_value)
    config_file = home / "dagster.yaml"
    if not home.is_dir():
        return result.fail(f"DAGSTER_HOME={home} is not a folder: create it or fix DAGSTER_HOME")
    try:
        config = yaml.safe_load(config_file.read_text(encoding="utf-8")) if config_file.exists() else {}
    except yaml.YAMLError as exc:
        return result.fail(f"{config_file} is not valid YAML ({_first_line(str(exc))}): fix the file")
    setting = postgres_setting(config or {}, config_file, environ)
    if setting is None:
        return _open_instance(result, home, f"SQLite in {home}", secrets=())
    if not setting.url:
        return result.fail(
            f"{setting.source} is not set: {config_file} reads the instance database's URL from it; "
            f"export {setting.source}={URL_FORM}"
        )
    secrets = password_forms(setting.url)
    url = parse_postgres_url(setting, result)
    if url is None:
        return result
    where = describe(url)
    problem = connection_problem(url)
    if problem is not None:
        return result.fail(redact(f"{setting.source}: cannot connect to {where}: {problem}", secrets))
    return _open_instance(result, home, f"PostgreSQL at {where}", secrets)


def postgres_setting(
    config: Mapping[str, Any], config_file: Path, environ: Mapping[str, str]
) -> PostgresSetting | None:
    """The first `postgres_url` of the instance's storage sections, resolved; None without one
    (SQLite, or `postgres_db:` given field by field, which Dagster itself then reports)."""
    for value in _values_of(config, "postgres_url"):
        if isinstance(value, Mapping) and "env" in value:
            name = str(value["env"])
            return PostgresSetting(name, environ.get(name) or None)
        if isinstance(value, str):
            return PostgresSetting(f"postgres_url in {config_file}", value)
    return None


def parse_postgres_url(setting: PostgresSetting, result: InstanceCheck) -> URL | None:
    """The URL, if it is one SQLAlchemy reads with a PostgreSQL driver that is installed."""
    assert setting.url is not None
    try:
        url = make_url(setting.url)
    except (ArgumentError, ValueError):
        result.fail(
            f"{setting.source} is not a database URL (a misplaced character, a port that is not a "
            f"number?): write it as {URL_FORM}, with special characters of the password %-encoded"
        )
        return None
    if url.get_backend_name() != "postgresql":
        result.fail(
            f"{setting.source} names a {url.get_backend_name()!r} database: the production instance "
            f"stores its runs in PostgreSQL; write it as {URL_FORM}"
        )
        return None
    driver = url.get_driver_name()
    if driver != "psycopg2":
        missing = importlib.util.find_spec(driver) is None
        why = f"No module named {driver!r}" if missing else f"the driver {driver!r} is not the one installed"
        result.fail(
            f"{setting.source} starts with {url.drivername}:// ({why}: SQLAlchemy reads "
            f"postgresql:// as psycopg 3, dagster-postgres installs psycopg2); write it as "
            f"postgresql+psycopg2://…"
        )
        return None
    return url


def connection_problem(url: URL) -> str | None:
    """Connect once, with a short timeout; what went wrong, in words that say what to change."""
    try:
        import psycopg2  # dagster-postgres's driver: the `postgres` extra
    except ImportError:
        return str(MissingExtraError("postgres", "an instance in PostgreSQL"))

    try:
        conn = psycopg2.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            dbname=url.database,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            **{k: v for k, v in url.query.items() if isinstance(v, str)},
        )
    except psycopg2.Error as exc:
        return explain_connection_error(str(exc), url)
    conn.close()
    return None


def explain_connection_error(message: str, url: URL) -> str:
    """A driver's connection error as one line naming the part of the URL to fix."""
    host = f"{url.host or 'the local socket'}" + (f":{url.port}" if url.port else "")
    text = " ".join(message.split())
    if "password authentication failed" in text or "no password supplied" in text:
        return f"the server refused the password of user {url.username!r}: fix the password in the URL"
    if re.search(r'database "[^"]*" does not exist', text):
        return (
            f"the database {url.database!r} does not exist on {host}: create it "
            f"(CREATE DATABASE {url.database}, the database must be UTC) or fix its name in the URL"
        )
    if re.search(r'role "[^"]*" does not exist', text):
        return f"the user {url.username!r} does not exist on {host}: create it or fix the user in the URL"
    if "Connection refused" in text:
        return (
            f"nothing accepts connections on {host}: start PostgreSQL there or fix the host and "
            "port in the URL"
        )
    if "could not translate host name" in text:
        return f"the host {url.host!r} is unknown: fix the host in the URL"
    if "timeout expired" in text:
        return (
            f"{host} did not answer within {CONNECT_TIMEOUT_SECONDS} s: check the network and "
            "firewall, or fix the host and port in the URL"
        )
    if "pg_hba.conf" in text:
        return f"the server on {host} does not accept this client (pg_hba.conf): allow it there"
    return _first_line(message)


def describe(url: URL) -> str:
    """`user@host:port/db`: the URL without its password, for messages."""
    host = url.host or "local socket"
    port = f":{url.port}" if url.port else ""
    return f"{url.username or '?'}@{host}{port}/{url.database or ''}"


def password_forms(raw_url: str) -> tuple[str, ...]:
    """The password as it may appear in text: raw, %-decoded by SQLAlchemy, %-encoded."""
    found = set()
    match = _URL_PASSWORD.search(raw_url)
    if match and match.group("password"):
        found.add(match.group("password"))
    try:
        password = make_url(raw_url).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        found |= {str(password), quote(str(password), safe=""), quote_plus(str(password))}
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with each secret, and any `scheme://user:password@` password, replaced by `***`."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}***@", text)


def _open_instance(
    result: InstanceCheck, home: Path, storage: str, secrets: tuple[str, ...]
) -> InstanceCheck:
    """Let Dagster open the instance (it creates or migrates its tables) and read from it."""
    import warnings

    from dagster import DagsterInstance

    warnings.filterwarnings("ignore", module="dagster")
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            runs = len(instance.get_run_records(limit=100))
    except Exception as exc:  # whatever Dagster raises: one line, never its traceback
        detail = redact(_first_line(f"{type(exc).__name__}: {exc}"), secrets)
        return result.fail(f"Dagster cannot open the instance in DAGSTER_HOME={home}: {detail}")
    shown = "100+" if runs == 100 else str(runs)
    result.ok(f"Dagster instance in DAGSTER_HOME={home}: {storage}, {shown} runs recorded")
    return result


def _values_of(config: Any, key: str) -> Iterator[Any]:
    """Every value of `key` in nested mappings and lists (storage, run_storage, …)."""
    if isinstance(config, Mapping):
        for k, v in config.items():
            if k == key:
                yield v
            else:
                yield from _values_of(v, key)
    elif isinstance(config, list):
        for item in config:
            yield from _values_of(item, key)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
