"""The sender cache that outlives a run (`LIGHTSMS_CACHE_DIR`): it saves phonenumbers' work on
senders an earlier run saw, and never changes a result.

The days come from the simulator over HTTP; every comparison is against the same day normalized
without any cache (the process's own cache emptied before each reading).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import JAN_15
from pipeline import Pipeline

from lightsms_pipeline.api.client import LightSMSClient
from lightsms_pipeline.api.responses import RawMessages
from lightsms_pipeline.contract import INCOMING, SENDER_CACHE_FILE, SENDER_CACHE_FOLDER
from lightsms_pipeline.normalize.incoming import to_incoming_table
from lightsms_pipeline.normalize.phones import clear_cache
from lightsms_pipeline.normalize.sender_cache import COMPACT_AFTER, SenderCache, current_version
from lightsms_pipeline.settings import Settings

FETCHED_AT = datetime(2025, 1, 16, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _forget_what_this_process_read() -> Iterator[None]:
    """Tests here plant wrong verdicts in cache files: what this process read from them must not
    reach the next test in the same worker (it did: a later test saw `+10000000000`)."""
    yield
    clear_cache()


def normalized(raw: RawMessages, cache: SenderCache | None) -> pa.Table:
    clear_cache()  # each reading starts cold in this process, as a new run does
    return to_incoming_table(
        raw, account="acc", timezone="Europe/Vilnius", region="LT", fetched_at=FETCHED_AT, sender_cache=cache
    )


def stored(cache: SenderCache) -> dict[str, str | None]:
    """Every verdict the file holds for LT, read without the module under test."""
    verdicts: dict[str, str | None] = {}
    with sqlite3.connect(cache.path) as db:
        for (blob,) in db.execute("SELECT verdicts FROM batches WHERE region = 'LT' ORDER BY id"):
            verdicts.update(json.loads(blob))
    return verdicts


def poison(cache: SenderCache, sender: str, e164: str) -> None:
    """Give `sender` a verdict only the cache can know."""
    with sqlite3.connect(cache.path) as db:
        for batch_id, blob in db.execute("SELECT id, verdicts FROM batches").fetchall():
            verdicts = json.loads(blob)
            if sender in verdicts:
                verdicts[sender] = e164
                db.execute("UPDATE batches SET verdicts = ? WHERE id = ?", (json.dumps(verdicts), batch_id))


@pytest.fixture
def cold_day(client: LightSMSClient) -> RawMessages:
    raw = client.fetch_day(JAN_15)
    assert len(raw) > 20
    return raw


def test_cached_and_uncached_results_are_the_same_on_a_cold_day(
    cold_day: RawMessages, tmp_path: Path
) -> None:
    cache = SenderCache(str(tmp_path / "cache"))
    uncached = normalized(cold_day, None)
    filling = normalized(cold_day, cache)  # a cold cache: every sender parsed, then stored
    from_cache = normalized(cold_day, cache)  # the next run: every sender read back
    assert filling.equals(uncached) and from_cache.equals(uncached)
    assert uncached["sender_e164"].null_count < len(cold_day)  # the day has real numbers in it
    digits = {s for s in cold_day.sender.to_pylist() if s.lstrip("+").isdigit()}
    assert set(stored(cache)) == digits  # every sender of digits is kept, nothing else


def test_a_stored_verdict_is_used_instead_of_parsing_the_sender_again(
    cold_day: RawMessages, tmp_path: Path
) -> None:
    cache = SenderCache(str(tmp_path / "cache"))
    normalized(cold_day, cache)
    sender = next(s for s in cold_day.sender.to_pylist() if s.isdigit())
    poison(cache, sender, "+10000000000")
    table = normalized(cold_day, cache)
    assert set(table.filter(pa.compute.equal(table["sender"], sender))["sender_e164"].to_pylist()) == {
        "+10000000000"
    }


def test_another_phonenumbers_version_empties_the_cache(cold_day: RawMessages, tmp_path: Path) -> None:
    directory = str(tmp_path / "cache")
    old = SenderCache(directory, version="phonenumbers 0.0.1; rules 1")
    old.store("LT", {s: "+10000000000" for s in cold_day.sender.to_pylist()})  # all wrong, if read
    current = SenderCache(directory)
    assert current.version == current_version() != old.version
    known: dict[str, str | None] = {}
    current.read_into(known, "LT")
    assert known == {}  # a reader ignores them
    assert normalized(cold_day, current).equals(normalized(cold_day, None))
    assert "+10000000000" not in stored(current).values()  # the first writer emptied them
    with sqlite3.connect(current.path) as db:
        assert db.execute("SELECT value FROM meta").fetchall() == [(current_version(),)]


@pytest.mark.parametrize("damage", ["not a database", "a folder in its place", "cache dir is a file"])
def test_a_damaged_cache_is_logged_and_changes_nothing(
    damage: str, cold_day: RawMessages, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "cache"
    if damage == "cache dir is a file":
        directory.write_text("x")
    else:
        directory.mkdir()
        if damage == "not a database":
            (directory / SENDER_CACHE_FILE).write_bytes(b"this is not SQLite " * 100)
        else:
            (directory / SENDER_CACHE_FILE).mkdir()
    with caplog.at_level(logging.WARNING, logger="lightsms_pipeline.normalize.sender_cache"):
        table = normalized(cold_day, SenderCache(str(directory)))
    assert table.equals(normalized(cold_day, None))
    assert "sender cache" in caplog.text and "results are unaffected" in caplog.text


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (Settings(data_dir="/srv/lightsms"), f"/srv/lightsms/{SENDER_CACHE_FOLDER}"),
        (Settings(data_dir="file:///srv/lightsms/"), f"/srv/lightsms/{SENDER_CACHE_FOLDER}"),
        (Settings(data_dir="/srv/lightsms", cache_dir="/var/cache/lightsms"), "/var/cache/lightsms"),
        (Settings(data_dir="/srv/lightsms", cache_dir="off"), None),
        (Settings(data_dir="s3://bucket/lightsms"), None),
        (Settings(data_dir="s3://bucket/lightsms", cache_dir="/var/cache/lightsms"), "/var/cache/lightsms"),
        (Settings(data_dir="/srv/lightsms", sender_hash_salt="pepper"), None),  # type: ignore[arg-type]
        (Settings(cache_dir="/var/cache/lightsms", sender_hash_salt="pepper"), None),  # type: ignore[arg-type]
    ],
)
def test_where_the_cache_lives_and_that_a_salt_turns_it_off(settings: Settings, expected: str | None) -> None:
    assert settings.sender_cache_dir() == expected


def test_the_cache_dir_is_a_setting_read_from_its_variable() -> None:
    assert Settings.from_env({"LIGHTSMS_CACHE_DIR": "off"}).sender_cache_dir() is None
    assert Settings.from_env({"LIGHTSMS_CACHE_DIR": "/tmp/x"}).sender_cache_dir() == "/tmp/x"


def test_a_day_with_no_phone_numbers_writes_no_cache_file(tmp_path: Path) -> None:
    raw = RawMessages(
        *(pa.array([v], pa.string()) for v in ("1", "2025-01-15 10:00:00", "PAYSERA", None, "", "x"))
    )
    cache = SenderCache(str(tmp_path / "cache"))
    assert normalized(raw, cache)["sender_e164"].to_pylist() == [None]
    assert not (tmp_path / "cache").exists()


def test_a_materialization_keeps_its_senders_for_the_next_run(pipeline: Pipeline, data_dir: Path) -> None:
    assert pipeline.materialize(JAN_15).success
    cache = SenderCache(str(data_dir / SENDER_CACHE_FOLDER))
    day = pq.read_table(data_dir / INCOMING / f"date={JAN_15}" / "part-0.parquet")
    assert stored(cache) == {
        s: e
        for s, e in zip(day["sender"].to_pylist(), day["sender_e164"].to_pylist(), strict=True)
        if s.isdigit()
    }
    sender = next(s for s in day["sender"].to_pylist() if s.isdigit())
    poison(cache, sender, "+10000000000")
    clear_cache()  # the next run's process knows nothing but the file
    assert pipeline.materialize(JAN_15).success
    again = pq.read_table(data_dir / INCOMING / f"date={JAN_15}" / "part-0.parquet")
    assert set(again.filter(pa.compute.equal(again["sender"], sender))["sender_e164"].to_pylist()) == {
        "+10000000000"
    }


def test_a_salted_pipeline_keeps_no_sender_cache(pipeline: Pipeline, data_dir: Path) -> None:
    assert pipeline.with_settings(sender_hash_salt="pepper").materialize(JAN_15).success
    assert (data_dir / INCOMING).exists() and not (data_dir / SENDER_CACHE_FOLDER).exists()


def test_many_batches_are_merged_into_one_keeping_every_verdict(tmp_path: Path) -> None:
    cache = SenderCache(str(tmp_path / "cache"))
    for n in range(COMPACT_AFTER + 3):
        cache.store("LT", {f"3706000{n:04d}": f"+3706000{n:04d}", f"86000{n:04d}": None})
    cache.store("LV", {"37121234567": "+37121234567"})
    with sqlite3.connect(cache.path) as db:
        batches = db.execute(
            "SELECT region, count(*) FROM batches GROUP BY region ORDER BY region"
        ).fetchall()
    assert batches[0][1] < COMPACT_AFTER and batches[1] == ("LV", 1)
    assert stored(cache) == {
        **{f"3706000{n:04d}": f"+3706000{n:04d}" for n in range(COMPACT_AFTER + 3)},
        **{f"86000{n:04d}": None for n in range(COMPACT_AFTER + 3)},
    }
    clear_cache()
    known: dict[str, str | None] = {}
    cache.read_into(known, "LT")
    assert known == stored(cache)


def test_a_process_reads_only_what_others_stored_since_it_last_read(tmp_path: Path) -> None:
    clear_cache()
    cache = SenderCache(str(tmp_path / "cache"))
    cache.store("LT", {"37061234567": "+37061234567"})  # its own: already in its phones cache
    known: dict[str, str | None] = {}
    cache.read_into(known, "LT")
    assert known == {}
    with sqlite3.connect(cache.path) as db:  # another process's batch
        db.execute(
            "INSERT INTO batches (region, verdicts) VALUES ('LT', ?)", (json.dumps({"861234568": None}),)
        )
    cache.read_into(known, "LT")
    assert known == {"861234568": None}
    known.clear()
    cache.read_into(known, "LT")  # nothing new since
    assert known == {}
