"""Reading find_on_stop.php and add2stop.php bodies: every documented shape, the inconsistent
one, errors, and bodies refused with a typed problem (pure, no HTTP)."""

from __future__ import annotations

import pytest

from lightsms_pipeline.api.responses import ApiErrorCode, ResponseProblem
from lightsms_pipeline.api.stop_list import StopListEntry, parse_add_to_stop, parse_find_on_stop

FOUND = StopListEntry("2024-08-29 11:07:43", "Added via API")


@pytest.mark.parametrize(
    "body", [b"{}", b"[]", b"", b"  \n", b"null", b'{"error":19}', b"<response></response>"]
)
def test_an_empty_answer_means_the_number_is_not_listed(body: bytes) -> None:
    assert parse_find_on_stop(body) is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"time_in":"2024-08-29 11:07:43","description":"Added via API"}',
        b'{"blacklisted":true,"added_at":"2024-08-29 11:07:43","description":"Added via API"}',
        b'<?xml version="1.0" encoding="utf-8"?>\n<response><time_in>2024-08-29 11:07:43</time_in>'
        b"<description>Added via API</description></response>",
    ],
)
def test_a_listed_number_reads_its_time_in_and_description(body: bytes) -> None:
    assert parse_find_on_stop(body) == FOUND


def test_a_missing_description_is_empty_and_blacklisted_false_is_not_listed() -> None:
    assert parse_find_on_stop(b'{"time_in":"2024-08-29 11:07:43"}') == StopListEntry(
        "2024-08-29 11:07:43", ""
    )
    assert parse_find_on_stop(b'{"blacklisted":false}') is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"id":"4419373"}', "4419373"),
        (b'{"id":4419373}', "4419373"),
        (b"<response><id>4419373</id></response>", "4419373"),
        (b'{"error":20}', ApiErrorCode(20)),
        (b'{"error":"34"}', ApiErrorCode(34)),
        (b'{"":{"error":16}}', ApiErrorCode(16)),
        (b"<response><error>13</error></response>", ApiErrorCode(13)),
    ],
)
def test_add_reads_the_new_id_or_the_error(body: bytes, expected: object) -> None:
    assert parse_add_to_stop(body) == expected


@pytest.mark.parametrize(
    ("body", "retryable"),
    [
        (b'{"id":"4419373"', True),  # cut off by the network
        (b"<!DOCTYPE html><html><body>maintenance</body></html>", True),
        (b'{"id":true}', False),
        (b'{"id":"44a"}', False),
        (b"{}", False),
        (b'{"id":"1","id":"2"}', False),
        (b'{"id":"1","error":20}', False),
        (b"<response><id>1</id><error>20</error></response>", False),
        (b'<!DOCTYPE r [<!ENTITY e "x">]><response><id>&e;</id></response>', False),
    ],
)
def test_add_refuses_what_it_cannot_read_exactly(body: bytes, retryable: bool) -> None:
    with pytest.raises(ResponseProblem) as problem:
        parse_add_to_stop(body)
    assert problem.value.retryable is retryable


@pytest.mark.parametrize(
    "body",
    [b'{"time_in":5}', b'{"description":"x"}', b'["x"]', b'{"blacklisted":"yes"}', b"<error>1</error>"],
)
def test_find_refuses_an_entry_it_cannot_read(body: bytes) -> None:
    with pytest.raises(ResponseProblem):
        parse_find_on_stop(body)


def test_find_passes_other_errors_through() -> None:
    assert parse_find_on_stop(b'{"error":6}') == ApiErrorCode(6)
    assert parse_find_on_stop(b"<response><error>16</error></response>") == ApiErrorCode(16)
