"""The Parquet dataset: layout, atomic replace, column-pruned reads, local and fsspec URLs."""

from __future__ import annotations

import os
import uuid
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from lightsms_pipeline.storage.parquet import Dataset

SCHEMA = pa.schema([("id_sms", pa.string()), ("text", pa.string())])


def rows(*ids: str) -> pa.Table:
    return pa.table({"id_sms": list(ids), "text": [f"text {i} ą🙂" for i in ids]}, schema=SCHEMA)


def test_partition_layout_is_the_public_contract(tmp_path: Path):
    store = Dataset(tmp_path)
    path = store.write_partition("incoming_messages", date(2025, 1, 15), rows("1"))
    assert path == f"{tmp_path}/incoming_messages/date=2025-01-15/part-0.parquet"
    assert store.uri(path) == f"file://{tmp_path}/incoming_messages/date=2025-01-15/part-0.parquet"


def test_rewrite_replaces_and_leaves_no_temporary_file(tmp_path: Path):
    store = Dataset(tmp_path)
    store.write_partition("a", "2025-01-15", rows("1", "2"))
    store.write_partition("a", "2025-01-15", rows("3"))
    assert store.read_partition("a", "2025-01-15").to_pylist() == rows("3").to_pylist()
    assert os.listdir(tmp_path / "a" / "date=2025-01-15") == ["part-0.parquet"]


def test_a_write_that_fails_midway_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = Dataset(tmp_path)
    store.write_partition("a", "2025-01-15", rows("1"))
    before = (tmp_path / "a" / "date=2025-01-15" / "part-0.parquet").read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.write_partition("a", "2025-01-15", rows("2"))
    assert (tmp_path / "a" / "date=2025-01-15" / "part-0.parquet").read_bytes() == before
    assert os.listdir(tmp_path / "a" / "date=2025-01-15") == ["part-0.parquet"]


def test_read_asset_reads_only_asked_columns_and_rows(tmp_path: Path):
    store = Dataset(tmp_path)
    store.write_partition("a", "2025-01-15", rows("1", "2"))
    store.write_partition("a", "2025-01-16", rows("3"))
    got = store.read_asset("a", SCHEMA, ["id_sms"], ds.field("id_sms") != "2")
    assert got.column_names == ["id_sms"] and sorted(got["id_sms"].to_pylist()) == ["1", "3"]
    assert store.partition_keys("a") == ["2025-01-15", "2025-01-16"]


def test_read_asset_of_nothing_is_an_empty_table_with_the_schema(tmp_path: Path):
    got = Dataset(tmp_path).read_asset("missing", SCHEMA, ["text"])
    assert got.num_rows == 0 and got.schema == pa.schema([("text", pa.string())])


def test_readers_skip_hidden_temporary_files(tmp_path: Path):
    store = Dataset(tmp_path)
    store.write_partition("a", "2025-01-15", rows("1"))
    (tmp_path / "a" / "date=2025-01-15" / ".part-0.parquet.deadbeef.tmp").write_bytes(b"half a file")
    assert len(pd.read_parquet(tmp_path / "a")) == 1


def test_fsspec_urls_work_like_local_paths():
    store = Dataset(f"memory://lightsms-{uuid.uuid4().hex}/data")
    assert not store.is_local
    store.write_partition("a", "2025-01-15", rows("1", "2"))
    store.write_bytes(store.file_path("reports/x.png"), b"png")
    assert store.has_partition("a", "2025-01-15")
    assert store.read_asset("a", SCHEMA)["id_sms"].to_pylist() == ["1", "2"]
    assert store.uri(store.partition_path("a", "2025-01-15")).startswith("memory://")
