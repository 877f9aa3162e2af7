"""`send_sms` over HTTP to the simulator: one attempt, and the right state for every answer and
fault. Whether the SMS went out is read from the simulator's sent log, never from the outcome."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from conftest import API_KEY, FAST_RETRY, LOGIN

from lightsms_pipeline.api.client import LightSMSClient, RetryPolicy
from lightsms_pipeline.api.send import SendOutcome, parse_send, send_sms
from lightsms_pipeline.api.stop_list import add_to_stop
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.send import SendPolicy
from lightsms_pipeline.simulator.server import SimulatorServer

NUMBER = "+37061234567"
DIGITS = NUMBER[1:]
SENDER = "MyBrand"
LABEL = "h:" + "abcdef" * 5 + "ab"  # a hash with no digit in it, so any digit found leaked


def sends(simulator: SimulatorServer) -> int:
    return simulator.stats.by_endpoint["send.php"]


def test_a_sent_sms_carries_the_providers_id_cost_and_parts(client, simulator) -> None:
    outcome = send_sms(client, phone=NUMBER, text="Ж" * 71, sender=SENDER)
    (sent,) = simulator.sent_messages()
    assert outcome == SendOutcome("sent", 0, sent.id_sms, "0.0288", 2)
    assert (sent.phone, sent.text, sent.sender, len(sent.id_sms)) == (DIGITS, "Ж" * 71, SENDER, 22)


def test_xml_answers_read_the_same(simulator: SimulatorServer) -> None:
    with LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=FAST_RETRY, response_format="xml") as xml:
        outcome = send_sms(xml, phone=NUMBER, text="Hello", sender=SENDER)
        assert outcome == SendOutcome("sent", 0, simulator.sent_messages()[0].id_sms, "0.0144", 1)
        assert send_sms(xml, phone=NUMBER, text="Hello", sender="Unknown").error_code == 9
        simulator.stop_list.preload(DIGITS, "2025-03-01 10:00:00")
        assert send_sms(xml, phone=NUMBER, text="Hello", sender=SENDER).error_code == 34
    assert len(simulator.sent_messages()) == 1


def test_a_number_pushed_to_the_stop_list_is_refused_with_34(client, simulator) -> None:
    add_to_stop(client, NUMBER)
    outcome = send_sms(client, phone=NUMBER, text="Hello", sender=SENDER)
    assert (outcome.state, outcome.error_code) == ("refused", 34)
    assert "34" in outcome.detail and "stop list" in outcome.detail
    assert simulator.sent_messages() == []


@pytest.mark.parametrize(
    ("phone", "text", "sender", "code"),
    [
        (NUMBER, "", SENDER, 3),
        ("+3706123", "Hello", SENDER, 16),
        ("+37060000013", "Hello", SENDER, 13),
        ("+37060000031", "Hello", SENDER, 31),
        ("+37060000032", "Hello", SENDER, 32),
        (NUMBER, "Hello", "", 5),
        (NUMBER, "Hello", "Far too long a sender", 8),
        (NUMBER, "Hello", "Unknown", 9),
        (NUMBER, "Hello", "Pending", 10),
    ],
)
def test_per_phone_and_request_level_errors_are_refused_with_their_code(
    client, simulator, phone: str, text: str, sender: str, code: int
) -> None:
    simulator.send_policy = SendPolicy(
        pending_senders={"Pending"},
        blacklist={"37060000013"},
        phone_errors={"37060000031": 31, "37060000032": 32},
    )
    outcome = send_sms(client, phone=phone, text=text, sender=sender)
    assert (outcome.state, outcome.error_code) == ("refused", code)
    assert simulator.sent_messages() == [] and sends(simulator) == 1


def test_a_phone_that_is_not_digits_is_refused_before_any_request(client, simulator) -> None:
    with pytest.raises(ValueError, match="digits"):
        send_sms(client, phone="MyBank", text="Hello", sender=SENDER)
    assert sends(simulator) == 0


# What each fault leaves: the state, and whether the simulator sent the SMS (it decides, not us).
FAULTS = [
    (FaultKind.HTTP_500, "unknown", 0),  # refused before sending, but the client cannot know
    (FaultKind.HTTP_503, "unknown", 0),
    (FaultKind.HTML, "unknown", 0),
    (FaultKind.RESET, "unknown", 0),
    (FaultKind.RATE_LIMIT, "not_sent", 0),  # 429: refused, not processed
    (FaultKind.APPLY_THEN_RESET, "unknown", 1),
    (FaultKind.APPLY_THEN_500, "unknown", 1),
    (FaultKind.APPLY_THEN_MALFORMED, "unknown", 1),
    (FaultKind.TRUNCATED, "unknown", 1),
    (FaultKind.APPLY_THEN_SLOW, "unknown", 1),  # sent, answered after the client gave up
    (FaultKind.SLOW, "unknown", 1),  # sent after the client gave up
]


@pytest.mark.parametrize(("kind", "state", "sent"), FAULTS, ids=[kind.value for kind, _, _ in FAULTS])
def test_each_fault_gives_its_state_in_one_request_and_the_sms_goes_out_at_most_once(
    simulator: SimulatorServer, kind: FaultKind, state: str, sent: int
) -> None:
    simulator.faults = FaultPlan(fail_sends={DIGITS: kind}, slow_seconds=1.0)
    fast = RetryPolicy(attempts=4, backoff_initial=0.01, backoff_max=0.05, read_timeout=0.4)
    with LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=fast) as client:
        outcome = send_sms(client, phone=NUMBER, text="Hello", sender=SENDER)
    assert outcome.state == state, outcome.detail
    assert outcome.provider_id is None and outcome.error_code is None and outcome.detail
    assert sends(simulator) == 1  # never retried: a retry after a lost answer could send twice
    deadline = time.monotonic() + 3
    while len(simulator.sent_messages()) < sent and time.monotonic() < deadline:
        time.sleep(0.02)  # a slow answer's SMS goes out after the client gave up
    assert len(simulator.sent_messages()) == sent


def test_a_stale_timestamp_is_signed_afresh_once_and_sends_once(client, simulator) -> None:
    send_sms(client, phone=NUMBER, text="warm-up", sender=SENDER)  # the server time is cached
    simulator.faults = FaultPlan(script=[FaultKind.STALE_TIMESTAMP])
    outcome = send_sms(client, phone=NUMBER, text="Hello", sender=SENDER)
    assert outcome.state == "sent"
    assert sends(simulator) == 3 and len(simulator.sent_messages()) == 2  # error 6 sent nothing


def test_a_timestamp_refused_twice_is_refused_with_6(client, simulator) -> None:
    simulator.faults = FaultPlan(script=[FaultKind.STALE_TIMESTAMP, FaultKind.STALE_TIMESTAMP])
    outcome = send_sms(client, phone=NUMBER, text="Hello", sender=SENDER)
    assert (outcome.state, outcome.error_code) == ("refused", 6)
    assert sends(simulator) == 2 and simulator.sent_messages() == []


def test_a_refused_connection_to_send_php_is_not_sent(client, simulator) -> None:
    client.server_time_offset()  # the server time is cached: send.php is the request that fails
    simulator.stop()
    outcome = send_sms(client, phone=NUMBER, text="Hello", sender=SENDER)
    assert outcome.state == "not_sent", outcome.detail
    assert simulator.sent_messages() == []


def test_a_closed_port_is_not_sent(client, simulator) -> None:
    client.server_time_offset()  # cached: send.php itself is the request refused
    with socket.socket() as sock:  # a port bound by nobody listening: the connection is refused
        sock.bind(("127.0.0.1", 0))
        client.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        outcome = send_sms(client, phone=NUMBER, text="Hello", sender=SENDER)
        assert outcome.state == "not_sent", outcome.detail
        assert "never reached" in outcome.detail
    assert sends(simulator) == 0


def test_without_the_server_time_send_php_is_never_asked() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with LightSMSClient(url, LOGIN, API_KEY, retry=FAST_RETRY) as client:
            outcome = send_sms(client, phone=NUMBER, text="Hello", sender=SENDER)
    assert outcome.state == "not_sent" and "timestamp.php" in outcome.detail


def test_an_unresolvable_host_is_not_sent(client) -> None:
    client.server_time_offset()
    client.base_url = "http://lightsms.invalid"
    outcome = send_sms(client, phone=NUMBER, text="Hello", sender=SENDER)
    assert outcome.state == "not_sent", outcome.detail


def test_the_key_and_with_a_label_the_number_reach_no_detail_and_no_log(
    simulator: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fast = RetryPolicy(attempts=2, backoff_initial=0.01, backoff_max=0.05, read_timeout=0.4)
    details = []
    with LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=fast) as client:
        for kind, _, _ in [*FAULTS, (None, "", 0)]:
            simulator.faults = FaultPlan(fail_sends={} if kind is None else {DIGITS: kind}, slow_seconds=0.6)
            details.append(send_sms(client, phone=NUMBER, text="Hello", sender=SENDER, label=LABEL).detail)
        details.append(send_sms(client, phone=NUMBER, text="Hello", sender="Unknown", label=LABEL).detail)
    words = "\n".join([*details, *(r.getMessage() for r in caplog.records)])
    assert LABEL in words
    assert API_KEY not in words
    assert DIGITS not in words and DIGITS[3:] not in words


def test_an_answer_for_another_number_or_several_is_malformed() -> None:
    one = parse_send(
        b'{"0037061234567": {"error": "0", "id_sms": "1", "cost": "1", "count_sms": "1"}}', DIGITS
    )
    assert one.id_sms == "1"  # type: ignore[union-attr]  # one asked, one answered: that one
    with pytest.raises(ValueError, match="none for the number asked"):
        parse_send(b'{"1": {"error": "0"}, "2": {"error": "0"}}', DIGITS)
    with pytest.raises(ValueError, match="id_sms"):
        parse_send(b'{"37061234567": {"error": "0", "cost": "0.0144", "count_sms": "1"}}', DIGITS)
