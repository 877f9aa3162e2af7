"""Raw LightSMS columns to the typed `incoming_messages` Arrow table: pure, vectorised, exact.

Text is never touched: the `text` column is the very string the API sent. Only derived columns
(`received_at`, `sender_e164`) are computed.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.contract import API_DATETIME_FORMAT
from lightsms_pipeline.errors import MalformedResponseError
from lightsms_pipeline.phones import senders_to_e164
from lightsms_pipeline.responses import RawMessages
from lightsms_pipeline.schema import incoming_schema
from lightsms_pipeline.sender_cache import SenderCache

DATE_FORMAT = API_DATETIME_FORMAT
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
# The same shape with every field but the day of the month checked for its range: what passes
# it can only be wrong by a day the month does not have, which `_days_read_back` catches.
_CALENDAR_PATTERN = r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]) (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d$"
# Python's datetime, and so every reader of the files, spans years 1 to 9999; a day of margin
# keeps the UTC instant of a local time inside that span too.
EARLIEST_LOCAL = datetime(1, 1, 2)
LATEST_LOCAL = datetime(9999, 12, 30, 23, 59, 59)


def parse_local_times(dates: pa.StringArray, timezone: str, *, endpoint: str, window: str) -> pa.Array:
    """Provider-local `YYYY-MM-DD HH:MM:SS` strings to tz-aware timestamps.

    The API's `date` has no offset (shared/sms-rules.md section 7): the repeated autumn hour is
    read as its first occurrence, a time in the spring gap moves forward to the gap's end.
    """
    try:
        if len(dates) and not pc.all(pc.match_substring_regex(dates, _CALENDAR_PATTERN)).as_py():
            raise ValueError("not in YYYY-MM-DD HH:MM:SS form, or a field out of its range")
        naive = pc.strptime(dates, format=DATE_FORMAT, unit="s")
        if len(dates) and not _days_read_back(dates, naive):
            raise ValueError("not a calendar day")
        low, high = (pa.scalar(t, naive.type) for t in (EARLIEST_LOCAL, LATEST_LOCAL))
        if (
            len(dates)
            and not pc.all(pc.and_(pc.greater_equal(naive, low), pc.less_equal(naive, high))).as_py()
        ):
            raise ValueError("outside the years datetime can hold")
    except (ValueError, pa.ArrowInvalid):
        bad = next(_bad_dates(dates), None)
        raise MalformedResponseError(
            f"message date {bad!r} is not a valid YYYY-MM-DD HH:MM:SS time",
            endpoint=endpoint,
            window=window,
        ) from None
    return pc.assume_timezone(
        naive.cast(pa.timestamp("us")), timezone=timezone, ambiguous="earliest", nonexistent="latest"
    )


def _days_read_back(dates: pa.StringArray, naive: pa.Array) -> bool:
    """Whether every parsed time has the day of the month its text names.

    Arrow rolls impossible days over (02-30 becomes 03-02): only a time whose day reads back as
    the text received is a real one. The other fields cannot roll over: `_CALENDAR_PATTERN`
    already holds months to 01-12, hours to 00-23 and minutes and seconds to 00-59, and a day
    that rolls over always lands on another day number. One field compared instead of six, or
    of printing every time back with `strftime`.
    """
    written = pc.cast(pc.utf8_slice_codeunits(dates, 8, 10), pa.int64())
    return bool(pc.all(pc.equal(written, pc.day(naive))).as_py())


def _bad_dates(dates: pa.StringArray):  # type: ignore[no-untyped-def]
    for value in dates.to_pylist():
        try:
            parsed = datetime.strptime(value, DATE_FORMAT)
        except ValueError:
            yield value
            continue
        if len(value) != 19 or not EARLIEST_LOCAL <= parsed <= LATEST_LOCAL:
            yield value


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
    sender_cache: SenderCache | None = None,
) -> pa.Table:
    """Type, sort and de-duplicate one response's messages into the `incoming_messages` schema.

    The same `id_sms` twice (overlapping windows, an XML body repeating a record) is kept once
    when both copies are identical; two different messages under one id are refused, since
    picking one would silently lose the other. `sender_cache` keeps senders' E.164 numbers
    between runs (`Settings.sender_cache_dir`); it never changes a result.
    """
    schema = incoming_schema(timezone)
    n = len(raw)
    received_at = parse_local_times(raw.date, timezone, endpoint=endpoint, window=window)
    table = pa.Table.from_arrays(
        [
            raw.id_sms,
            received_at,
            raw.sender,
            senders_to_e164(raw.sender, region, sender_cache) if n else pa.array([], pa.string()),
            raw.phone,
            raw.prefix,
            raw.text,
            # One value for every row: built by Arrow, not from n Python objects.
            pa.repeat(pa.scalar(account, pa.string()), n),
            pa.repeat(pa.scalar(fetched_at, pa.timestamp("us", tz="UTC")), n),
        ],
        schema=schema,
    )
    order = sort_key_indices(table)
    if not _is_identity(order):  # the API lists messages by id, which mostly is time order
        table = table.take(order)
    if _ids_ascending(raw.id_sms):  # every id greater than the one before: none can repeat
        return table
    return _drop_duplicate_ids(table, endpoint=endpoint, window=window)


def _is_identity(order: pa.Array) -> bool:
    """Whether a permutation of 0..n-1 leaves every row where it is (i.e. only ever rises)."""
    return len(order) < 2 or bool(pc.all(pc.less(order[:-1], order[1:])).as_py())


def _ids_ascending(ids: pa.StringArray) -> bool:
    """Whether each id is a greater number than the one before it, compared as (length,
    digits) like `sort_key_indices` (ids are decimal digits, checked by `responses`)."""
    if len(ids) < 2:
        return True
    lengths = pc.utf8_length(ids)
    before_len, after_len = lengths[:-1], lengths[1:]
    longer = pc.less(before_len, after_len)
    same_and_greater = pc.and_(pc.equal(before_len, after_len), pc.less(ids[:-1], ids[1:]))
    return bool(pc.all(pc.or_(longer, same_and_greater)).as_py())


def _drop_duplicate_ids(table: pa.Table, *, endpoint: str, window: str) -> pa.Table:
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
