"""The simulated stop list: `stop_list_answer` pure (no sockets), then the same over HTTP with faults.

Signatures are built by hand with hashlib, never with the code under test.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading

import pytest
import requests
from defusedxml import ElementTree as SafeET
from signed_requests import ACCOUNT, NOW, signed

from lightsms_pipeline.simulator.encoding import Reply
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.stop_list import ADD_TO_STOP, FIND_ON_STOP, StopList, stop_list_answer

LOCAL_NOW = "2025-03-12 12:30:00"
PHONE = "37061234567"


def ask(endpoint: str, params: dict[str, str], stop_list: StopList, code: int = 20) -> Reply:
    return stop_list_answer(
        endpoint, params, ACCOUNT, stop_list, now_epoch=NOW, local_now=LOCAL_NOW, already_listed_code=code
    )


def body(reply: Reply) -> object:
    return json.loads(reply.body)


@pytest.mark.parametrize("endpoint", [FIND_ON_STOP, ADD_TO_STOP])
def test_both_endpoints_check_auth_like_incoming_then_the_phone(endpoint: str) -> None:
    stop_list = StopList()
    good = signed({"phone": PHONE})
    assert body(ask(endpoint, {k: v for k, v in good.items() if k != "signature"}, stop_list)) == {"error": 1}
    assert body(ask(endpoint, {**good, "login": ""}, stop_list)) == {"error": 2}
    assert body(ask(endpoint, {**good, "timestamp": ""}, stop_list)) == {"error": 24}
    assert body(ask(endpoint, {**good, "login": "someone-else"}, stop_list)) == {"error": 7}
    assert body(ask(endpoint, signed({"phone": PHONE}, api_key="wrong"), stop_list)) == {"error": 6}
    assert body(ask(endpoint, signed({"phone": PHONE}, timestamp=NOW - 60), stop_list)) == {"error": 6}
    assert body(ask(endpoint, signed({}), stop_list)) == {"error": 4}
    for bad in ("+37061234567", "3706123", "37061234567x", "1234567890123456", "٣٧٠٦١٢٣٤٥٦٧"):
        assert body(ask(endpoint, signed({"phone": bad}), stop_list)) == {"error": 16}, bad
    assert len(stop_list) == 0 and not stop_list.add_requests


def test_find_answers_empty_object_until_added_then_time_in_and_description() -> None:
    stop_list = StopList()
    assert ask(FIND_ON_STOP, signed({"phone": PHONE}), stop_list).body == b"{}"
    added = body(ask(ADD_TO_STOP, signed({"phone": PHONE}), stop_list))
    assert added == {"id": "4419373"}
    assert body(ask(FIND_ON_STOP, signed({"phone": PHONE}), stop_list)) == {
        "time_in": LOCAL_NOW,
        "description": "Added via API",
    }
    assert stop_list.entries()[PHONE].id == "4419373"


def test_adding_a_listed_number_answers_already_exists_and_keeps_the_first_entry() -> None:
    stop_list = StopList()
    ask(ADD_TO_STOP, signed({"phone": PHONE}), stop_list)
    assert body(ask(ADD_TO_STOP, signed({"phone": PHONE}), stop_list)) == {"error": 20}
    assert body(ask(ADD_TO_STOP, signed({"phone": PHONE}), stop_list, code=34)) == {"error": 34}
    assert len(stop_list) == 1 and stop_list.add_requests[PHONE] == 3
    assert body(ask(ADD_TO_STOP, signed({"phone": "37069999999"}), stop_list)) == {"id": "4419374"}


def test_xml_answers_carry_the_same_facts() -> None:
    stop_list = StopList()
    xml = {"phone": PHONE, "return": "xml"}
    assert SafeET.fromstring(ask(FIND_ON_STOP, signed(xml), stop_list).body).findall("*") == []
    added = SafeET.fromstring(ask(ADD_TO_STOP, signed(xml), stop_list).body)
    assert added.findtext("id") == "4419373"
    found = SafeET.fromstring(ask(FIND_ON_STOP, signed(xml), stop_list).body)
    assert (found.findtext("time_in"), found.findtext("description")) == (LOCAL_NOW, "Added via API")
    refused = SafeET.fromstring(ask(ADD_TO_STOP, signed(xml), stop_list).body)
    assert refused.findtext("error") == "20"


def test_concurrent_adds_of_one_number_create_one_entry() -> None:
    stop_list = StopList()
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(stop_list.add(PHONE, LOCAL_NOW))) for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stop_list) == 1
    assert sum(r is not None for r in results) == 1 and stop_list.add_requests[PHONE] == 16


# --- over HTTP -------------------------------------------------------------------------------------


def http_signed(sim: SimulatorServer, key: str, phone: str) -> dict[str, str]:
    params = {"login": sim.login, "phone": phone, "return": "json", "timestamp": str(int(sim.now_epoch()))}
    joined = "".join(params[name] for name in sorted(params))
    return {**params, "signature": hashlib.md5((joined + key).encode()).hexdigest()}


def test_the_server_serves_both_endpoints_and_keeps_one_list_per_server() -> None:
    with SimulatorServer(login="l", api_key="k") as sim:
        url = f"{sim.base_url}/external/get/"
        assert requests.get(url + FIND_ON_STOP, params=http_signed(sim, "k", PHONE), timeout=5).json() == {}
        assert requests.get(url + ADD_TO_STOP, params=http_signed(sim, "k", PHONE), timeout=5).json() == {
            "id": "4419373"
        }
        found = requests.get(url + FIND_ON_STOP, params=http_signed(sim, "k", PHONE), timeout=5).json()
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", found["time_in"])  # provider-local time
        assert PHONE in sim.stop_list and sim.stats.by_endpoint[ADD_TO_STOP] == 1


@pytest.mark.parametrize("kind", [FaultKind.HTTP_500, FaultKind.RESET])
def test_faults_hit_the_stop_list_endpoints_as_they_hit_incoming(kind: FaultKind) -> None:
    with SimulatorServer(login="l", api_key="k", faults=FaultPlan(script=[kind])) as sim:
        url = f"{sim.base_url}/external/get/{ADD_TO_STOP}"
        if kind is FaultKind.RESET:
            with pytest.raises(requests.ConnectionError):
                requests.get(url, params=http_signed(sim, "k", PHONE), timeout=5)
        else:
            assert requests.get(url, params=http_signed(sim, "k", PHONE), timeout=5).status_code == 500
        assert PHONE not in sim.stop_list  # the fault came before the request was served
        assert requests.get(url, params=http_signed(sim, "k", PHONE), timeout=5).json() == {"id": "4419373"}


def test_apply_then_reset_adds_the_number_and_loses_the_answer() -> None:
    plan = FaultPlan(fail_pushes={PHONE: FaultKind.APPLY_THEN_RESET})
    with SimulatorServer(login="l", api_key="k", faults=plan) as sim:
        url = f"{sim.base_url}/external/get/"
        with pytest.raises(requests.ConnectionError):
            requests.get(url + ADD_TO_STOP, params=http_signed(sim, "k", PHONE), timeout=5)
        assert PHONE in sim.stop_list and sim.stop_list.add_requests[PHONE] == 1
        # Only pushes of that number are hit: its lookup and other numbers' pushes answer.
        assert (
            "time_in"
            in requests.get(url + FIND_ON_STOP, params=http_signed(sim, "k", PHONE), timeout=5).json()
        )
        other = requests.get(url + ADD_TO_STOP, params=http_signed(sim, "k", "37069999999"), timeout=5)
        assert other.json() == {"id": "4419374"}
