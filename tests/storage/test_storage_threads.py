"""Reads never leave Arrow's native threads calling into Python.

`pq.read_table` on a Python file object pre-buffers on Arrow's I/O threads; those threads call the
file's methods (so they need the GIL) and may still be doing so after the read returned. When the
interpreter is exiting at that moment the thread hits `std::terminate` and the process aborts,
which is how `make demo` died with SIGABRT after printing its summary.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow as pa

from lightsms_pipeline.storage.parquet import Dataset


class _RecordingFile:
    """A file object that notes which thread calls each of its methods."""

    def __init__(self, inner: Any, callers: list[tuple[str, int]]) -> None:
        self._inner = inner
        self._callers = callers

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._callers.append((name, threading.get_ident()))
            return attr(*args, **kwargs)

        return call

    def __enter__(self) -> _RecordingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.close()


class _RecordingFileSystem:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.callers: list[tuple[str, int]] = []

    def open(self, path: str, mode: str = "rb") -> _RecordingFile:
        return _RecordingFile(self._inner.open(path, mode), self.callers)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_partition_and_file_reads_call_the_file_only_from_the_calling_thread(tmp_path: Path):
    store = Dataset(tmp_path)
    table = pa.table({"id_sms": [str(n) for n in range(5000)], "n": list(range(5000))})
    for day in ("2025-01-13", "2025-01-14"):
        store.write_partition("incoming_messages", day, table)
    store.write_parquet(store.file_path("opt_out_list.parquet"), table)
    recorder = _RecordingFileSystem(store.fs)
    store.fs = recorder

    for day in ("2025-01-13", "2025-01-14"):
        assert store.read_partition("incoming_messages", day, ["id_sms"]).num_rows == 5000
        assert store.read_partition("incoming_messages", day).equals(table)
    assert store.read_file("opt_out_list.parquet").equals(table)

    here = threading.get_ident()
    reads = [name for name, _ in recorder.callers if name in ("read", "readinto", "seek", "tell")]
    elsewhere = sorted({name for name, ident in recorder.callers if ident != here})
    print(f"{len(recorder.callers)} file calls, {len(reads)} reads/seeks, from other threads: {elsewhere}")
    assert reads, "the reads did not go through the file object"
    assert elsewhere == []
