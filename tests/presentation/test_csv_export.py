"""CSV for CRM import: formula-looking cells defused, valid E.164 numbers left as they are."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from lightsms_pipeline.contract import DEFAULT_TIMEZONE
from lightsms_pipeline.presentation.csv_export import write_csv_safe


def local(text: str) -> dt.datetime:
    """A provider-local wall time as an aware datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(DEFAULT_TIMEZONE))


def exported(table: pa.Table, **options: tuple[str, ...]) -> bytes:
    sink = io.BytesIO()
    write_csv_safe(table, sink, **options)
    return sink.getvalue()


def cells(table: pa.Table, **options: tuple[str, ...]) -> list[list[str]]:
    text = exported(table, **options).decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("STOP", "STOP"),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("", ""),
    ],
)
def test_a_free_text_cell_that_looks_like_a_formula_gets_a_quote(raw: str, written: str) -> None:
    assert cells(pa.table({"text": [raw]})) == [["text"], [written]]


@pytest.mark.parametrize(
    ("subscriber", "written"),
    [
        ("+37061234567", "+37061234567"),
        ("+12125550123", "+12125550123"),
        ("+1234567", "+1234567"),
        ("+123456", "'+123456"),  # too short for E.164
        ("+0123456789", "'+0123456789"),  # E.164 never starts with 0
        ("+3706123456789012", "'+3706123456789012"),  # more than 15 digits
        ("+37061234567=1", "'+37061234567=1"),
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),  # a raw alphanumeric sender is text
        ("PAYSERA", "PAYSERA"),
    ],
)
def test_validated_e164_cells_stay_as_they_are(subscriber: str, written: str) -> None:
    assert cells(pa.table({"subscriber": [subscriber]}))[1] == [written]


def test_e164_is_exempt_only_in_the_e164_columns() -> None:
    table = pa.table({"subscriber": ["+37061234567"], "text": ["+37061234567"]})
    assert cells(table)[1] == ["+37061234567", "'+37061234567"]
    assert cells(table, e164_columns=())[1] == ["'+37061234567", "'+37061234567"]


def test_quoting_is_rfc_4180_with_a_header_and_crlf_lines() -> None:
    table = pa.table({"text": ['say "hi", then\nleave', None], "n": [1, None]})
    assert exported(table) == b'"text","n"\r\n"say ""hi"", then\nleave",1\r\n,\r\n'


def test_utf8_text_survives() -> None:
    table = pa.table({"text": ["Ačiū 👍🏽 стоп"]})
    assert cells(table)[1] == ["Ačiū 👍🏽 стоп"]


def test_timestamps_are_iso_8601_with_the_offset_of_their_zone() -> None:
    table = pa.table(
        {
            "opted_out_at": pa.array(
                [local("2025-01-15 09:30:00"), local("2025-07-01 00:00:05")],
                pa.timestamp("us", tz="Europe/Vilnius"),
            ),
            "precise": pa.array([local("2025-01-15 09:30:00.25")] * 2, pa.timestamp("us", tz="UTC")),
        }
    )
    assert cells(table)[1:] == [
        ["2025-01-15T09:30:00+02:00", "2025-01-15T07:30:00.250000+00:00"],
        ["2025-07-01T00:00:05+03:00", "2025-01-15T07:30:00.250000+00:00"],
    ]


def test_a_path_sink_gets_the_same_bytes(tmp_path: Path) -> None:
    table = pa.table({"subscriber": ["+37061234567", "=1+1"], "keyword": ["stop", "stop"]})
    path = tmp_path / "opt_out_list.csv"
    write_csv_safe(table, path)
    assert path.read_bytes() == exported(table)
    assert path.read_text(encoding="utf-8").splitlines()[1:] == ['"+37061234567","stop"', '"\'=1+1","stop"']
