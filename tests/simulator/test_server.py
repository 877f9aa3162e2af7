"""The simulator over real HTTP: auth, dates, encodings, empty days, faults, stats and keep-alive.

Signatures are built here by hand with hashlib, never with lightsms_pipeline.api.signing, so the two
implementations check each other.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import defusedxml.ElementTree as DefusedET
import pytest
import requests

from lightsms_pipeline.simulator.api import php_signature
from lightsms_pipeline.simulator.encoding import encode_json
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import SimMessage, Traffic

LOGIN = "sim-login"
API_KEY = "sim-key-5d41402abc4b2a76b9719d911017c592"
# The server's clock in these tests: 12:30 local time in Vilnius (EET, UTC+2).
NOW = datetime(2025, 3, 12, 10, 30, 0, tzinfo=UTC)
TODAY = date(2025, 3, 12)
PAST_DAY = "2025-03-05"
INCOMING = "/external/get/incoming.php"
TIMESTAMP = "/external/get/timestamp.php"


def sign(params: dict[str, str], api_key: str = API_KEY) -> str:
    """The documented algorithm: values sorted by name, concatenated, key appended, md5 hex."""
    joined = "".join(params[name] for name in sorted(params))
    return hashlib.md5((joined + api_key).encode("utf-8")).hexdigest()


@pytest.fixture
def sim_traffic() -> Traffic:
    return Traffic(seed=3, per_day=150)


@pytest.fixture
def sim(sim_traffic: Traffic) -> Iterator[SimulatorServer]:
    server = SimulatorServer(sim_traffic, login=LOGIN, api_key=API_KEY, now=lambda: NOW).start()
    yield server
    server.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def incoming(
    sim: SimulatorServer,
    http: requests.Session,
    dates: dict[str, str] | None = None,
    *,
    fmt: str | None = "json",
    timestamp: int | None = None,
    api_key: str = API_KEY,
    timeout: float = 5.0,
    **named_dates: str,
) -> requests.Response:
    params = {"login": LOGIN, "timestamp": str(int(NOW.timestamp()) if timestamp is None else timestamp)}
    if fmt is not None:
        params["return"] = fmt
    params.update(dates or {})
    params.update(named_dates)
    params["signature"] = sign(params, api_key)
    return http.get(sim.base_url + INCOMING, params=params, timeout=timeout)


def records(response: requests.Response) -> dict[str, dict[str, str]]:
    body = json.loads(response.content)
    assert isinstance(body, dict) and "error" not in body, body
    return body


def as_record(m: SimMessage) -> dict[str, str]:
    record = {"date": m.date, "sender": m.sender, "phone": m.phone, "prefix": m.prefix, "text": m.text}
    return {name: value for name, value in record.items() if value is not None}


# -- signing and auth -----------------------------------------------------------------------


def test_server_signature_matches_hand_computed_vector() -> None:
    # md5("2025-01-15" + "demo" + "json" + "1732809600" + "secret")
    params = {"login": "demo", "timestamp": "1732809600", "date": "2025-01-15", "return": "json"}
    assert php_signature(params, "secret") == "6319fa40ef4a66cf86cf977bdf0b6210"
    assert php_signature({**params, "signature": "x"}, "secret") == "6319fa40ef4a66cf86cf977bdf0b6210"


def test_timestamp_endpoint_returns_plain_integer_with_skew(
    sim: SimulatorServer, http: requests.Session
) -> None:
    response = http.get(sim.base_url + TIMESTAMP)
    assert response.status_code == 200
    assert response.text == str(int(NOW.timestamp()))
    sim.clock_skew_seconds = -90
    assert http.get(sim.base_url + TIMESTAMP).text == str(int(NOW.timestamp()) - 90)


def test_real_clock_is_the_default() -> None:
    with SimulatorServer(Traffic(per_day=1)) as server:
        served = int(requests.get(server.base_url + TIMESTAMP, timeout=5).text)
    assert abs(served - time.time()) < 5


def test_signed_date_request_returns_the_days_messages(
    sim: SimulatorServer, http: requests.Session, sim_traffic: Traffic
) -> None:
    response = incoming(sim, http, date=PAST_DAY)
    assert response.status_code == 200
    body = records(response)
    expected = sim_traffic.day(date.fromisoformat(PAST_DAY))
    assert list(body) == [m.id_sms for m in expected]  # ascending id order on the wire
    assert list(body.values()) == [as_record(m) for m in expected]


def test_return_param_defaults_to_json(sim: SimulatorServer, http: requests.Session) -> None:
    assert records(incoming(sim, http, fmt=None, date=PAST_DAY))


@pytest.mark.parametrize(
    ("drop", "code"), [("signature", 1), ("login", 2), ("timestamp", 24)], ids=["1", "2", "24"]
)
def test_missing_auth_params_are_errors_1_2_24(
    sim: SimulatorServer, http: requests.Session, drop: str, code: int
) -> None:
    params = {"login": LOGIN, "timestamp": str(int(NOW.timestamp())), "date": PAST_DAY}
    params["signature"] = sign(params)
    del params[drop]
    assert http.get(sim.base_url + INCOMING, params=params).json() == {"error": code}


def test_missing_signature_is_checked_before_missing_login(
    sim: SimulatorServer, http: requests.Session
) -> None:
    assert http.get(sim.base_url + INCOMING, params={"date": PAST_DAY}).json() == {"error": 1}


def test_wrong_login_is_error_7(sim: SimulatorServer, http: requests.Session) -> None:
    params = {"login": "someone-else", "timestamp": str(int(NOW.timestamp())), "date": PAST_DAY}
    params["signature"] = sign(params)
    assert http.get(sim.base_url + INCOMING, params=params).json() == {"error": 7}


def test_wrong_key_is_error_6(sim: SimulatorServer, http: requests.Session) -> None:
    assert incoming(sim, http, api_key="not-the-key", date=PAST_DAY).json() == {"error": 6}


def test_unsigned_return_param_is_error_6(sim: SimulatorServer, http: requests.Session) -> None:
    params = {"login": LOGIN, "timestamp": str(int(NOW.timestamp())), "date": PAST_DAY}
    params["signature"] = sign(params)  # signed without `return`, then `return` added
    params["return"] = "json"
    assert http.get(sim.base_url + INCOMING, params=params).json() == {"error": 6}


def test_uppercase_signature_is_error_6(sim: SimulatorServer, http: requests.Session) -> None:
    params = {"login": LOGIN, "timestamp": str(int(NOW.timestamp())), "date": PAST_DAY}
    params["signature"] = sign(params).upper()
    assert http.get(sim.base_url + INCOMING, params=params).json() == {"error": 6}


def test_non_ascii_values_are_signed_as_utf8(sim: SimulatorServer, http: requests.Session) -> None:
    # An extra parameter is signed like any other; its Cyrillic value is hashed as UTF-8.
    params = {"login": LOGIN, "timestamp": str(int(NOW.timestamp())), "date": PAST_DAY, "note": "ключ ą"}
    params["signature"] = sign(params)
    assert records(http.get(sim.base_url + INCOMING, params=params))


def test_stale_timestamp_is_error_6(sim: SimulatorServer, http: requests.Session) -> None:
    now = int(NOW.timestamp())
    assert records(incoming(sim, http, timestamp=now - 10, date=PAST_DAY))
    assert incoming(sim, http, timestamp=now - 11, date=PAST_DAY).json() == {"error": 6}
    assert incoming(sim, http, timestamp=now + 11, date=PAST_DAY).json() == {"error": 6}


def test_clock_skew_moves_the_accepted_timestamps(sim: SimulatorServer, http: requests.Session) -> None:
    sim.clock_skew_seconds = 300
    local = int(NOW.timestamp())
    assert incoming(sim, http, timestamp=local, date=PAST_DAY).json() == {"error": 6}
    assert records(incoming(sim, http, timestamp=local + 300, date=PAST_DAY))


def test_error_code_style_str(sim: SimulatorServer, http: requests.Session) -> None:
    sim.error_code_style = "str"
    response = incoming(sim, http, api_key="wrong", date=PAST_DAY)
    assert response.content == b'{"error":"6"}'


def test_errors_in_xml(sim: SimulatorServer, http: requests.Session) -> None:
    response = incoming(sim, http, fmt="xml")
    assert response.content == (
        b'<?xml version="1.0" encoding="utf-8"?>\n<response><error>30</error></response>'
    )


# -- dates ----------------------------------------------------------------------------------


def test_missing_dates_error_30_28_29(sim: SimulatorServer, http: requests.Session) -> None:
    assert incoming(sim, http).json() == {"error": 30}
    assert incoming(sim, http, {"from": "2025-03-01 00:00:00"}).json() == {"error": 29}
    assert incoming(sim, http, to="2025-03-01 23:59:59").json() == {"error": 28}


@pytest.mark.parametrize(
    ("dates", "code"),
    [
        ({"date": "2025-3-05"}, 30),
        ({"date": "2025-02-30"}, 30),
        ({"date": "05.03.2025"}, 30),
        ({"from": "2025-03-01", "to": "2025-03-01 23:59:59"}, 28),
        ({"from": "2025-03-01 00:00:00", "to": "2025-03-01T23:59:59"}, 29),
        ({"from": "2025-03-01 25:00:00", "to": "2025-03-01 23:59:59"}, 28),
    ],
)
def test_badly_formatted_dates_are_errors(
    sim: SimulatorServer, http: requests.Session, dates: dict[str, str], code: int
) -> None:
    assert incoming(sim, http, dates).json() == {"error": code}


def test_date_takes_priority_over_from_to(sim: SimulatorServer, http: requests.Session) -> None:
    by_date = records(incoming(sim, http, date=PAST_DAY))
    both = incoming(sim, http, {"date": PAST_DAY, "from": "2025-01-01 00:00:00", "to": "2025-01-01 00:59:59"})
    assert records(both) == by_date


def test_from_to_window_inclusive(sim: SimulatorServer, http: requests.Session, sim_traffic: Traffic) -> None:
    messages = sim_traffic.day(date(2025, 3, 4)) + sim_traffic.day(date(2025, 3, 5))
    first, last = messages[5], messages[-5]
    body = records(incoming(sim, http, {"from": first.date, "to": last.date}))
    expected = [m for m in messages if first.date <= m.date <= last.date]
    assert list(body) == [m.id_sms for m in expected]
    assert first.id_sms in body and last.id_sms in body


def test_today_returns_only_past_messages(
    sim: SimulatorServer, http: requests.Session, sim_traffic: Traffic
) -> None:
    body = records(incoming(sim, http, date=TODAY.isoformat()))
    cut = "2025-03-12 12:30:00"  # NOW in Vilnius
    expected = [m.id_sms for m in sim_traffic.day(TODAY) if m.date <= cut]
    assert list(body) == expected
    assert 0 < len(expected) < len(sim_traffic.day(TODAY))
    window = records(incoming(sim, http, {"from": "2025-03-12 00:00:00", "to": "2025-03-12 23:59:59"}))
    assert list(window) == expected


def test_future_day_is_empty(sim: SimulatorServer, http: requests.Session) -> None:
    assert incoming(sim, http, date="2025-03-13").json() == {"error": 19}


def test_duplicate_params_take_the_last_value(
    sim: SimulatorServer, http: requests.Session, sim_traffic: Traffic
) -> None:
    params = {"login": LOGIN, "timestamp": str(int(NOW.timestamp())), "date": PAST_DAY}
    signature = sign(params)
    query = [("date", "2025-01-01"), *params.items(), ("signature", signature)]
    body = records(http.get(sim.base_url + INCOMING, params=query))
    assert list(body) == [m.id_sms for m in sim_traffic.day(date.fromisoformat(PAST_DAY))]


# -- encodings ------------------------------------------------------------------------------


@pytest.fixture
def tricky_traffic() -> Traffic:
    return Traffic(seed=3, per_day=400, missing_phone_rate=0.3)


def test_json_body_is_php_style_escaped(
    sim: SimulatorServer, http: requests.Session, tricky_traffic: Traffic
) -> None:
    sim.traffic = tricky_traffic
    raw = incoming(sim, http, date=PAST_DAY).content
    assert raw.isascii()
    assert raw.startswith(b'{"') and b'":{"date":"' in raw  # compact: no spaces after : and ,
    assert b"\\/" in raw and b"/" not in raw.replace(b"\\/", b"")
    assert b"\\ud83c\\uddf1\\ud83c\\uddf9" in raw  # the flag as lowercase surrogate pairs
    assert b"\\n" in raw and b"\\t" in raw and b"\\u0105" in raw  # newline, tab and "ą"
    messages = tricky_traffic.day(date.fromisoformat(PAST_DAY))
    reference = json.dumps(
        {m.id_sms: as_record(m) for m in messages}, ensure_ascii=True, separators=(",", ":")
    )
    assert raw == reference.replace("/", "\\/").encode("ascii")
    assert list(json.loads(raw).values()) == [as_record(m) for m in messages]


def test_missing_phone_is_omitted_from_json_and_xml(
    sim: SimulatorServer, http: requests.Session, tricky_traffic: Traffic
) -> None:
    sim.traffic = tricky_traffic
    body = records(incoming(sim, http, date=PAST_DAY))
    assert any("phone" not in record for record in body.values())
    root = DefusedET.fromstring(incoming(sim, http, fmt="xml", date=PAST_DAY).content)
    assert any("phone" not in sms.attrib for sms in root)


def test_xml_attributes_round_trip_newlines_and_unicode(
    sim: SimulatorServer, http: requests.Session, tricky_traffic: Traffic
) -> None:
    sim.traffic = tricky_traffic
    response = incoming(sim, http, fmt="xml", date=PAST_DAY)
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<response>\n<sms ')
    root = DefusedET.fromstring(response.content)
    assert root.tag == "response"
    got = [
        (s.get("id_sms"), s.get("date"), s.get("sender"), s.get("phone"), s.get("prefix"), s.get("text"))
        for s in root.iter("sms")
    ]
    messages = tricky_traffic.day(date.fromisoformat(PAST_DAY))
    assert got == [(m.id_sms, m.date, m.sender, m.phone, m.prefix, m.text) for m in messages]
    texts = "".join(m.text for m in messages)
    assert all(c in texts for c in '\n\t&<>"ą🇱')
    assert b"&#10;" in response.content and b"&#9;" in response.content


def test_xml_from_to_window_matches_json(sim: SimulatorServer, http: requests.Session) -> None:
    window = {"from": "2025-03-04 18:00:00", "to": "2025-03-05 06:00:00"}
    root = DefusedET.fromstring(incoming(sim, http, window, fmt="xml").content)
    assert [s.get("id_sms") for s in root] == list(records(incoming(sim, http, window)))


@pytest.mark.parametrize(
    ("style", "json_body", "xml_body"),
    [
        ("error19", b'{"error":19}', b"<response><error>19</error></response>"),
        ("error19_str", b'{"error":"19"}', b"<response><error>19</error></response>"),
        ("empty_list", b"[]", b"<response></response>"),
        ("empty_object", b"{}", b"<response></response>"),
        ("empty_body", b"", b"<response></response>"),
    ],
)
def test_empty_day_styles(
    sim: SimulatorServer, http: requests.Session, style: str, json_body: bytes, xml_body: bytes
) -> None:
    sim.traffic = Traffic(seed=3, per_day=150, empty_days=frozenset({date(2025, 3, 1)}))
    sim.empty_style = style  # type: ignore[assignment]
    response = incoming(sim, http, date="2025-03-01")
    assert response.status_code == 200
    assert response.content == json_body
    assert response.headers["Content-Length"] == str(len(json_body))
    xml = incoming(sim, http, fmt="xml", date="2025-03-01").content
    assert xml == b'<?xml version="1.0" encoding="utf-8"?>\n' + xml_body


def test_a_warmed_day_is_served_from_its_encoded_body_without_generating_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What makes the benchmarks measure the pipeline, not the simulator (timings live in
    `make bench`, never in tests): after `warm`, a request encodes and generates nothing."""
    traffic = Traffic(seed=1, per_day=2000)
    server = SimulatorServer(traffic, login=LOGIN, api_key=API_KEY, now=lambda: NOW)
    server.warm(date(2025, 3, 1), date(2025, 3, 1))
    expected = traffic.day_messages(date(2025, 3, 1))

    def generated_again(day: date) -> None:
        raise AssertionError(f"{day} generated again")

    monkeypatch.setattr(traffic, "day_messages", generated_again)
    body = server.reply("incoming.php", _signed_params("2025-03-01"), None).body
    assert list(json.loads(body)) == [m.id_sms for m in expected]


def _signed_params(day: str) -> dict[str, str]:
    params = {"login": LOGIN, "timestamp": str(int(NOW.timestamp())), "date": day}
    return {**params, "signature": sign(params)}


def test_encode_json_matches_json_dumps_for_awkward_values() -> None:
    message = SimMessage("1", "2025-01-01 00:00:00", "PAYSERA", None, "", 'a/b "q" \\ \n 😀 ž')
    expected = b'{"1":{"date":"2025-01-01 00:00:00","sender":"PAYSERA","prefix":"",'
    expected += b'"text":"a\\/b \\"q\\" \\\\ \\n \\ud83d\\ude00 \\u017e"}}'
    assert encode_json([message]) == expected


# -- faults ---------------------------------------------------------------------------------


def test_each_fault_kind_is_injected_and_counted(sim: SimulatorServer, http: requests.Session) -> None:
    sim.faults = FaultPlan(script=list(FaultKind), slow_seconds=0.4, retry_after_seconds=7)
    outcomes: dict[FaultKind, str] = {}
    for kind in FaultKind:
        try:
            response = incoming(sim, http, date=PAST_DAY, timeout=0.2)
            outcomes[kind] = f"{response.status_code} {response.content[:80]!r}"
            if kind is FaultKind.RATE_LIMIT:
                assert response.headers["Retry-After"] == "7"
            if kind is FaultKind.HTML:
                assert response.headers["Content-Type"].startswith("text/html")
        except requests.RequestException as exc:
            outcomes[kind] = type(exc).__name__
    assert outcomes[FaultKind.HTTP_500].startswith("500")
    assert outcomes[FaultKind.HTTP_503].startswith("503")
    assert outcomes[FaultKind.RESET] == "ConnectionError"
    assert outcomes[FaultKind.SLOW] == "ReadTimeout"
    assert outcomes[FaultKind.TRUNCATED] == "ChunkedEncodingError"
    assert "Site under maintenance" in outcomes[FaultKind.HTML] and outcomes[FaultKind.HTML].startswith("200")
    assert outcomes[FaultKind.STALE_TIMESTAMP] == "200 b'{\"error\":6}'"
    assert outcomes[FaultKind.RATE_LIMIT].startswith("429")
    assert sim.stats.faults_injected == {kind: 1 for kind in FaultKind}
    # The script is used up: the next request is answered normally.
    assert records(incoming(sim, http, date=PAST_DAY))


def test_slow_fault_answers_normally_to_a_patient_client(
    sim: SimulatorServer, http: requests.Session
) -> None:
    sim.faults = FaultPlan(script=[FaultKind.SLOW], slow_seconds=0.2)
    started = time.perf_counter()
    assert records(incoming(sim, http, date=PAST_DAY, timeout=5))
    assert time.perf_counter() - started >= 0.2


def test_truncated_fault_announces_the_full_length(sim: SimulatorServer) -> None:
    sim.faults = FaultPlan(script=[FaultKind.TRUNCATED])
    full = len(encode_json(sim.traffic.day(date.fromisoformat(PAST_DAY))))
    response = requests.get(sim.base_url + INCOMING, params=_signed_params(PAST_DAY), stream=True, timeout=5)
    assert response.headers["Content-Length"] == str(full)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _ = response.content


def test_fail_dates_always_fail(sim: SimulatorServer, http: requests.Session) -> None:
    sim.faults = FaultPlan(fail_dates={PAST_DAY}, script=[None, None])
    for _ in range(3):
        assert incoming(sim, http, date=PAST_DAY).status_code == 503
    assert records(incoming(sim, http, date="2025-03-04"))
    assert sim.stats.faults_injected[FaultKind.HTTP_503] == 3


def test_fault_rates_are_reproducible_in_count(sim: SimulatorServer) -> None:
    def run() -> int:
        plan = FaultPlan(rates={FaultKind.HTTP_500: 0.3, FaultKind.HTTP_503: 0.1}, seed=5)
        return sum(plan.choose("incoming.php", PAST_DAY) is not None for _ in range(1000))

    first = run()
    assert first == run()
    assert 330 < first < 470


def test_faults_skip_timestamp_unless_enabled(sim: SimulatorServer, http: requests.Session) -> None:
    sim.faults = FaultPlan(rates={FaultKind.HTTP_500: 1.0})
    assert http.get(sim.base_url + TIMESTAMP).status_code == 200
    sim.faults = FaultPlan(rates={FaultKind.HTTP_500: 1.0}, faults_on_timestamp=True)
    assert http.get(sim.base_url + TIMESTAMP).status_code == 500


def test_latency_applies_to_timestamp_too(sim: SimulatorServer, http: requests.Session) -> None:
    sim.faults = FaultPlan(latency_ms=150)
    started = time.perf_counter()
    http.get(sim.base_url + TIMESTAMP)
    assert time.perf_counter() - started >= 0.15


def test_fault_plan_parse_reads_the_cli_form() -> None:
    plan = FaultPlan.parse(
        "http_500=0.1, reset=0.05,latency_ms=100,slow_seconds=0.5,retry_after_seconds=2,"
        "seed=9,fail_dates=2025-01-03+2025-01-04,script=html+none,faults_on_timestamp=true"
    )
    assert plan.rates == {FaultKind.HTTP_500: 0.1, FaultKind.RESET: 0.05}
    assert (plan.latency_ms, plan.slow_seconds, plan.retry_after_seconds, plan.seed) == (100, 0.5, 2, 9)
    assert plan.fail_dates == {"2025-01-03", "2025-01-04"}
    assert plan.script == [FaultKind.HTML, None]
    assert plan.faults_on_timestamp
    for bad in ("nonsense=1", "http_500", "http_500=lots", "http_500=0.8,reset=0.5", "script=boom"):
        with pytest.raises(ValueError):
            FaultPlan.parse(bad)


def test_serve_body_answers_with_exact_bytes_for_its_day_until_cleared(
    sim: SimulatorServer, http: requests.Session
) -> None:
    sim.serve_body(
        b"\xff not json", day=PAST_DAY, status=200, content_type="text/html", headers=(("X-Test", "1"),)
    )
    sim.serve_body(b'{"error": 30}')  # every other request
    canned = incoming(sim, http, date=PAST_DAY, api_key="wrong")  # no signature check either
    assert (canned.status_code, canned.content, canned.headers["X-Test"]) == (200, b"\xff not json", "1")
    assert canned.headers["Content-Type"] == "text/html"
    assert incoming(sim, http, date="2025-03-04").content == b'{"error": 30}'
    sim.serve_body(None)
    assert records(incoming(sim, http, date="2025-03-04"))
    sim.serve_body(None, day=PAST_DAY)
    assert records(incoming(sim, http, date=PAST_DAY))


# -- HTTP behaviour, stats, logging ---------------------------------------------------------


def test_unknown_path_is_404_and_other_methods_405(sim: SimulatorServer, http: requests.Session) -> None:
    assert http.get(sim.base_url + "/external/get/balance.php").status_code == 404
    assert http.post(sim.base_url + INCOMING, data={"a": "b"}).status_code == 405
    assert http.request("PURGE", sim.base_url + INCOMING).status_code == 405
    head = http.head(sim.base_url + TIMESTAMP)
    assert head.status_code == 405 and head.content == b""
    assert http.get(sim.base_url + TIMESTAMP).status_code == 200  # connection still in sync


def test_keep_alive_connection_is_reused(sim: SimulatorServer, http: requests.Session) -> None:
    for _ in range(5):
        http.get(sim.base_url + TIMESTAMP)
        assert records(incoming(sim, http, date=PAST_DAY))
    assert sim.stats.connections == 1


def test_stats_and_log_record_what_the_client_sent(sim: SimulatorServer, http: requests.Session) -> None:
    http.get(sim.base_url + TIMESTAMP)
    incoming(sim, http, date=PAST_DAY)
    incoming(sim, http, api_key="wrong", date="2025-03-04")
    http.get(sim.base_url + "/nope")
    stats = sim.stats
    assert stats.requests == 4
    assert stats.by_endpoint == {"timestamp.php": 1, "incoming.php": 2, "other": 1}
    assert stats.by_status == {200: 3, 404: 1}
    assert [entry["date"] for entry in sim.log] == [PAST_DAY, "2025-03-04"]
    assert sim.log[0]["return"] == "json" and len(sim.log[0]["signature"]) == 32
    stats.reset()
    assert stats.requests == 0 and not stats.by_endpoint and not sim.log


def test_parallel_clients_with_latency_keep_up(sim: SimulatorServer) -> None:
    sim.faults = FaultPlan(latency_ms=100)
    errors: list[BaseException] = []

    def client() -> None:
        try:
            with requests.Session() as session:
                for _ in range(4):
                    assert records(incoming(sim, session, date=PAST_DAY))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    assert not errors
    assert sim.stats.by_endpoint["incoming.php"] == 32
    assert elapsed < 1.5  # 4 sequential requests of ~0.1 s each, the 8 clients in parallel
    assert sim.stats.connections == 8


def test_stop_closes_keep_alive_connections(sim_traffic: Traffic) -> None:
    server = SimulatorServer(sim_traffic, now=lambda: NOW).start()
    with requests.Session() as session:
        assert session.get(server.base_url + TIMESTAMP).status_code == 200
        server.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(server.base_url + TIMESTAMP, timeout=2)


def test_nothing_is_printed_per_request(
    sim: SimulatorServer, http: requests.Session, capfd: pytest.CaptureFixture[str]
) -> None:
    sim.faults = FaultPlan(script=[FaultKind.RESET, FaultKind.TRUNCATED])
    for _ in range(2):
        with pytest.raises(requests.RequestException):
            incoming(sim, http, date=PAST_DAY)
    incoming(sim, http, date=PAST_DAY)
    http.get(sim.base_url + "/missing")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert API_KEY not in repr(sim)


def test_cli_prints_the_url_and_env_but_never_the_key(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-m", "lightsms_pipeline.cli.main", "simulate", "--port", "0", "--days", "3",
         "--per-day", "20", "--api-key", API_KEY, "--login", "cli-login"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        second = process.stdout.readline()
        base_url = second.split("LIGHTSMS_BASE_URL=")[1].split()[0]
        assert base_url in first and "cli-login" in first
        assert requests.get(base_url + TIMESTAMP, timeout=5).status_code == 200
        assert "LIGHTSMS_LOGIN=cli-login" in second
        assert "LIGHTSMS_API_KEY=<the key you passed with --api-key>" in second
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert API_KEY not in first + second + out + err
    assert "Traceback" not in err
