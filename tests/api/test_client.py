"""The client against the simulator over real HTTP: exact data, auth, errors, retries, secrets."""

from __future__ import annotations

import gzip
import logging
import time
from dataclasses import replace
from datetime import date, datetime

import pytest
from conftest import API_KEY, FAST_RETRY, JAN_15, LOGIN

from lightsms_pipeline.api.client import LightSMSClient
from lightsms_pipeline.api.responses import RawMessages
from lightsms_pipeline.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    UnavailableError,
)
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import SimMessage, Traffic


def as_messages(raw: RawMessages) -> list[SimMessage]:
    cols = [raw.id_sms, raw.date, raw.sender, raw.phone, raw.prefix, raw.text]
    return [
        SimMessage(id_sms=i, date=d, sender=s, phone=p, prefix=x, text=t)
        for i, d, s, p, x, t in zip(*(c.to_pylist() for c in cols), strict=True)
    ]


def test_fetch_day_returns_exactly_the_simulators_messages(client, traffic):
    assert as_messages(client.fetch_day(JAN_15)) == list(traffic.day(JAN_15))


def test_json_and_xml_give_identical_messages(simulator, traffic):
    with LightSMSClient(simulator.base_url, LOGIN, API_KEY, response_format="xml") as xml_client:
        via_xml = as_messages(xml_client.fetch_day(JAN_15))
    assert via_xml == list(traffic.day(JAN_15))
    assert simulator.log[-1]["return"] == "xml"


def test_unicode_text_round_trips_byte_for_byte(client, traffic):
    days = [date(2025, 1, d) for d in range(10, 17)]
    sent = [m.text for d in days for m in traffic.day(d)]
    got = [t for d in days for t in client.fetch_day(d).text.to_pylist()]
    assert [t.encode("utf-8") for t in got] == [t.encode("utf-8") for t in sent]
    assert any(not t.isascii() for t in got) and any("\n" in t for t in got)


def test_fetch_range_sends_from_and_to_inclusive(client, traffic, simulator):
    start, end = datetime(2025, 1, 15, 9, 0, 0), datetime(2025, 1, 16, 12, 30, 0)
    assert as_messages(client.fetch_range(start, end)) == traffic.window(start, end)
    assert {"from", "to"} <= set(simulator.log[-1]) and "date" not in simulator.log[-1]


def test_return_is_sent_and_signed(client, simulator):
    client.fetch_day(JAN_15)  # the simulator answers 6 to a signature that leaves `return` out
    assert simulator.log[-1]["return"] == "json"


def test_one_timestamp_call_serves_many_requests(client, simulator):
    for d in range(10, 16):
        client.fetch_day(date(2025, 1, d))
    assert simulator.stats.by_endpoint["timestamp.php"] == 1
    assert simulator.stats.by_endpoint["incoming.php"] == 6


def test_server_clock_skew_is_absorbed_by_the_offset(simulator, client):
    simulator.clock_skew_seconds = 3600.0  # our clock an hour behind LightSMS's
    assert len(client.fetch_day(JAN_15)) > 0
    assert abs(client.server_time_offset() - 3600.0) < 2


def test_stale_timestamp_error_6_refreshes_offset_and_retries_once(simulator, client):
    simulator.faults = FaultPlan(script=[FaultKind.STALE_TIMESTAMP])
    assert len(client.fetch_day(JAN_15)) > 0
    assert simulator.stats.by_endpoint["timestamp.php"] == 2


def test_stale_timestamp_twice_is_an_authentication_error(simulator, client):
    simulator.faults = FaultPlan(script=[FaultKind.STALE_TIMESTAMP, FaultKind.STALE_TIMESTAMP])
    with pytest.raises(AuthenticationError) as info:
        client.fetch_day(JAN_15)
    assert info.value.code == 6


def test_wrong_key_names_endpoint_date_code_and_meaning(simulator):
    with (
        LightSMSClient(simulator.base_url, LOGIN, "not-the-key", retry=FAST_RETRY) as c,
        pytest.raises(AuthenticationError) as info,
    ):
        c.fetch_day(JAN_15)
    message = str(info.value)
    for fragment in ("incoming.php", "2025-01-15", "error 6", "Invalid signature", "LIGHTSMS_API_KEY"):
        assert fragment in message
    assert "not-the-key" not in message


@pytest.mark.parametrize("style", ["int", "str"])
def test_wrong_login_is_error_7_whether_int_or_string(simulator, style):
    simulator.error_code_style = style
    with (
        LightSMSClient(simulator.base_url, "someone-else", API_KEY, retry=FAST_RETRY) as c,
        pytest.raises(AuthenticationError, match="error 7 \\(Invalid login\\)"),
    ):
        c.fetch_day(JAN_15)


@pytest.mark.parametrize(
    ("dates", "code"),
    [
        ({}, 30),
        ({"from": "2025-01-15 00:00:00"}, 29),
        ({"to": "2025-01-15 23:59:59"}, 28),
        ({"date": "15.01.2025"}, 30),
    ],
)
def test_missing_or_bad_dates_are_bad_request_errors(client, dates, code):
    with pytest.raises(BadRequestError) as info:
        client._incoming(dates, "test window")
    assert info.value.code == code and f"error {code}" in str(info.value)


@pytest.mark.parametrize("style", ["error19", "error19_str", "empty_list", "empty_object", "empty_body"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_empty_day_shape_reads_as_zero_messages(style, fmt):
    empty = date(2025, 1, 15)
    traffic = Traffic(seed=1, per_day=20, empty_days=frozenset({empty}))
    with (
        SimulatorServer(traffic, login=LOGIN, api_key=API_KEY, empty_style=style).start() as sim,
        LightSMSClient(sim.base_url, LOGIN, API_KEY, response_format=fmt, retry=FAST_RETRY) as c,
    ):
        assert len(c.fetch_day(empty)) == 0
        assert len(c.fetch_day(date(2025, 1, 16))) > 0


def test_missing_phone_reads_as_null():
    traffic = Traffic(seed=3, per_day=30, missing_phone_rate=1.0)
    with (
        SimulatorServer(traffic, login=LOGIN, api_key=API_KEY).start() as sim,
        LightSMSClient(sim.base_url, LOGIN, API_KEY, retry=FAST_RETRY) as c,
    ):
        raw = c.fetch_day(JAN_15)
    assert len(raw) > 0 and raw.phone.null_count == len(raw)


@pytest.mark.parametrize(
    "kind",
    [
        FaultKind.HTTP_500,
        FaultKind.HTTP_503,
        FaultKind.RESET,
        FaultKind.TRUNCATED,
        FaultKind.HTML,
        FaultKind.RATE_LIMIT,
        FaultKind.SLOW,
    ],
)
def test_retries_recover_from_each_fault_kind(simulator, traffic, kind):
    simulator.faults = FaultPlan(script=[kind, kind], slow_seconds=1.5, retry_after_seconds=0)
    retry = replace(FAST_RETRY, read_timeout=0.5)
    with LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=retry) as c:
        assert as_messages(c.fetch_day(JAN_15)) == list(traffic.day(JAN_15))
        assert c.stats.retries == 2
    assert simulator.stats.faults_injected[kind] == 2


def test_rate_limit_honours_retry_after(simulator, client):
    simulator.faults = FaultPlan(script=[FaultKind.RATE_LIMIT], retry_after_seconds=1)
    started = time.monotonic()
    client.fetch_day(JAN_15)
    assert time.monotonic() - started >= 1.0


def test_a_day_that_always_fails_gives_up_cleanly_after_the_budget(simulator, client):
    simulator.faults = FaultPlan(fail_dates={"2025-01-15"})
    with pytest.raises(UnavailableError) as info:
        client.fetch_day(JAN_15)
    assert "2025-01-15" in str(info.value) and "HTTP 503" in str(info.value)
    assert simulator.stats.by_endpoint["incoming.php"] == FAST_RETRY.attempts
    assert len(client.fetch_day(date(2025, 1, 16))) > 0  # the other days still work


def test_html_page_every_time_is_a_malformed_response(simulator, client):
    simulator.faults = FaultPlan(rates={FaultKind.HTML: 1.0})
    with pytest.raises(MalformedResponseError, match="HTML"):
        client.fetch_day(JAN_15)


def test_unreachable_host_is_unavailable_not_a_raw_requests_error():
    with (
        LightSMSClient("http://127.0.0.1:9", LOGIN, API_KEY, retry=FAST_RETRY) as c,
        pytest.raises(UnavailableError, match=r"timestamp\.php"),
    ):
        c.fetch_day(JAN_15)


def test_api_key_never_appears_in_repr_errors_or_logs(simulator, caplog):
    caplog.set_level(logging.DEBUG)
    simulator.faults = FaultPlan(script=[FaultKind.HTTP_500, FaultKind.RESET])
    texts = []
    with LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=FAST_RETRY) as c:
        texts.append(repr(c))
        c.fetch_day(JAN_15)
        simulator.faults = FaultPlan(fail_dates={"2025-01-16"})
        with pytest.raises(UnavailableError) as info:
            c.fetch_day(date(2025, 1, 16))
        texts.append(str(info.value))
    with LightSMSClient(simulator.base_url, LOGIN, API_KEY + "x", retry=FAST_RETRY) as bad:
        with pytest.raises(AuthenticationError) as auth:
            bad.fetch_day(JAN_15)
        texts.append(str(auth.value))
    texts.append(caplog.text)
    texts.append(repr(simulator))
    assert caplog.records  # the retries were logged
    assert all(API_KEY not in t for t in texts)


def test_a_whole_gzip_stream_of_an_empty_body_is_an_empty_day(simulator, client):
    # What a server gzipping every answer sends for a day without messages: complete, checksum
    # and all. Only a stream that did not reach its end may be refused as cut short.
    simulator.serve_body(gzip.compress(b""), day=JAN_15.isoformat(), headers=(("Content-Encoding", "gzip"),))
    assert len(client.fetch_day(JAN_15)) == 0


ONE_MESSAGE = b'{"1":{"date":"2025-01-15 10:00:00","sender":"37061234567","text":"hi"}}'
WHOLE = gzip.compress(ONE_MESSAGE)


@pytest.mark.parametrize(
    "payload",
    [WHOLE[:7], WHOLE[:-12], WHOLE[:-4], WHOLE + b"x"],
    ids=["in-the-header", "in-the-data", "in-the-checksum", "trailing-bytes"],
)
def test_a_gzip_stream_cut_short_is_refused_not_read_as_fewer_messages(simulator, client, payload):
    simulator.serve_body(payload, day=JAN_15.isoformat(), headers=(("Content-Encoding", "gzip"),))
    with pytest.raises(MalformedResponseError, match="gzip body"):
        client.fetch_day(JAN_15)
