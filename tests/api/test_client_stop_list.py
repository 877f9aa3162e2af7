"""`find_on_stop` / `add_to_stop` over HTTP to the simulator: signed, retried, and
once in effect when an answer is lost."""

from __future__ import annotations

import logging

import pytest
from conftest import API_KEY, FAST_RETRY, LOGIN

from lightsms_pipeline.api.client import LightSMSClient
from lightsms_pipeline.api.stop_list import StopListEntry, StopListPush, add_to_stop, find_on_stop
from lightsms_pipeline.errors import AuthenticationError, BadRequestError, UnavailableError
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer

NUMBER = "+37061234567"
DIGITS = NUMBER[1:]
LABEL = "h:" + "abcdef" * 5 + "ab"  # a hash with no digit in it, so any digit found leaked


def test_an_unlisted_number_is_added_once_with_the_providers_id(client: LightSMSClient, simulator) -> None:
    assert find_on_stop(client, NUMBER) is None
    push = add_to_stop(client, NUMBER)
    assert push == StopListPush(
        already_listed=False, provider_answer=simulator.stop_list.entries()[DIGITS].id
    )
    found = find_on_stop(client, NUMBER)
    assert isinstance(found, StopListEntry) and found.time_in == simulator.stop_list.entries()[DIGITS].time_in
    assert simulator.stop_list.add_requests[DIGITS] == 1


@pytest.mark.parametrize("code", [20, 13, 34])
def test_already_exists_reads_as_listed_with_the_entrys_time(client, simulator, code: int) -> None:
    simulator.already_listed_code = code
    simulator.stop_list.preload(DIGITS, "2024-08-29 11:07:43")
    assert add_to_stop(client, NUMBER) == StopListPush(
        already_listed=True, provider_answer="2024-08-29 11:07:43"
    )
    assert simulator.stop_list.add_requests[DIGITS] == 1 and len(simulator.stop_list) == 1


@pytest.mark.parametrize("kind", [FaultKind.APPLY_THEN_RESET, FaultKind.HTTP_503])
def test_a_push_whose_answer_was_lost_is_found_by_the_lookup_not_added_again(client, simulator, kind) -> None:
    if kind is FaultKind.APPLY_THEN_RESET:
        simulator.faults = FaultPlan(fail_pushes={DIGITS: kind})  # applied, then the connection reset
    else:
        simulator.faults = FaultPlan(script=[kind])  # refused before anything happened
    push = add_to_stop(client, NUMBER)
    assert simulator.stop_list.add_requests[DIGITS] == 1  # once in effect, whatever the fault
    assert push.already_listed is (kind is FaultKind.APPLY_THEN_RESET)
    assert len(simulator.stop_list) == 1


def test_xml_answers_read_the_same(simulator: SimulatorServer) -> None:
    with LightSMSClient(
        simulator.base_url, LOGIN, API_KEY, retry=FAST_RETRY, response_format="xml"
    ) as client:
        assert find_on_stop(client, NUMBER) is None
        assert add_to_stop(client, NUMBER).provider_answer == "4419373"
        assert find_on_stop(client, NUMBER) == StopListEntry(
            simulator.stop_list.entries()[DIGITS].time_in, "Added via API"
        )


def test_errors_name_the_endpoint_and_the_label_never_the_digits_or_the_key(
    simulator: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lightsms_pipeline")
    simulator.faults = FaultPlan(fail_pushes={DIGITS: FaultKind.HTTP_503})
    with LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=FAST_RETRY) as client:
        with pytest.raises(UnavailableError) as unavailable:
            add_to_stop(client, NUMBER, label=LABEL)
        with pytest.raises(BadRequestError) as invalid:
            find_on_stop(client, "+123", label=LABEL)  # too short: error 16
    with (
        LightSMSClient(simulator.base_url, LOGIN, "wrong-key", retry=FAST_RETRY) as wrong,
        pytest.raises(AuthenticationError) as refused,
    ):
        find_on_stop(wrong, NUMBER, label=LABEL)
    assert "add2stop.php" in str(unavailable.value) and LABEL in str(unavailable.value)
    assert invalid.value.code == 16 and "find_on_stop.php" in str(invalid.value)
    assert refused.value.code == 6 and "LIGHTSMS_API_KEY" in str(refused.value)
    texts = [str(unavailable.value), str(invalid.value), str(refused.value), caplog.text]
    assert "retrying" in caplog.text
    assert not [t for t in texts if DIGITS[-7:] in t or API_KEY in t or "wrong-key" in t]
    assert len(simulator.stop_list) == 0


def test_a_number_that_is_not_digits_is_refused_before_any_request(client, simulator) -> None:
    with pytest.raises(ValueError, match="digits"):
        add_to_stop(client, "PAYSERA")
    assert simulator.stats.requests == 0


def test_urllib3s_debug_line_of_a_stop_list_request_hides_the_number(client, caplog) -> None:
    """urllib3 logs each request's URL at DEBUG, and a stop-list URL carries `phone=`: with a
    salt the number must reach no log, and a user's DEBUG logging must not undo that."""
    caplog.set_level(logging.DEBUG, logger="urllib3")
    find_on_stop(client, NUMBER, label=LABEL)
    add_to_stop(client, NUMBER, label=LABEL)
    lines = [r.getMessage() for r in caplog.records if r.name == "urllib3.connectionpool"]
    assert any("find_on_stop.php" in line and "phone=***" in line for line in lines)
    assert any("add2stop.php" in line and "phone=***" in line for line in lines)
    assert not [line for line in lines if DIGITS in line]
