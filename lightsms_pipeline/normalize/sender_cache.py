"""Senders' E.164 numbers kept on disk between runs (`LIGHTSMS_CACHE_DIR`), so a day whose senders
an earlier run already saw skips phonenumbers.

Why: on a day of new senders, parsing them is most of normalization's time (benchmarks/RESULTS.md),
while the senders of a real account mostly come back: a backfill's next run, tomorrow's schedule,
a re-run of a day all meet senders parsed before. The in-process cache of `phones` forgets them
when the run's process ends.

What is kept: one SQLite file of batches, each the verdicts (sender as received -> E.164, or null
for no phone number) one call parsed for one default region, as msgspec-encoded JSON. A batch is
one row: storing a day's 20,000 new senders is one insert (a row per sender cost more than
parsing them saved on a cold day). A process reads the batches it has not read yet into its
`phones` cache, once; past `COMPACT_AFTER` batches a writer merges a region's into one.

A verdict depends on phonenumbers' metadata and on our rules of reading (sms-rules §6), so the file
holds the version of both (`current_version`); a reader ignores a file of another version and the
first writer empties it. Nothing here may change a result: every failure to open, read or write the
file (a read-only or full disk, a locked or corrupt file) is logged and the senders are parsed as
if there were no cache.

SQLite because several threads and processes of one run, and runs side by side, read and add to
the same cache: its locking (WAL, a busy timeout) does what a folder of files would need by hand.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager

import msgspec
import phonenumbers

from lightsms_pipeline.contract import SENDER_CACHE_FILE

log = logging.getLogger(__name__)

# Bump when `phones` reads a sender differently: the verdicts stored under the old rules go.
E164_RULES_VERSION = 1
COMPACT_AFTER = 64  # batches of one region before a writer merges them into one
_BUSY_TIMEOUT_SECONDS = 30.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY AUTOINCREMENT, region TEXT NOT NULL,"
    " verdicts BLOB NOT NULL)",
)
_VERDICTS = msgspec.json.Decoder(dict[str, str | None])
# What this process has read of each cache file: (path, version, region) -> the last batch id
# read, and the ids it wrote itself (already in its `phones` cache). Reset by `forget_read`.
_read_up_to: dict[tuple[str, str, str], int] = {}
_written: dict[tuple[str, str, str], set[int]] = {}
_lock = threading.Lock()


def current_version() -> str:
    """What a stored verdict depends on: phonenumbers' metadata and our reading rules."""
    return f"phonenumbers {phonenumbers.__version__}; rules {E164_RULES_VERSION}"


def forget_read() -> None:
    """Read every batch again on next use (`phones.clear_cache`: a new run, as it were)."""
    with _lock:
        _read_up_to.clear()
        _written.clear()


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

    def read_into(self, known: MutableMapping[str, str | None], region: str) -> None:
        """Add to `known` every verdict for `region` stored since this process last read (by any
        process, this one's own batches excepted); nothing when the file is missing, of another
        version or unreadable."""
        key = (self.path, self.version, region)
        if not os.path.exists(self.path):
            return
        with _lock:
            after = _read_up_to.get(key, 0)
            own = set(_written.get(key, ()))
        try:
            with self._connection(create=False) as db:
                if db is None:
                    return
                rows = db.execute(
                    "SELECT id, verdicts FROM batches WHERE region = ? AND id > ? ORDER BY id",
                    (region, after),
                ).fetchall()
            for batch_id, blob in rows:
                if batch_id not in own:
                    known.update(_VERDICTS.decode(blob))
        except (sqlite3.Error, OSError, msgspec.DecodeError) as exc:
            log.warning("sender cache %s not read (%s); parsing the senders instead", self.path, exc)
            return
        if rows:
            with _lock:
                _read_up_to[key] = max(_read_up_to.get(key, 0), rows[-1][0])

    def store(self, region: str, verdicts: Mapping[str, str | None]) -> None:
        """Add `verdicts` (sender -> E.164 or None) for `region` as one batch."""
        if not verdicts:
            return
        key = (self.path, self.version, region)
        try:
            with self._connection(create=True) as db:
                assert db is not None
                cursor = db.execute(
                    "INSERT INTO batches (region, verdicts) VALUES (?, ?)",
                    (region, msgspec.json.encode(dict(verdicts))),
                )
                batch_id = cursor.lastrowid
                (count,) = db.execute("SELECT count(*) FROM batches WHERE region = ?", (region,)).fetchone()
                if count > COMPACT_AFTER:
                    _compact(db, region)
        except (sqlite3.Error, OSError, msgspec.DecodeError) as exc:
            log.warning("sender cache %s not written (%s); results are unaffected", self.path, exc)
            return
        if batch_id is not None:
            with _lock:
                _written.setdefault(key, set()).add(batch_id)

    @contextmanager
    def _connection(self, *, create: bool) -> Iterator[sqlite3.Connection | None]:
        """A connection in a transaction on a file of this version (emptied first if it held
        another); None when reading a file of another version (`create=False`)."""
        if create:
            os.makedirs(self.directory, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a commit lost to a power cut is a cache miss
            db.execute("BEGIN IMMEDIATE" if create else "BEGIN")
            for statement in _SCHEMA if create else ():
                db.execute(statement)
            if _stored_version(db) != self.version:
                if not create:
                    db.execute("ROLLBACK")
                    yield None
                    return
                db.execute("DELETE FROM batches")
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


def _compact(db: sqlite3.Connection, region: str) -> None:
    """One batch instead of many: a reader then decodes one blob, not `COMPACT_AFTER` of them."""
    merged: dict[str, str | None] = {}
    for (blob,) in db.execute("SELECT verdicts FROM batches WHERE region = ? ORDER BY id", (region,)):
        merged.update(_VERDICTS.decode(blob))
    db.execute("DELETE FROM batches WHERE region = ?", (region,))
    db.execute("INSERT INTO batches (region, verdicts) VALUES (?, ?)", (region, msgspec.json.encode(merged)))
