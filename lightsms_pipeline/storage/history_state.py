"""Per-day extracts of `classified_messages`, kept between materializations of a whole-history asset.

`opt_out_list` and `poll_results` look at a few percent of each day (opt-out/opt-in events; votes
and the replies inside a poll's scope), yet a full rescan decodes every column they need of every
message: 100 million of them for a long history. What one day contributes is a pure function of
that day's file and of the rules, so it is kept under a name made of both:

    <DATA_DIR>/_history/<asset>/<rules fingerprint>/date=YYYY-MM-DD/<sha256 of the day's file>.parquet

A materialization hashes every day's `classified_messages` file, reuses the extract stored under
that hash, extracts only the days that have none (new days, re-run days whose bytes changed, every
day after a rules change), forgets the extracts of days that are gone, and hands the union to the
same rules function a full rescan feeds. Nothing here is a running total that could drift: the
extracts are the filtered rows themselves, so the result is the full recomputation's, byte for
byte (tests/history/ prove it over random sequences of new, re-run and deleted days).

There is no separate state file to keep consistent with the output: each extract is written
atomically under its content's name, so a crash leaves whole extracts that are either found (and
right) or not (and rebuilt). A damaged extract (its Parquet page checksums, footer or schema do not
verify) is rebuilt from its day. Deleting `_history/` is always safe: the next run rebuilds it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lightsms_pipeline.contract import CLASSIFIED, HISTORY_STATE_DIR
from lightsms_pipeline.storage.parquet import Dataset

if TYPE_CHECKING:
    import pyarrow.dataset as ds

# Bump when what an extract holds changes for the same rules: older extracts are then ignored.
EXTRACT_FORMAT = 1
_HASH_CHUNK = 8 * 1024 * 1024

Extract = Callable[[pa.Table], pa.Table]


@dataclass(frozen=True)
class HistoryRead:
    """The union of every day's extract, and how it was obtained (for the asset's metadata)."""

    table: pa.Table
    days: int  # days of `classified_messages` folded
    days_read: int  # days read from `classified_messages` (no usable extract)
    days_reused: int  # days whose stored extract was reused

    def metadata(self) -> dict[str, int]:
        """For the asset's materialization: a run that read every day when one changed shows here."""
        return {
            "history_days": self.days,
            "history_days_read": self.days_read,
            "history_days_reused": self.days_reused,
        }


@dataclass(frozen=True)
class DayExtracts:
    """How one asset reads `classified_messages` day by day.

    `columns` and `filter` are pushed down to the day's Parquet read, exactly as a full rescan
    (`Dataset.read_asset`) pushes them; `narrow` then keeps the rows the rules function can use
    (row-wise, so the union of narrowed days is the narrowed union); `schema` is the extract's.
    """

    asset: str
    source_schema: pa.Schema
    columns: Sequence[str]
    filter: ds.Expression | None
    narrow: Extract | None = None

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([self.source_schema.field(name) for name in self.columns])

    def from_day(self, dataset: Dataset, key: str) -> pa.Table:
        """The extract of one day, read as `Dataset.read_asset` reads it."""
        table = _scan(dataset, [dataset.partition_path(CLASSIFIED, key)], self.source_schema).to_table(
            columns=list(self.columns), filter=self.filter
        )
        return self.narrow(table) if self.narrow is not None else table


def _scan(dataset: Dataset, files: list[str], schema: pa.Schema) -> ds.Dataset:
    # Imported here, as in storage.py: pyarrow.dataset pulls in pandas (about 0.4 s), which every
    # Dagster run and code-location load would otherwise pay at import for nothing.
    import pyarrow.dataset as ds

    return ds.dataset(
        files,
        schema=schema,
        format="parquet",
        filesystem=pafs.LocalFileSystem() if dataset.is_local else dataset.fs,
        partitioning=None,
    )


def full_scan(dataset: Dataset, extracts: DayExtracts) -> pa.Table:
    """Every day's extract, read afresh (no state): the reference the kept state must equal, and
    one day's rows in memory at a time rather than the whole filtered history at once."""
    tables = [extracts.from_day(dataset, key) for key in dataset.partition_keys(CLASSIFIED)]
    return pa.concat_tables(tables) if tables else extracts.schema.empty_table()


def file_digest(dataset: Dataset, path: str) -> str:
    """SHA-256 of a file's bytes: a day's identity. A re-run that writes the same messages the
    same way keeps it; any changed byte gives a new one (stat fields would not do: a rewrite can
    keep the size, and timestamps are as coarse as the kernel's clock tick)."""
    digest = hashlib.sha256()
    with dataset.fs.open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HistoryState:
    """The stored extracts of one asset under one set of rules."""

    def __init__(self, dataset: Dataset, extracts: DayExtracts, rules_fingerprint: str) -> None:
        self.dataset = dataset
        self.extracts = extracts
        self.asset_root = dataset.file_path(f"{HISTORY_STATE_DIR}/{extracts.asset}")
        self.root = f"{self.asset_root}/v{EXTRACT_FORMAT}-{rules_fingerprint}"

    def extract_path(self, key: str, digest: str) -> str:
        return f"{self.root}/date={key}/{digest}.parquet"

    def read(self) -> HistoryRead:
        """The union of the extracts of every day now stored, reading only days without one."""
        keys = self.dataset.partition_keys(CLASSIFIED)
        # Hashing and decoding release the GIL: days in parallel use every core, with one day's
        # rows per worker in memory.
        with ThreadPoolExecutor(max_workers=pa.cpu_count()) as pool:
            days = list(pool.map(self._day, keys))
        self._forget_all_but({path for path, _, _ in days})
        tables = [table for _, table, _ in days]
        union = pa.concat_tables(tables) if tables else self.extracts.schema.empty_table()
        read = sum(was_read for _, _, was_read in days)
        return HistoryRead(union, len(keys), read, len(keys) - read)

    def _day(self, key: str) -> tuple[str, pa.Table, bool]:
        """(extract path, extract, whether the day itself had to be read) for one day."""
        path = self.extract_path(key, self._digest(key))
        table = self._stored(path)
        if table is not None:
            return path, table, False
        table = self.extracts.from_day(self.dataset, key)
        self._store(path, table)
        return path, table, True

    def _digest(self, key: str) -> str:
        return file_digest(self.dataset, self.dataset.partition_path(CLASSIFIED, key))

    def _stored(self, path: str) -> pa.Table | None:
        """The extract at `path` if it exists and verifies, else None (it is then rebuilt)."""
        if not self.dataset.fs.exists(path):
            return None
        try:
            with self.dataset.fs.open(path, "rb") as fh:
                table = pq.read_table(
                    io.BytesIO(fh.read()), page_checksum_verification=True, use_threads=False
                )
        except (pa.ArrowException, OSError):
            return None
        if not table.schema.equals(self.extracts.schema):
            return None
        return table

    def _store(self, path: str, table: pa.Table) -> None:
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd", write_page_checksum=True)
        self.dataset.write_bytes(path, buffer.getvalue())

    def _forget_all_but(self, keep: set[str]) -> None:
        """Delete extracts of days gone or rewritten, and of other rules: they can never match
        again (a day's old bytes coming back would find the extract rebuilt, not stale)."""
        fs = self.dataset.fs
        if not fs.exists(self.asset_root):
            return
        for path in fs.find(self.asset_root):
            if path not in keep and not _is_temporary(path):
                fs.rm_file(path)


def _is_temporary(path: str) -> bool:
    """A hidden temporary of `Dataset.write_bytes` (another run's write in flight)."""
    return path.rsplit("/", 1)[-1].startswith(".")
