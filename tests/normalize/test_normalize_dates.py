"""`date` strings to local times: the reader accepts exactly what `datetime.strptime` reads in the
strict `YYYY-MM-DD HH:MM:SS` shape within datetime's years, and names the same time.

The oracle is Python's own calendar: a value is valid when it is 19 ASCII characters of that
shape, `datetime.strptime` reads it, and it lies from 0001-01-02 to 9999-12-30 23:59:59 (a day of
margin at both ends, so its UTC instant is a datetime too).
"""

from __future__ import annotations

import re
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lightsms_pipeline.errors import MalformedResponseError
from lightsms_pipeline.normalize.incoming import EARLIEST_LOCAL, LATEST_LOCAL, _read_dates, parse_local_times

SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
PROPERTY = settings(max_examples=400, deadline=None)


def _naive_times(dates: pa.StringArray) -> pa.TimestampArray | None:
    """The naive times `parse_local_times` would localize, or None where it would refuse the
    column (any date not a real `YYYY-MM-DD HH:MM:SS` time in range)."""
    naive, valid = _read_dates(dates)
    return naive if not len(dates) or pc.all(valid).as_py() else None


def oracle(text: str | None) -> datetime | None:
    if text is None or not SHAPE.fullmatch(text):
        return None
    try:
        parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return parsed if EARLIEST_LOCAL <= parsed <= LATEST_LOCAL else None


def written(t: datetime) -> str:
    # Not strftime: its %Y does not pad years below 1000 on glibc.
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


EDGES = [
    "0001-01-01 23:59:59",
    "0001-01-02 00:00:00",
    "9999-12-30 23:59:59",
    "9999-12-31 00:00:00",
    "0000-06-15 12:00:00",
    "1900-02-29 00:00:00",
    "2000-02-29 00:00:00",
    "2100-02-29 00:00:00",
    "2024-02-29 23:59:59",
    "2025-02-29 00:00:00",
    "2025-04-31 00:00:00",
    "2025-12-31 23:59:59",
    "2025-13-01 00:00:00",
    "2025-00-01 00:00:00",
    "2025-01-00 00:00:00",
    "2025-01-01 24:00:00",
    "2025-01-01 23:60:00",
    "2025-01-01 23:59:60",
    "2025-01-01T00:00:00",
    "2025/01/01 00:00:00",
    "2025-1-01  00:00:00",
    "2025-01-01 0:00:000",
    " 2025-01-01 0:00:00",
    "２０２５-01-05 01:02:03",
    "2025-01-0٣ 01:02:03",
    "2025-01-01 00:00:0\n",
    "1970-01-01 00:00:00",
    "1969-12-31 23:59:59",
    # Bytes just past "9" (":" is "9" + 1) in a digit place: a reader doing arithmetic on bytes
    # would take each for a field in range ("1:00" as 1000 + 10 * 100 = 2000).
    "1:00-01-01 00:00:00",
    "201:-01-01 00:00:00",
    "2025-0:-01 00:00:00",
    "2025-01-0: 00:00:00",
    "2025-01-01 1;:00:00",
]
# Near-valid strings: a valid time with one character swapped for a likely troublemaker.
MUTANTS = st.builds(
    lambda t, at, c: written(t)[:at] + c + written(t)[at + 1 :],
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.integers(0, 18),
    st.sampled_from([*"0123456789-: T/\x00+.", "٣", "２", "é"]),
)
VALUES = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).map(written),
    st.sampled_from(EDGES),
    MUTANTS,
    st.text(min_size=19, max_size=19),
    st.text(max_size=25),
    st.none(),
)


@pytest.mark.parametrize("text", EDGES)
def test_edge_dates_read_as_datetime_reads_them(text: str) -> None:
    got = _naive_times(pa.array([text], pa.string()))
    expected = oracle(text)
    assert (got.to_pylist() if got is not None else None) == ([expected] if expected else None)


@PROPERTY
@given(values=st.lists(VALUES, min_size=1, max_size=6), lead=st.integers(0, 3))
def test_dates_read_as_datetime_reads_them_or_are_refused(values: list[str | None], lead: int) -> None:
    # A slice of a longer array: the reader must start at the slice's first value.
    column = pa.array(["2025-01-15 10:00:00"] * lead + values, pa.string()).slice(lead)
    expected = [oracle(v) for v in values]
    got = _naive_times(column)  # type: ignore[arg-type]
    if all(e is not None for e in expected):
        assert got is not None and got.to_pylist() == expected
    else:
        assert got is None
        first_bad = next(v for v, e in zip(values, expected, strict=True) if e is None)
        with pytest.raises(MalformedResponseError) as refused:
            parse_local_times(column, "Europe/Vilnius", endpoint="incoming.php", window="2025-01-15")  # type: ignore[arg-type]
        assert f"message date {first_bad!r} is not a valid" in str(refused.value)


def test_a_day_of_times_reads_as_datetime_reads_them_and_one_impossible_day_refuses_it() -> None:
    values = [
        f"2024-02-29 {h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(0, 60, 7) for s in (0, 59)
    ]
    got = _naive_times(pa.array(values, pa.string()))
    assert got is not None and got.to_pylist() == [oracle(v) for v in values]
    values[300] = "2024-02-30 00:00:00"  # rolled over to 03-01 by Arrow's strptime
    assert _naive_times(pa.array(values, pa.string())) is None
