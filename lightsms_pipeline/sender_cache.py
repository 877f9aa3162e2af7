"""Senders' E.164 numbers kept on disk between runs (`LIGHTSMS_CACHE_DIR`), so a day whose senders
an earlier run already saw skips phonenumbers.

Why: on a day of new senders, parsing them is most of normalization's time (benchmarks/RESULTS.md),
while the senders of a real account mostly come back: a backfill's next run, tomorrow's schedule,
a re-run of a day all meet senders parsed before. The in-process cache of `phones` forgets them
when the run's process ends.

What is kept: one SQLite file, a row per (default region, sender as received) with its E.164 or
null (no phone number). A verdict depends on phonenumbers' metadata and on our rules of reading
(sms-rules §6), so the file holds the version of both (`E164_RULES_VERSION`); a file written under
another version is emptied before use. Nothing here may change a result: every failure to open,
read or write the file (a read-only or full disk, a locked or corrupt file) is logged and the
senders are parsed as if there were no cache.

SQLite because several threads and processes of one run, and runs side by side, read and add to
the same cache: its locking (WAL, a busy timeout) does what a Parquet file would need by hand.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import phonenumbers

from lightsms_pipeline.contract import SENDER_CACHE_FILE

log = logging.getLogger(__name__)

# Bump when `phones` reads a sender differently: the verdicts stored under the old rules go.
E164_RULES_VERSION = 1
_BUSY_TIMEOUT_SECONDS = 30.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS senders (region TEXT NOT NULL, sender TEXT NOT NULL, e164 TEXT,"
    " PRIMARY KEY (region, sender)) WITHOUT ROWID",
)


def current_version() -> str:
    """What a stored verdict depends on: phonenumbers' metadata and our reading rules."""
    return f"phonenumbers {phonenumbers.__version__}; rules {E164_RULES_VERSION}"


class SenderCache:
    """The E.164 of each sender seen before, in `directory`/sender_e164.sqlite.

    A connection per call: calls come from the threads of a backfill, and opening one costs far
    less than parsing the senders it saves.
    """

    def __init__(self, directory: str, *, version: str | None = None) -> None:
        self.directory = directory
        self.path = os.path.join(directory, SENDER_CACHE_FILE)
        self.version = version or current_version()

    def __repr__(self) -> str:
        return f"SenderCache({self.path!r}, version={self.version!r})"

    def lookup(self, region: str, senders: list[str]) -> dict[str, str | None]:
        """The senders of `senders` already in the cache for `region`, with their verdicts; an
        empty answer when the file is missing, of another version or unreadable."""
        if not senders or not os.path.exists(self.path):
            return {}
        try:
            with self._connection(create=False) as db:
                if db is None:
                    return {}
                rows = db.execute(
                    "SELECT sender, e164 FROM senders WHERE region = ?"
                    " AND sender IN (SELECT value FROM json_each(?))",
                    (region, json.dumps(senders)),
                ).fetchall()
        except (sqlite3.Error, OSError) as exc:
            log.warning("sender cache %s not read (%s); parsing the senders instead", self.path, exc)
            return {}
        return dict(rows)

    def store(self, region: str, verdicts: Mapping[str, str | None]) -> None:
        """Add `verdicts` (sender -> E.164 or None) for `region`; a sender already stored keeps
        its row (the same version gives the same verdict)."""
        if not verdicts:
            return
        try:
            with self._connection(create=True) as db:
                assert db is not None
                db.executemany(
                    "INSERT OR IGNORE INTO senders (region, sender, e164) VALUES (?, ?, ?)",
                    _rows(region, verdicts.items()),
                )
        except (sqlite3.Error, OSError) as exc:
            log.warning("sender cache %s not written (%s); results are unaffected", self.path, exc)

    @contextmanager
    def _connection(self, *, create: bool) -> Iterator[sqlite3.Connection | None]:
        """A connection on a file of this version (emptied first if it held another); None when
        reading a file of another version (`create=False`), which a writer then empties."""
        if create:
            os.makedirs(self.directory, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a commit lost to a power cut is a cache miss
            db.execute("BEGIN IMMEDIATE" if create else "BEGIN")
            for statement in _SCHEMA if create else ():
                db.execute(statement)
            stored = _stored_version(db)
            if stored != self.version:
                if not create:
                    db.execute("ROLLBACK")
                    yield None
                    return
                db.execute("DELETE FROM senders")
                db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('version', ?)", (self.version,))
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()


def _stored_version(db: sqlite3.Connection) -> str | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()
    except sqlite3.OperationalError:  # no table yet: a file another process is just creating
        return None
    return None if row is None else str(row[0])


def _rows(region: str, items: Iterable[tuple[str, str | None]]) -> Iterator[tuple[str, str, str | None]]:
    for sender, e164 in items:
        yield region, sender, e164
