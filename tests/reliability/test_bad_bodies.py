"""Bad incoming.php bodies: each is read exactly as documented or refused with a typed error.

Property tests compare the pipeline with the oracle in `response_bodies` on thousands of bodies:
the pure parsing path directly (fast, many examples) and a smaller number through real HTTP,
where transport quirks (status codes, gzip, lying Content-Types) come on top.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest
from conftest import API_KEY, LOGIN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lightsms_pipeline.api.client import LightSMSClient, RetryPolicy
from lightsms_pipeline.errors import (
    AUTH_ERROR_CODES,
    AuthenticationError,
    BadRequestError,
    LightSMSError,
    MalformedResponseError,
    UnavailableError,
)
from lightsms_pipeline.normalize.incoming import to_incoming_table
from lightsms_pipeline.simulator.server import SimulatorServer
from reliability.conftest import SuiteSummary
from reliability.response_bodies import (
    DAY,
    FETCHED_AT,
    TIMEZONE,
    Code,
    Reading,
    Refused,
    json_bodies,
    pipeline_reading,
    read_json_body,
    reading_for_format,
    table_rows,
    xml_bodies,
)

SUITE = "reliability/bad-input"
FIXTURES_ACROSS_EXAMPLES = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
]
PURE = settings(max_examples=250, deadline=None, suppress_health_check=FIXTURES_ACROSS_EXAMPLES)
OVER_HTTP = settings(max_examples=100, deadline=None, suppress_health_check=FIXTURES_ACROSS_EXAMPLES)
QUICK_RETRY = RetryPolicy(
    attempts=2, backoff_initial=0.001, backoff_max=0.002, total_seconds=20, read_timeout=5
)


def count(summary: SuiteSummary, reading: Reading | type[Exception]) -> None:
    summary.add("cases tried")
    if isinstance(reading, list):
        summary.add("read")
        summary.add("messages compared", len(reading))
    elif isinstance(reading, Code) or reading in (AuthenticationError, BadRequestError):
        summary.add("API errors")
    else:
        summary.add("refused")


def watched_reading(summary: SuiteSummary, body: bytes, fmt: str = "json") -> Reading:
    """`pipeline_reading`, counting an exception other than the typed two before it fails the test."""
    summary.ensure("unexpected exceptions")
    try:
        return pipeline_reading(body, fmt)
    except Exception:
        summary.add("unexpected exceptions")
        raise


# --- the pure path: parse_body + to_incoming_table ---------------------------------------------


@pytest.mark.slow
@PURE
@given(body=json_bodies())
def test_json_bodies_are_read_exactly_or_refused_with_a_typed_error(
    body: bytes, summary: SuiteSummary
) -> None:
    expected = read_json_body(body)
    assert watched_reading(summary, body, "json") == expected
    count(summary, expected)


@pytest.mark.slow
@PURE
@given(case=xml_bodies(), fmt=st.sampled_from(["json", "xml"]))
def test_xml_bodies_are_read_exactly_or_refused_with_a_typed_error(
    case: tuple[bytes, Reading], fmt: str, summary: SuiteSummary
) -> None:
    body, expected = case
    assert watched_reading(summary, body, fmt) == expected
    count(summary, expected)


@PURE
@given(body=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_never_raise_anything_but_the_typed_errors(
    body: bytes, summary: SuiteSummary
) -> None:
    reading = watched_reading(summary, body)  # anything but ResponseProblem/MalformedResponseError raises
    assert watched_reading(summary, body) == reading
    if isinstance(reading, list):
        assert reading == read_json_body(body) or body.strip()[:1] == b"<"
    count(summary, reading)


# --- named cases: the bugs this suite found, pinned -------------------------------------------


def record(text: str = "STOP", when: str = "2025-01-15 10:00:00") -> str:
    return json.dumps({"date": when, "sender": "37061234567", "text": text})


def test_one_id_twice_with_different_texts_is_refused_not_silently_one_of_them() -> None:
    # json.loads keeps the last of repeated keys: the STOP was dropped without a word.
    body = f'{{"5": {record("STOP")}, "5": {record("hello")}}}'.encode()
    assert isinstance(pipeline_reading(body), Refused)


def test_one_id_twice_with_the_same_message_is_kept_once() -> None:
    body = f'{{"5": {record("STOP")}, "5": {record("STOP")}}}'.encode()
    assert pipeline_reading(body) == [("5", "2025-01-15 10:00:00", "37061234567", None, None, "STOP")]


def test_a_field_named_twice_is_refused() -> None:
    body = b'{"5": {"date": "2025-01-15 10:00:00", "sender": "1", "text": "STOP", "text": "hi"}}'
    assert isinstance(pipeline_reading(body), Refused)


@pytest.mark.parametrize("when", ["2025-02-30 10:00:00", "2025-01-15 23:59:60", "0000-01-01 00:00:00"])
def test_impossible_dates_are_refused_not_rolled_over_to_another_day(when: str) -> None:
    body = f'{{"5": {record(when=when)}}}'.encode()
    assert isinstance(pipeline_reading(body), Refused)


@pytest.mark.parametrize("value", ['"²"', '"١٩"'])
def test_an_error_code_in_non_ascii_digits_is_refused_with_the_typed_error(value: str) -> None:
    assert isinstance(pipeline_reading(f'{{"error": {value}}}'.encode()), Refused)


def test_json_nested_deeper_than_python_recursion_is_refused() -> None:
    assert isinstance(pipeline_reading(b"[" * 100_000), Refused)


def test_an_xml_error_beside_messages_is_refused_not_an_empty_day() -> None:
    sms = b'<sms id_sms="5" date="2025-01-15 10:00:00" sender="1" text="STOP" />'
    body = b"<response><error>19</error>" + sms + b"</response>"
    assert isinstance(pipeline_reading(body), Refused)


def test_nul_bytes_and_huge_texts_round_trip_exactly() -> None:
    texts = ["\x00", "STOP\x00", "a\x00b", "", "😀" * 500_000]
    records = {
        str(n): {"date": "2025-01-15 10:00:00", "sender": "1", "text": t} for n, t in enumerate(texts, 1)
    }
    rows = pipeline_reading(json.dumps(records).encode())  # NUL as the legal JSON escape \u0000
    assert isinstance(rows, list)
    assert [r[5].encode() for r in rows] == [t.encode() for t in texts]


# --- over real HTTP: client + simulator ------------------------------------------------------


@pytest.fixture
def clients(simulator: SimulatorServer) -> Iterator[dict[str, LightSMSClient]]:
    made = {
        fmt: LightSMSClient(simulator.base_url, LOGIN, API_KEY, response_format=fmt, retry=QUICK_RETRY)
        for fmt in ("json", "xml")
    }
    try:
        yield made  # type: ignore[misc]
    finally:
        for client in made.values():
            client.close()


CONTENT_TYPES = ("application/json; charset=utf-8", "text/xml", "text/html", "text/plain", "")
TRANSPORTS = st.sampled_from(
    ["plain"] * 8 + ["gzip", "gzip-cut-in-header", "gzip-bad-data", "404", "500", "429"]
)


def http_outcome(reading: Reading, transport: str) -> list | type[LightSMSError]:
    if transport in ("404", "gzip-cut-in-header"):
        return MalformedResponseError
    if transport in ("500", "429", "gzip-bad-data"):  # undecodable: a transport failure
        return UnavailableError
    if isinstance(reading, Refused):
        return MalformedResponseError
    if isinstance(reading, Code):
        return AuthenticationError if reading.code in AUTH_ERROR_CODES else BadRequestError
    return reading


@pytest.mark.slow
@OVER_HTTP
@given(
    case=st.one_of(json_bodies().map(lambda b: (b, read_json_body(b))), xml_bodies()),
    fmt=st.sampled_from(["json", "xml"]),
    transport=TRANSPORTS,
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_bodies_over_http_are_read_exactly_or_refused_with_a_typed_error(
    simulator: SimulatorServer,
    clients: dict[str, LightSMSClient],
    summary: SuiteSummary,
    case: tuple[bytes, Reading],
    fmt: str,
    transport: str,
    content_type: str,
) -> None:
    body, reading = case
    expected = http_outcome(reading_for_format(body, fmt, reading), transport)
    status, headers, payload = 200, (), body
    if transport in ("404", "500", "429"):
        status, payload = int(transport), b"<html><body>Error</body></html>"
        headers = (("Retry-After", "0"),) if transport == "429" else ()
    elif transport == "gzip":
        headers, payload = (("Content-Encoding", "gzip"),), gzip.compress(body)
    elif transport == "gzip-cut-in-header":  # decodes to nothing, which must not read as a day
        headers, payload = (("Content-Encoding", "gzip"),), gzip.compress(body)[:7]
    elif transport == "gzip-bad-data":
        compressed = gzip.compress(body)
        headers, payload = (
            (("Content-Encoding", "gzip"),),
            compressed[:10] + bytes(b ^ 0x55 for b in compressed[10:]),
        )
    simulator.serve_body(
        payload, day=DAY.isoformat(), status=status, content_type=content_type, headers=headers
    )
    requests_before = simulator.stats.requests
    try:
        raw = clients[fmt].fetch_day(DAY)
        table = to_incoming_table(
            raw, account=LOGIN, timezone=TIMEZONE, region="LT", fetched_at=FETCHED_AT, window=DAY.isoformat()
        )
        got: list | type[LightSMSError] = table_rows(table)
    except LightSMSError as exc:
        got = type(exc)
        assert DAY.isoformat() in str(exc), "the error names the day"
    except Exception:
        summary.add("unexpected exceptions")
        raise
    finally:
        simulator.serve_body(None, day=DAY.isoformat())
    assert got == expected
    count(summary, got)
    summary.ensure("unexpected exceptions")
    summary.add("HTTP requests", simulator.stats.requests - requests_before)
