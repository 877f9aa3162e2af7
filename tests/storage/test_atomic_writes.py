"""A local write is atomic and durable: the new file is written under a hidden temporary name that
readers of the dataset folder skip, renamed over the old one, and the rename made durable by an
fsync of the folder that holds it. Real writes on the local file system; `os.replace` and
`os.fsync` are only watched (each call goes through to the real one)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from lightsms_pipeline.storage.parquet import Dataset

DAY = "2025-01-15"


def rows(*ids: str) -> pa.Table:
    return pa.table({"id_sms": list(ids), "text": [f"text {i}" for i in ids]})


def test_the_new_file_waits_under_a_hidden_name_that_pyarrow_pandas_and_duckdb_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store = Dataset(tmp_path)
    store.write_partition("a", DAY, rows("1"))
    folder = tmp_path / "a" / f"date={DAY}"
    real_replace = os.replace
    seen: dict[str, object] = {}

    def look_then_replace(src: str, dst: str) -> None:
        # The moment before the rename: the new file is whole, beside the old one, under its
        # temporary name. A reader of the folder now must still find the old day only (1 row).
        seen["src"], seen["dst"], seen["names"] = Path(src), Path(dst), sorted(os.listdir(folder))
        seen["pyarrow"] = ds.dataset(tmp_path / "a", format="parquet", partitioning="hive").count_rows()
        seen["pandas"] = len(pd.read_parquet(tmp_path / "a"))
        # The glob the README gives DuckDB users.
        glob = f"{tmp_path}/a/*/*.parquet"
        seen["duckdb"] = duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)"
        ).fetchall()[0][0]
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", look_then_replace)
    store.write_partition("a", DAY, rows("2", "3"))

    assert (seen["pyarrow"], seen["pandas"], seen["duckdb"]) == (1, 1, 1)
    temporary = seen["src"]
    assert isinstance(temporary, Path)
    assert temporary.parent == folder and temporary.name.startswith(".")
    assert seen["dst"] == folder / "part-0.parquet"
    assert seen["names"] == sorted(["part-0.parquet", temporary.name])
    assert store.read_partition("a", DAY).to_pylist() == rows("2", "3").to_pylist()
    assert os.listdir(folder) == ["part-0.parquet"]


def test_the_rename_is_followed_by_an_fsync_of_the_partition_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store = Dataset(tmp_path)
    store.write_partition("a", DAY, rows("1"))
    folder = tmp_path / "a" / f"date={DAY}"
    real_replace, real_fsync = os.replace, os.fsync
    calls: list[tuple[str, str]] = []

    def replace(src: str, dst: str) -> None:
        real_replace(src, dst)
        calls.append(("replace", os.path.basename(dst)))

    def fsync(fd: int) -> None:
        # Which file the descriptor is open on: the partition folder itself, or a file.
        opened = os.fstat(fd)
        if stat.S_ISDIR(opened.st_mode):
            what = "partition folder" if os.path.samestat(opened, os.stat(folder)) else "another folder"
        else:
            what = "file"
        real_fsync(fd)
        calls.append(("fsync", what))

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    store.write_partition("a", DAY, rows("2"))

    # The data reaches the disk before its name does; the folder's fsync makes the new name
    # (the rename) survive a power cut, without which the old file may come back.
    assert calls == [("fsync", "file"), ("replace", "part-0.parquet"), ("fsync", "partition folder")]
    assert store.read_partition("a", DAY).to_pylist() == rows("2").to_pylist()


def test_a_first_write_flushes_the_parent_of_every_folder_it_creates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store = Dataset(tmp_path)
    real_fsync = os.fsync
    flushed: list[str] = []

    def fsync(fd: int) -> None:
        opened = os.fstat(fd)
        if stat.S_ISDIR(opened.st_mode):
            flushed.extend(
                name
                for name, folder in (("root", tmp_path), ("asset", tmp_path / "a"))
                if os.path.samestat(opened, os.stat(folder))
            )
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    store.write_partition("a", DAY, rows("1"))
    # `a/` is new: its name is in the root; `date=…/` is new: its name is in `a/`.
    assert flushed == ["root", "asset"]

    flushed.clear()
    store.write_partition("a", "2025-01-16", rows("2"))
    assert flushed == ["asset"]  # only the new day's folder was created
