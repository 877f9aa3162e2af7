"""Raw LightSMS columns to the typed `incoming_messages` Arrow table: pure, vectorised, exact.

Text is never touched: the `text` column is the very string the API sent. Only derived columns
(`received_at`, `sender_e164`) are computed.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.api.responses import RawMessages
from lightsms_pipeline.errors import MalformedResponseError
from lightsms_pipeline.normalize.phones import senders_to_e164
from lightsms_pipeline.normalize.schema import incoming_schema

# Python's datetime, and so every reader of the files, spans years 1 to 9999; a day of margin
# keeps the UTC instant of a local time inside that span too.
EARLIEST_LOCAL = datetime(1, 1, 2)
LATEST_LOCAL = datetime(9999, 12, 30, 23, 59, 59)
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_local_times(dates: pa.StringArray, timezone: str, *, endpoint: str, window: str) -> pa.Array:
    """Provider-local `YYYY-MM-DD HH:MM:SS` strings to tz-aware timestamps.

    The API's `date` has no offset (docs/rules.md §7): the repeated autumn hour is
    read as its first occurrence, a time in the spring gap moves forward to the gap's end.
    """
    naive, valid = _read_dates(dates)
    if len(dates) and not pc.all(valid).as_py():
        first_bad = dates[pc.index(valid, False).as_py()].as_py()
        raise MalformedResponseError(
            f"message date {first_bad!r} is not a valid YYYY-MM-DD HH:MM:SS time",
            endpoint=endpoint,
            window=window,
        )
    return pc.assume_timezone(naive, timezone=timezone, ambiguous="earliest", nonexistent="latest")


def _read_dates(dates: pa.StringArray) -> tuple[pa.TimestampArray, pa.BooleanArray]:
    """Each of `dates` read as a naive microsecond time, and whether it names a real time from
    `EARLIEST_LOCAL` to `LATEST_LOCAL` in exactly the `YYYY-MM-DD HH:MM:SS` shape (never null).

    Arrow's `strptime` is lenient (02-30 becomes 03-01, 23:59:60 the next day, a one-digit hour
    or a leading space pass): only a time that prints back as the very text received is the time
    it names, and in that shape. Printed by Arrow's cast to string, which writes a whole-second
    time in 0000-9999 as exactly `YYYY-MM-DD HH:MM:SS` (years zero-padded), in a twentieth of
    `pc.strftime`'s time. tests/normalize/test_normalize_dates.py holds this to `datetime.strptime`.
    """
    naive = pc.strptime(dates, format=DATE_FORMAT, unit="s", error_is_null=True)
    low, high = (pa.scalar(t, naive.type) for t in (EARLIEST_LOCAL, LATEST_LOCAL))
    valid = pc.and_kleene(
        pc.equal(naive.cast(pa.string()), dates),
        pc.and_kleene(pc.greater_equal(naive, low), pc.less_equal(naive, high)),
    )
    return naive.cast(pa.timestamp("us")), pc.fill_null(valid, False)  # type: ignore[return-value]


def sort_key_indices(table: pa.Table) -> pa.Array:
    """Row order by (`received_at`, `id_sms` as an integer); ids compare as (length, digits)
    after leading zeros, so "010" comes after "9"; equal integers ("7", "007") by the raw id's
    (length, digits)."""
    ids = table["id_sms"]
    keyed = table.append_column("_id_len", pc.utf8_length(ids))
    sort_keys = [("received_at", "ascending"), ("_id_len", "ascending"), ("id_sms", "ascending")]
    if pc.any(pc.starts_with(ids, "0")).as_py():  # rare: only then the extra keys are paid for
        significant = pc.ascii_ltrim(ids, characters="0")
        keyed = keyed.append_column("_int_len", pc.utf8_length(significant))
        keyed = keyed.append_column("_int", significant)
        sort_keys[1:1] = [("_int_len", "ascending"), ("_int", "ascending")]
    return pc.sort_indices(keyed, sort_keys=sort_keys)


def to_incoming_table(
    raw: RawMessages,
    *,
    account: str,
    timezone: str,
    region: str,
    fetched_at: datetime,
    endpoint: str = "incoming.php",
    window: str = "",
) -> pa.Table:
    """Type, sort and de-duplicate one response's messages into the `incoming_messages` schema.

    The same `id_sms` twice (overlapping windows, an XML body repeating a record) is kept once
    when both copies are identical; two different messages under one id are refused, since
    picking one would silently lose the other.
    """
    schema = incoming_schema(timezone)
    n = len(raw)
    received_at = parse_local_times(raw.date, timezone, endpoint=endpoint, window=window)
    table = pa.Table.from_arrays(
        [
            raw.id_sms,
            received_at,
            raw.sender,
            senders_to_e164(raw.sender, region) if n else pa.array([], pa.string()),
            raw.phone,
            raw.prefix,
            raw.text,
            # One value for every row: built by Arrow, not from n Python objects.
            pa.repeat(pa.scalar(account, pa.string()), n),
            pa.repeat(pa.scalar(fetched_at, pa.timestamp("us", tz="UTC")), n),
        ],
        schema=schema,
    )
    table = table.take(sort_key_indices(table))
    return _drop_duplicate_ids(table, endpoint=endpoint, window=window)


def _drop_duplicate_ids(table: pa.Table, *, endpoint: str, window: str) -> pa.Table:
    """`table` (sorted) with each repeated id kept once; refused if two copies differ."""
    if pc.count_distinct(table["id_sms"]).as_py() == table.num_rows:
        return table
    content = ["id_sms", "received_at", "sender", "phone", "prefix", "text"]
    distinct = table.select(content).group_by(content, use_threads=False).aggregate([])
    if pc.count_distinct(distinct["id_sms"]).as_py() != distinct.num_rows:
        counts = distinct.group_by("id_sms").aggregate([("id_sms", "count")])
        clash = counts.filter(pc.greater(counts["id_sms_count"], 1))["id_sms"][0].as_py()
        raise MalformedResponseError(
            f"message id {clash!r} comes twice with different content", endpoint=endpoint, window=window
        )
    # Identical copies: keep the first occurrence of each id (rows are already in final order).
    indexed = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    first = indexed.group_by("id_sms", use_threads=False).aggregate([("_row", "min")])
    keep = pc.sort_indices(first["_row_min"])
    return table.take(pc.take(first["_row_min"], keep))
