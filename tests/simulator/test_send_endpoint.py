"""The simulated send.php: `send_answer` pure (no sockets), then over HTTP with its faults.

Signatures are built by hand with hashlib (signed_requests.py), never with the code under test;
whether an SMS went out is read from the simulator's sent log, never from the answer.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime

import pytest
import requests
from defusedxml import ElementTree as SafeET
from signed_requests import ACCOUNT, NOW, signed

from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.send import SendPolicy, SentLog, send_answer
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.stop_list import StopList

PHONE = "37061234567"
OTHER = "37069876543"
SENDER = "MyBrand"


def ask(
    params: dict[str, str], *, stop_list: StopList | None = None, log: SentLog | None = None, **policy
) -> tuple[object, SentLog]:
    log = log if log is not None else SentLog()
    reply = send_answer(params, ACCOUNT, stop_list or StopList(), log, SendPolicy(**policy), now_epoch=NOW)
    return json.loads(reply.body), log


def send_params(**extra: str) -> dict[str, str]:
    return signed({"phone": PHONE, "text": "Hello", "sender": SENDER, **extra})


def test_auth_is_checked_like_every_signed_call_and_sends_nothing() -> None:
    good = send_params()
    log = SentLog()
    assert ask({k: v for k, v in good.items() if k != "signature"}, log=log)[0] == {"error": 1}
    assert ask({**good, "login": ""}, log=log)[0] == {"error": 2}
    assert ask({**good, "timestamp": ""}, log=log)[0] == {"error": 24}
    assert ask({**good, "login": "someone-else"}, log=log)[0] == {"error": 7}
    assert ask({**good, "text": "Changed after signing"}, log=log)[0] == {"error": 6}
    assert ask(signed({"phone": PHONE, "text": "x", "sender": SENDER}, timestamp=NOW - 60), log=log)[0] == {
        "error": 6
    }
    assert len(log) == 0


def test_a_sent_message_is_answered_by_phone_with_string_fields_and_logged_on_the_clock() -> None:
    answer, log = ask(send_params())
    (sent,) = log.messages()
    assert answer == {PHONE: {"error": "0", "id_sms": sent.id_sms, "cost": "0.0144", "count_sms": "1"}}
    assert len(sent.id_sms) == 22 and sent.id_sms.isdigit()
    assert (sent.login, sent.phone, sent.text, sent.sender) == (ACCOUNT.login, PHONE, "Hello", SENDER)
    assert sent.sent_at == datetime.fromtimestamp(NOW, UTC) and sent.sent_at.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "parts"),
    [("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("ж" * 70, 1), ("ж" * 71, 2)],
)
def test_count_sms_and_cost_follow_the_parts_of_the_text(text: str, parts: int) -> None:
    answer, _ = ask(signed({"phone": PHONE, "text": text, "sender": SENDER}))
    assert answer[PHONE]["count_sms"] == str(parts)  # type: ignore[index]
    assert answer[PHONE]["cost"] == f"{0.0144 * parts:.4f}"  # type: ignore[index]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"phone": ""}, 4),
        ({"phone": ",".join(str(37060000000 + n) for n in range(51))}, 14),
        ({"sender": ""}, 5),
        ({"sender": "A sender name too long"}, 8),
        ({"sender": "Unknown"}, 9),
        ({"sender": "Pending"}, 10),
    ],
)
def test_request_level_errors_answer_one_error_and_send_nothing(change: dict[str, str], code: int) -> None:
    params = signed({"phone": PHONE, "text": "Hello", "sender": SENDER, **change})
    answer, log = ask(params, pending_senders={"Pending"})
    assert answer == {"error": code}
    assert len(log) == 0


def test_fifty_numbers_are_allowed() -> None:
    phones = [str(37060000000 + n) for n in range(50)]
    answer, log = ask(signed({"phone": ",".join(phones), "text": "Hello", "sender": SENDER}))
    assert sorted(answer) == phones  # type: ignore[arg-type]
    assert [m.phone for m in log.messages()] == phones


def test_per_phone_errors_refuse_that_phone_and_send_to_the_others() -> None:
    stop_list = StopList()
    stop_list.preload("37060000034", "2025-03-01 10:00:00")
    phones = [PHONE, "3706123", "+37061234568", "37060000013", "37060000034", "37060000031"]
    params = signed({"phone": ",".join(phones), "text": "Hello", "sender": SENDER})
    answer, log = ask(
        params, stop_list=stop_list, blacklist={"37060000013"}, phone_errors={"37060000031": 31}
    )
    errors = {phone: entry["error"] for phone, entry in answer.items()}  # type: ignore[union-attr]
    assert errors == {
        PHONE: "0",
        "3706123": "16",
        "+37061234568": "16",
        "37060000013": "13",
        "37060000034": "34",
        "37060000031": "31",
    }
    assert answer["3706123"] == {"error": "16"}  # type: ignore[index]
    assert [m.phone for m in log.messages()] == [PHONE]


def test_a_missing_text_is_error_3_for_every_phone() -> None:
    answer, log = ask(signed({"phone": f"{PHONE},{OTHER}", "sender": SENDER}))
    assert answer == {PHONE: {"error": "3"}, OTHER: {"error": "3"}}
    assert len(log) == 0


def test_xml_answers_per_phone_and_errors_in_response() -> None:
    params = signed({"phone": f"{PHONE},123", "text": "Hello", "sender": SENDER, "return": "xml"})
    log = SentLog()
    reply = send_answer(params, ACCOUNT, StopList(), log, SendPolicy(), now_epoch=NOW)
    root = SafeET.fromstring(reply.body)
    phones = {el.get("phone"): dict(el.attrib) for el in root.find("phones")}
    assert phones[PHONE] == {
        "phone": PHONE,
        "error": "0",
        "id_sms": log.messages()[0].id_sms,
        "cost": "0.0144",
        "count_sms": "1",
    }
    assert phones["123"] == {"phone": "123", "error": "16"}
    unknown_sender = signed({"phone": PHONE, "text": "Hi", "sender": "Unknown", "return": "xml"})
    refused = send_answer(unknown_sender, ACCOUNT, StopList(), log, SendPolicy(), now_epoch=NOW)
    assert SafeET.fromstring(refused.body).find("error").text == "9"
    assert len(log) == 1


# --- over HTTP: routing, the stop list's state, faults -------------------------------------------


LOGIN, KEY = "http-login", "http-key-0123456789"


def http_params(server: SimulatorServer, **params: str) -> dict[str, str]:
    params = {"login": LOGIN, "timestamp": str(int(server.now_epoch())), "return": "json", **params}
    joined = "".join(params[name] for name in sorted(params))
    return {**params, "signature": hashlib.md5((joined + KEY).encode()).hexdigest()}


def get(server: SimulatorServer, endpoint: str, **params: str) -> requests.Response:
    return requests.get(
        f"{server.base_url}/external/get/{endpoint}", params=http_params(server, **params), timeout=5
    )


@pytest.fixture
def server():
    with SimulatorServer(login=LOGIN, api_key=KEY, faults=FaultPlan(slow_seconds=0.5)) as running:
        yield running


def test_a_number_added_with_add2stop_is_refused_with_34(server: SimulatorServer) -> None:
    assert get(server, "send.php", phone=PHONE, text="Hi", sender=SENDER).json()[PHONE]["error"] == "0"
    assert get(server, "add2stop.php", phone=PHONE).json() == {"id": "4419373"}
    assert get(server, "send.php", phone=PHONE, text="Hi", sender=SENDER).json() == {PHONE: {"error": "34"}}
    assert len(server.sent_messages()) == 1


def test_the_sent_log_holds_the_servers_clock_with_its_skew(server: SimulatorServer) -> None:
    server.clock_skew_seconds = 3600.0
    before = datetime.now(UTC).timestamp() + 3600
    answer = get(server, "send.php", phone=PHONE, text="Hi", sender=SENDER).json()
    (sent,) = server.sent_messages()
    assert answer[PHONE]["id_sms"] == sent.id_sms
    assert before - 1 <= sent.sent_at.timestamp() <= datetime.now(UTC).timestamp() + 3601


@pytest.mark.parametrize(
    ("kind", "sent"),
    [
        (FaultKind.HTTP_500, 0),
        (FaultKind.HTTP_503, 0),
        (FaultKind.RATE_LIMIT, 0),
        (FaultKind.HTML, 0),
        (FaultKind.STALE_TIMESTAMP, 0),
        (FaultKind.RESET, 0),
        (FaultKind.APPLY_THEN_RESET, 1),
        (FaultKind.APPLY_THEN_500, 1),
        (FaultKind.APPLY_THEN_MALFORMED, 1),
        (FaultKind.TRUNCATED, 1),
        (FaultKind.APPLY_THEN_SLOW, 1),
        (FaultKind.SLOW, 1),
    ],
)
def test_faults_before_the_answer_send_nothing_and_faults_after_it_send_once(
    server: SimulatorServer, kind: FaultKind, sent: int
) -> None:
    assert server.faults is not None
    server.faults.fail_sends = {PHONE: kind}
    try:
        response = get(server, "send.php", phone=PHONE, text="Hi", sender=SENDER)
    except requests.RequestException:
        response = None
    if kind in (FaultKind.SLOW, FaultKind.APPLY_THEN_SLOW):
        assert response is not None and response.json()[PHONE]["error"] == "0"  # late, but whole
    elif kind is FaultKind.APPLY_THEN_500:
        assert response is not None and response.status_code == 500
    elif kind is FaultKind.APPLY_THEN_MALFORMED:
        assert response is not None and response.status_code == 200
        with pytest.raises(ValueError):
            response.json()
    deadline = time.monotonic() + 5
    while len(server.sent_messages()) < sent and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(server.sent_messages()) == sent
    assert server.stats.faults_injected[kind] == 1


def test_fail_sends_hits_only_its_number(server: SimulatorServer) -> None:
    assert server.faults is not None
    server.faults.fail_sends = {PHONE: FaultKind.HTTP_500}
    assert get(server, "send.php", phone=OTHER, text="Hi", sender=SENDER).json()[OTHER]["error"] == "0"
    assert get(server, "send.php", phone=PHONE, text="Hi", sender=SENDER).status_code == 500
    assert [m.phone for m in server.sent_messages()] == [OTHER]


def test_each_login_is_refused_by_its_own_stop_list(server: SimulatorServer) -> None:
    other = server.add_login("second", "second-key")
    other.stop_list.preload(PHONE, "2025-03-01 10:00:00")
    assert get(server, "send.php", phone=PHONE, text="Hi", sender=SENDER).json()[PHONE]["error"] == "0"
    params = {"login": "second", "timestamp": str(int(server.now_epoch())), "phone": PHONE}
    params.update(text="Hi", sender=SENDER)
    joined = "".join(params[name] for name in sorted(params))
    params["signature"] = hashlib.md5((joined + "second-key").encode()).hexdigest()
    answer = requests.get(f"{server.base_url}/external/get/send.php", params=params, timeout=5).json()
    assert answer == {PHONE: {"error": "34"}}
    assert [m.login for m in server.sent_messages()] == [LOGIN]


def test_send_php_is_routed_and_answers_json_per_phone(server: SimulatorServer) -> None:
    response = get(server, "send.php", phone="123", text="Hi", sender=SENDER)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"123": {"error": "16"}}
