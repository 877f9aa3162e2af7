"""Raw LightSMS columns to the typed `incoming_messages` Arrow table: pure, vectorised, exact.

Text is never touched: the `text` column is the very string the API sent. Only derived columns
(`received_at`, `sender_e164`) are computed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
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
_DATE_WIDTH = len("YYYY-MM-DD HH:MM:SS")
# Dates read at once: numpy's temporaries (a dozen arrays of this many int64) stay a few MB, not
# hundreds on a million-message day.
_DATE_CHUNK = 1 << 16
_SEPARATORS_AT = [4, 7, 10, 13, 16]
_SEPARATORS = np.frombuffer(b"-- ::", dtype=np.uint8)[:, np.newaxis]
_DIGITS_AT = [i for i in range(_DATE_WIDTH) if i not in _SEPARATORS_AT]
# Where each field's digits start, and how many: year, month, day, hour, minute, second.
_FIELDS = [(0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2)]
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_EPOCH = datetime(1970, 1, 1)
_LOW, _HIGH = ((t - _EPOCH) // timedelta(seconds=1) for t in (EARLIEST_LOCAL, LATEST_LOCAL))


def parse_local_times(dates: pa.StringArray, timezone: str, *, endpoint: str, window: str) -> pa.Array:
    """Provider-local `YYYY-MM-DD HH:MM:SS` strings to tz-aware timestamps.

    The API's `date` has no offset (docs/rules.md §7): the repeated autumn hour is
    read as its first occurrence, a time in the spring gap moves forward to the gap's end.
    """
    naive = _naive_times(dates)
    if naive is None:
        raise MalformedResponseError(
            f"message date {_first_bad_date(dates)!r} is not a valid YYYY-MM-DD HH:MM:SS time",
            endpoint=endpoint,
            window=window,
        )
    return pc.assume_timezone(naive, timezone=timezone, ambiguous="earliest", nonexistent="latest")


def _naive_times(dates: pa.StringArray) -> pa.TimestampArray | None:
    """The local times `dates` name, as naive microsecond timestamps; None if any is no real
    `YYYY-MM-DD HH:MM:SS` time from `EARLIEST_LOCAL` to `LATEST_LOCAL`."""
    if not len(dates):
        return pa.array([], pa.timestamp("us"))  # type: ignore[return-value]
    if dates.null_count or not pc.all(pc.equal(pc.binary_length(dates), _DATE_WIDTH)).as_py():
        return None
    micros = np.empty(len(dates), dtype=np.int64)
    for start in range(0, len(dates), _DATE_CHUNK):
        valid, seconds = _read_fixed_width(dates.slice(start, _DATE_CHUNK))  # type: ignore[arg-type]
        if not valid.all():
            return None
        np.multiply(seconds, 1_000_000, out=micros[start : start + len(seconds)])
    return pa.array(micros, pa.timestamp("us"))  # type: ignore[return-value]


def _read_fixed_width(dates: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """Which of `dates` (none null, each 19 bytes) name a real time in range, and the seconds
    since 1970-01-01 each names (meaningless where not valid).

    Read as a byte matrix with numpy: about a fifth of the time of Arrow's regex check,
    `strptime` and day read-back together, which were a warm day's largest cost after the JSON
    reader (benchmarks/normalize_throughput.py). ASCII digits at the digit places and `-- ::`
    between them, each field in its range, the day in its month (leap years by the Gregorian
    rule, as datetime counts them). tests/test_normalize_dates.py holds it to
    `datetime.strptime` on generated strings.
    """
    n = len(dates)
    # Each value 19 bytes: the values buffer holds them back to back from the first offset.
    first = int(np.frombuffer(dates.buffers()[1], dtype=np.int32, count=1, offset=4 * dates.offset)[0])
    chars = np.frombuffer(dates.buffers()[2], dtype=np.uint8, count=_DATE_WIDTH * n, offset=first)
    # One row per character place, each contiguous: numpy's fastest shape for the sums below.
    places = np.ascontiguousarray(chars.reshape(n, _DATE_WIDTH).T)
    digits = places - np.uint8(ord("0"))  # a byte below "0" wraps past 9
    year, month, day, hour, minute, second = (_number(digits, at, width) for at, width in _FIELDS)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS_IN_MONTH[np.minimum(month, 12)] + ((month == 2) & leap)
    seconds = _days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
    valid = (
        (digits[_DIGITS_AT] <= 9).all(axis=0)
        & (places[_SEPARATORS_AT] == _SEPARATORS).all(axis=0)
        & (month >= 1)
        & (month <= 12)
        & (day >= 1)
        & (day <= month_days)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
        & (seconds >= _LOW)
        & (seconds <= _HIGH)
    )
    return valid, seconds


def _number(digits: np.ndarray, at: int, width: int) -> np.ndarray:
    """The decimal numbers written in rows `at` to `at + width` of a matrix of digit places."""
    value = digits[at].astype(np.int64)
    for place in range(at + 1, at + width):
        value = value * 10 + digits[place]
    return value  # type: ignore[no-any-return]


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's `days_from_civil`)."""
    y = year - (month <= 2)
    era = y // 400  # y is 0 in January and February of year 1: floor division holds there too
    year_of_era = y - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468  # type: ignore[no-any-return]


def _first_bad_date(dates: pa.StringArray) -> str | None:
    """The first of `dates` that `_naive_times` refuses, for the error message."""
    wide = pc.fill_null(pc.equal(pc.binary_length(dates), _DATE_WIDTH), False)
    good = np.zeros(len(dates), dtype=bool)
    at = np.flatnonzero(wide.to_numpy(zero_copy_only=False))
    if len(at):
        good[at] = _read_fixed_width(dates.filter(wide))[0]  # type: ignore[arg-type]
    bad = np.flatnonzero(~good)
    return dates[int(bad[0])].as_py() if len(bad) else None


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
    ascending = _ids_ascending(raw.id_sms)  # every id greater than the one before: none repeat
    if not (ascending and _in_key_order(table)):  # the API lists messages by id: mostly in order
        order = sort_key_indices(table)
        if not _is_identity(order):
            table = table.take(order)
    if ascending:
        return table
    return _drop_duplicate_ids(table, endpoint=endpoint, window=window)


def _in_key_order(table: pa.Table) -> bool:
    """Whether rows whose ids ascend (`_ids_ascending`) are already in `sort_key_indices` order:
    times never falling and no id with a leading zero (without one, the sort's id keys are the
    (length, digits) that `_ids_ascending` compared). Two comparisons instead of a sort."""
    times, ids = table["received_at"], table["id_sms"]
    if pc.any(pc.starts_with(ids, "0")).as_py():
        return False
    return table.num_rows < 2 or bool(pc.all(pc.less_equal(times[:-1], times[1:])).as_py())


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
