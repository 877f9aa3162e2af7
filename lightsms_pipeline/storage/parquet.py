"""The Parquet dataset on disk or any fsspec URL: paths, atomic writes, column-pruned reads.

Layout (a public contract): `<root>/<asset>/date=YYYY-MM-DD/part-0.parquet` for daily assets,
`<root>/<name>.parquet` for whole-history ones. A write goes to a hidden temporary name in the
same folder and is renamed over the old file, so readers and a killed run only ever see a whole
old file or a whole new one; an fsync of the folder then makes the rename itself survive a power
cut. Readers skip the temporary name: pyarrow and pandas ignore `.`/`_` prefixes, and its `.tmp`
ending keeps it out of DuckDB's `*.parquet` glob (DuckDB's `*` does match a leading dot).
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING

import fsspec
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from lightsms_pipeline.errors import MissingExtraError, StorageError

if TYPE_CHECKING:
    import pyarrow.dataset as ds

PART_FILE = "part-0.parquet"


class Dataset:
    """One data directory (`LIGHTSMS_DATA_DIR`)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = str(root).rstrip("/")
        try:
            self.fs, self._path = fsspec.core.url_to_fs(self.root)
        except ImportError as exc:  # fsspec imports a URL's filesystem (s3fs for s3://) on first use
            if self.root.split("://", 1)[0] in ("s3", "s3a"):
                raise MissingExtraError("s3", f"LIGHTSMS_DATA_DIR={self.root}") from exc
            raise StorageError(f"cannot open LIGHTSMS_DATA_DIR={self.root}: {exc}") from exc
        self.is_local = isinstance(self.fs, LocalFileSystem)

    def __repr__(self) -> str:
        return f"Dataset({self.root!r})"

    # --- paths ---------------------------------------------------------------------------------

    def asset_dir(self, asset: str) -> str:
        return f"{self._path}/{asset}"

    def partition_path(self, asset: str, day: date | str) -> str:
        key = day if isinstance(day, str) else day.isoformat()
        return f"{self._path}/{asset}/date={key}/{PART_FILE}"

    def file_path(self, name: str) -> str:
        return f"{self._path}/{name}"

    def uri(self, path: str) -> str:
        """A URI a person can open (file:///… locally, s3://… remotely)."""
        return self.fs.unstrip_protocol(path)

    # --- writes ----------------------------------------------------------------------------------

    def write_file(self, name: str, table: pa.Table) -> str:
        """Replace file `name` at the dataset's root, as every write does: atomically and
        durably (a run killed mid-write leaves the previous file whole). Returns its path."""
        path = self.file_path(name)
        self.write_parquet(path, table)
        return path

    def write_partition(
        self, asset: str, day: date | str, table: pa.Table, *, unique_columns: Sequence[str] = ()
    ) -> str:
        path = self.partition_path(asset, day)
        self.write_parquet(path, table, unique_columns=unique_columns)
        return path

    def write_parquet(self, path: str, table: pa.Table, *, unique_columns: Sequence[str] = ()) -> None:
        """`unique_columns` hold a different value in (nearly) every row: written without a
        dictionary, for a smaller file, not for speed. A day of `incoming_messages` is 8% smaller
        at 500 messages, 32% at 50,000 and 7% at a million (zstd either way); with or without it,
        the million-message day's time is the same (same-run A/B, within 1% of CPU)."""
        buffer = io.BytesIO()
        dictionary = [c for c in table.column_names if c not in unique_columns]
        pq.write_table(table, buffer, compression="zstd", use_dictionary=dictionary)
        self.write_bytes(path, buffer.getvalue())

    def write_bytes(self, path: str, data: bytes) -> None:
        """Replace `path` with `data` atomically: a whole old file or a whole new one, never half."""
        parent = path.rsplit("/", 1)[0]
        if not self.is_local:
            # Object stores publish an object only once its upload completes: already atomic.
            # No makedirs: an object store has no folders, and s3fs's makedirs would silently
            # create a missing bucket instead of reporting it.
            self._put_object(path, data)
            return
        _make_folders_durably(parent)
        tmp = f"{parent}/.{path.rsplit('/', 1)[1]}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            _fsync_directory(parent)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _put_object(self, path: str, data: bytes) -> None:
        try:
            self.fs.pipe_file(path, data)
        except FileNotFoundError as exc:
            raise StorageError(
                f"cannot write {self.uri(path)}: the bucket does not exist; create it or fix "
                f"LIGHTSMS_DATA_DIR ({self.root})"
            ) from exc
        except PermissionError as exc:
            raise StorageError(
                f"cannot write {self.uri(path)}: access denied; check the credentials "
                f"(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the instance role) and the bucket's "
                f"policy for LIGHTSMS_DATA_DIR ({self.root})"
            ) from exc

    # --- reads -----------------------------------------------------------------------------------

    def read_partition(self, asset: str, day: date | str, columns: Sequence[str] | None = None) -> pa.Table:
        return self._read_parquet(self.partition_path(asset, day), columns)

    def _read_parquet(self, path: str, columns: Sequence[str] | None = None) -> pa.Table:
        """Read one file on the calling thread only. `pq.read_table` on a Python file object
        pre-buffers on Arrow's I/O threads, which call back into Python and can still be busy
        when it returns; if the interpreter is exiting by then, such a thread dies in
        `std::terminate` and the whole process aborts (SIGABRT after `make demo` printed its
        summary, 2 of 10 runs on a loaded machine)."""
        with self.fs.open(path, "rb") as fh, pq.ParquetFile(fh, pre_buffer=False) as parquet:
            return parquet.read(columns=list(columns) if columns else None, use_threads=False)

    def has_partition(self, asset: str, day: date | str) -> bool:
        return bool(self.fs.exists(self.partition_path(asset, day)))

    def partition_keys(self, asset: str) -> list[str]:
        """The `date=` keys that hold a file, sorted."""
        folder = self.asset_dir(asset)
        if not self.fs.exists(folder):
            return []
        keys = []
        for entry in self.fs.ls(folder, detail=False):
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith("date=") and self.fs.exists(f"{entry}/{PART_FILE}"):
                keys.append(name.removeprefix("date="))
        return sorted(keys)

    def read_asset(
        self,
        asset: str,
        schema: pa.Schema,
        columns: Iterable[str] | None = None,
        filter: ds.Expression | None = None,
    ) -> pa.Table:
        """All partitions of a daily asset as one table, reading only `columns` (and rows matching
        `filter`, pushed down to the Parquet row groups). No partitions gives an empty table."""
        wanted = list(columns) if columns is not None else schema.names
        keys = self.partition_keys(asset)
        if not keys:
            return schema.empty_table().select([c for c in wanted if c in schema.names])
        files = [self.partition_path(asset, k) for k in keys]
        # Imported here, not above: pyarrow.dataset pulls in pandas (0.5-1 s), which a process
        # that only writes days (the CLI's ingest, a benchmark's) never needs.
        import pyarrow.dataset as ds

        dataset = ds.dataset(
            files,
            schema=schema,
            format="parquet",
            # Arrow's own local file system: its I/O threads never need Python (see _read_parquet).
            filesystem=pafs.LocalFileSystem() if self.is_local else self.fs,
            partitioning=None,
        )
        return dataset.to_table(columns=[c for c in wanted if c in schema.names], filter=filter)

    def read_file(self, name: str) -> pa.Table:
        return self._read_parquet(self.file_path(name))

    def read_record(self, name: str, schema: pa.Schema) -> pa.Table:
        """A whole-history record file (the stop list's, the replies'), as `schema`; an empty
        table of it before the first run wrote one."""
        if not self.fs.exists(self.file_path(name)):
            return schema.empty_table()
        return self.read_file(name).cast(schema)


def _fsync_directory(path: str) -> None:
    """Flush folder `path` itself to disk. A rename changes the folder, not the file: until the
    folder is flushed, a power cut can bring back the old file (or none) after the write
    returned and Dagster recorded the new one."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_folders_durably(path: str) -> None:
    """Create folder `path` and its missing parents, then flush the parent of each one created:
    a new folder's name lives in its parent, so without that flush a day's first write could
    vanish whole after a power cut although its file and rename were flushed."""
    missing: list[str] = []
    folder = path
    while folder and not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    os.makedirs(path, exist_ok=True)
    for created in reversed(missing):
        _fsync_directory(os.path.dirname(created) or ".")
