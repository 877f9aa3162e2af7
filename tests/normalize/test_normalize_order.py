"""Rows of a day come sorted by (received_at, id_sms as an integer), whatever the id's size."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from lightsms_pipeline.api.responses import parse_body
from lightsms_pipeline.normalize.incoming import to_incoming_table


def day_order(ids: list[str]) -> list[str]:
    record = {"date": "2025-01-15 12:00:00", "sender": "37061234567", "phone": "5163251632", "text": "hi"}
    body = json.dumps({id_sms: record for id_sms in ids}).encode()  # keyed by id, as LightSMS answers
    raw = parse_body(body, "json")
    table = to_incoming_table(
        raw, account="acc", timezone="Europe/Vilnius", region="LT", fetched_at=datetime.now(UTC)
    )
    return table["id_sms"].to_pylist()


def test_ids_of_a_second_sort_as_integers_of_any_size() -> None:
    big = str(10**21 + 1)
    assert day_order([big, "9" * 20, "10", "9"]) == ["9", "10", "9" * 20, big]


def test_leading_zeros_do_not_move_an_id() -> None:
    assert day_order(["010", "9", "0008", "100"]) == ["0008", "9", "010", "100"]


def test_equal_integers_keep_the_shorter_spelling_first() -> None:
    assert day_order(["007", "11", "7", "010"]) == ["7", "007", "010", "11"]


def test_leading_zeros_are_sorted_even_when_ids_arrive_ascending_by_length() -> None:
    # "9" then "007" ascend as (length, digits), the order the API lists ids in; the leading zero
    # must still move 007 before 9, since 007 is less than 9.
    assert day_order(["5", "9", "007", "010"]) == ["5", "007", "9", "010"]


def test_equal_integers_keep_the_shorter_spelling_first_whichever_arrives_first() -> None:
    # "7" and "007" are one integer: the tie goes to the raw id's (length, digits), so fewer
    # leading zeros first, whatever order the API listed them in.
    assert day_order(["7", "007"]) == ["7", "007"]
    assert day_order(["007", "7"]) == ["7", "007"]
