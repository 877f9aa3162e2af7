"""docs/rules.md §4: one vote per subscriber per poll; superseded and invalid counted for audit."""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa
import pytest
from message_tables import (
    LUNCH_POLL,
    TZ,
    as_read_with_dictionaries,
    classified_rows,
    local,
    rules_with,
    synthetic_classified,
)

from lightsms_pipeline.rules import (
    POLL_RESULTS_SCHEMA,
    classified_schema,
    poll_results,
    poll_results_columns,
    poll_results_filter,
    poll_vote_details,
    poll_vote_details_schema,
)

LUNCH = rules_with(polls=[LUNCH_POLL])
FIRST = rules_with(polls=[dict(LUNCH_POLL, count="first")])
ALICE = "37061234567"
BOB = "37069999999"
CAROL = "37068888888"


def results(rows: list[dict[str, Any]], rules: Any = LUNCH) -> list[dict[str, Any]]:
    return poll_results(classified_rows(rows, rules), rules).to_pylist()


def tally(rows: list[dict[str, Any]], rules: Any = LUNCH) -> dict[str, int]:
    return {row["option"]: row["votes"] for row in results(rows, rules)}


def per_poll(rows: list[dict[str, Any]], rules: Any = LUNCH) -> tuple[int, int, int]:
    first = results(rows, rules)[0]
    return first["voters"], first["superseded"], first["invalid"]


def result_row(option: str, label: str, votes: int, share: float, **per_poll: int) -> dict[str, Any]:
    return {"poll_id": "lunch", "option": option, "label": label, "votes": votes, "share": share} | per_poll


def test_every_declared_option_has_a_row_with_zero_votes_where_none_came() -> None:
    rows = [
        {"text": "A", "sender": ALICE, "at": "2025-01-15 09:00:00"},
        {"text": "pizza", "sender": BOB, "at": "2025-01-15 09:00:00"},
        {"text": "Soup!", "sender": CAROL, "at": "2025-01-15 09:00:00"},
        {"text": "hello", "sender": CAROL, "at": "2025-01-15 09:00:00"},
    ]
    counts = {"voters": 3, "superseded": 0, "invalid": 1}
    assert results(rows) == [
        result_row("A", "Pizza", 2, 2 / 3, **counts),
        result_row("B", "Salad", 0, 0.0, **counts),
        result_row("C", "Soup", 1, 1 / 3, **counts),
        result_row("D", "Sushi", 0, 0.0, **counts),
    ]


def test_a_poll_without_votes_has_zero_shares() -> None:
    assert [(r["votes"], r["share"], r["voters"]) for r in results([])] == [(0, 0.0, 0)] * 4


def test_the_last_vote_of_a_subscriber_counts_by_default() -> None:
    rows = [
        {"text": "A", "at": "2025-01-12 09:00:00"},
        {"text": "B", "at": "2025-01-14 09:00:00"},
        {"text": "C", "at": "2025-01-13 09:00:00"},
    ]
    assert tally(rows) == {"A": 0, "B": 1, "C": 0, "D": 0}
    assert per_poll(rows) == (1, 2, 0)


def test_count_first_counts_the_first_vote() -> None:
    rows = [
        {"text": "A", "at": "2025-01-12 09:00:00"},
        {"text": "B", "at": "2025-01-14 09:00:00"},
        {"text": "C", "at": "2025-01-11 09:00:00"},
    ]
    assert tally(rows, FIRST) == {"A": 0, "B": 0, "C": 1, "D": 0}
    assert per_poll(rows, FIRST) == (1, 2, 0)


def test_votes_in_the_same_second_are_ordered_by_id_sms_as_integer() -> None:
    rows = [{"id_sms": "10", "text": "A"}, {"id_sms": "9", "text": "B"}]
    assert tally(rows) == {"A": 1, "B": 0, "C": 0, "D": 0}
    assert tally(rows, FIRST) == {"A": 0, "B": 1, "C": 0, "D": 0}


def test_votes_with_ids_beyond_64_bits_are_ordered_as_integers() -> None:
    rows = [{"id_sms": str(10**21 + 1), "text": "A"}, {"id_sms": "9" * 20, "text": "B"}]
    assert tally(rows) == {"A": 1, "B": 0, "C": 0, "D": 0}
    assert tally(rows, FIRST) == {"A": 0, "B": 1, "C": 0, "D": 0}
    details = poll_vote_details(classified_rows(rows, LUNCH), LUNCH)
    assert details["id_sms"].to_pylist() == ["9" * 20, str(10**21 + 1)]


def test_invalid_replies_with_big_ids_are_counted_once_each() -> None:
    big = str(10**21)
    rows = [
        {"id_sms": big, "text": "what?"},
        {"id_sms": big + "1", "text": "hmm"},
        {"id_sms": "7", "text": "A"},
    ]
    table = classified_rows(rows, LUNCH)
    assert poll_results(pa.concat_tables([table, table]), LUNCH)["invalid"].to_pylist() == [2] * 4


def test_one_vote_per_subscriber_whatever_number_spelling() -> None:
    rows = [
        {"text": "A", "sender": "0037061234567", "sender_e164": "+37061234567", "at": "2025-01-12 09:00:00"},
        {"text": "B", "sender": ALICE, "at": "2025-01-13 09:00:00"},
        {"text": "B", "sender": "PAYSERA", "at": "2025-01-13 09:00:00"},
    ]  # fmt: skip
    assert tally(rows) == {"A": 0, "B": 2, "C": 0, "D": 0}
    assert per_poll(rows) == (2, 1, 0)


def test_a_stop_during_the_poll_is_neither_a_vote_nor_invalid() -> None:
    rows = [
        {"text": "A", "at": "2025-01-12 09:00:00"},
        {"text": "STOP", "at": "2025-01-13 09:00:00"},
        {"text": "help", "sender": BOB, "at": "2025-01-13 09:00:00"},
    ]
    assert tally(rows) == {"A": 1, "B": 0, "C": 0, "D": 0}
    assert per_poll(rows) == (1, 0, 0)


def test_invalid_counts_other_messages_in_the_window_and_scope_only() -> None:
    poll = dict(LUNCH_POLL, phone="5163251632")
    drinks = {**LUNCH_POLL, "id": "drinks", "options": {"W": "Water", "J": "Juice"}}
    rules = rules_with(polls=[poll, drinks])
    rows = [
        {"text": "E", "at": "2025-01-10 00:00:00"},  # invalid for both polls
        {"text": "pizza please", "at": "2025-01-20 23:59:59"},  # invalid for both polls
        {"text": "E", "at": "2025-01-21 00:00:00"},  # outside both windows
        {"text": "E", "phone": "37052000000"},  # another number: invalid for drinks only
        {"text": "E", "phone": None},  # number unknown: invalid for drinks only
        {"text": "juice"},  # a vote for drinks: not invalid for lunch
        {"text": "info"},  # a keyword is not invalid
    ]
    table = classified_rows(rows, rules)
    by_poll = {row["poll_id"]: row["invalid"] for row in poll_results(table, rules).to_pylist()}
    assert by_poll == {"lunch": 2, "drinks": 4}


def test_a_message_fetched_twice_counts_once() -> None:
    table = classified_rows(
        [
            {"id_sms": "1", "text": "A", "sender": ALICE},
            {"id_sms": "2", "text": "B", "sender": BOB},
            {"id_sms": "3", "text": "what?", "sender": BOB},
        ],
        LUNCH,
    )
    twice = pa.concat_tables([table, table])
    assert poll_results(twice, LUNCH).equals(poll_results(table, LUNCH))
    assert per_poll([{"text": "A", "sender": ALICE}]) == (1, 0, 0)


def test_votes_for_an_undeclared_poll_or_option_are_ignored() -> None:
    table = classified_rows([{"text": "A", "sender": ALICE}, {"text": "B", "sender": BOB}], LUNCH)
    narrowed = rules_with(polls=[dict(LUNCH_POLL, options={"A": "Pizza", "C": "Soup"})])
    assert [(r["option"], r["votes"], r["voters"]) for r in poll_results(table, narrowed).to_pylist()] == [
        ("A", 1, 1),
        ("C", 0, 1),
    ]
    renamed = rules_with(polls=[dict(LUNCH_POLL, id="lunch-v2")])
    assert [r["votes"] for r in poll_results(table, renamed).to_pylist()] == [0, 0, 0, 0]


def test_results_do_not_depend_on_row_order() -> None:
    rows = [
        {"id_sms": str(i), "text": random.Random(i).choice("ABCDE"), "sender": f"3706123456{i % 4}"}
        for i in range(1, 40)
    ]
    table = classified_rows(rows, LUNCH)
    order = list(range(table.num_rows))
    random.Random(3).shuffle(order)
    for rules in (LUNCH, FIRST):
        assert poll_results(table.take(order), rules).equals(poll_results(table, rules))
        assert poll_vote_details(table.take(order), rules).equals(poll_vote_details(table, rules))


def test_vote_details_show_counted_and_superseded_votes() -> None:
    rows = [
        {"id_sms": "1", "text": "A", "sender": ALICE, "at": "2025-01-12 09:00:00"},
        {"id_sms": "2", "text": "Salad", "sender": BOB, "at": "2025-01-12 10:00:00"},
        {"id_sms": "3", "text": "b.", "sender": ALICE, "at": "2025-01-13 09:00:00"},
    ]
    details = poll_vote_details(classified_rows(rows, LUNCH), LUNCH)
    assert details.schema == poll_vote_details_schema(TZ)
    assert details.select(["id_sms", "option", "subscriber", "status"]).to_pylist() == [
        {"id_sms": "1", "option": "A", "subscriber": "+37061234567", "status": "superseded"},
        {"id_sms": "2", "option": "B", "subscriber": "+37069999999", "status": "counted"},
        {"id_sms": "3", "option": "B", "subscriber": "+37061234567", "status": "counted"},
    ]
    assert details["received_at"][0].as_py() == local("2025-01-12 09:00:00")


def test_no_polls_give_empty_tables_with_their_schema() -> None:
    empty = rules_with()
    table = classified_rows([{"text": "A"}], empty)
    assert poll_results(table, empty).schema == POLL_RESULTS_SCHEMA
    assert poll_results(table, empty).num_rows == 0
    assert poll_vote_details(table, empty).schema == poll_vote_details_schema(TZ)


def test_empty_input_gives_zero_rows_for_every_option() -> None:
    result = poll_results(classified_schema(TZ).empty_table(), LUNCH)
    assert result.schema == POLL_RESULTS_SCHEMA
    assert result["votes"].to_pylist() == [0, 0, 0, 0]


def test_only_the_columns_it_declares_are_read() -> None:
    table = classified_rows([{"text": "A"}, {"text": "hello"}], LUNCH)
    narrow = table.select(list(poll_results_columns()))
    assert poll_results(narrow, LUNCH).equals(poll_results(table, LUNCH))


def test_the_read_filter_keeps_votes_and_other_messages_near_a_window() -> None:
    rows = [
        {"text": "A"},
        {"text": "hello"},
        {"text": "STOP"},
        {"text": "hello", "at": "2025-01-09 00:00:00"},  # within a day of the window
        {"text": "hello", "at": "2025-02-15 00:00:00"},
    ]
    table = classified_rows(rows, LUNCH)
    assert table.filter(poll_results_filter(LUNCH))["id_sms"].to_pylist() == ["1", "2", "4"]
    assert table.filter(poll_results_filter(rules_with())).num_rows == 0


@pytest.mark.parametrize("count", ["last", "first"])
def test_two_hundred_thousand_rows_smoke(count: str) -> None:
    rules = rules_with(polls=[dict(LUNCH_POLL, id="lunch", count=count)])
    result = poll_results(synthetic_classified(200_000, seed=2), rules)
    assert result["voters"][0].as_py() == sum(result["votes"].to_pylist()) > 0
    assert result["superseded"][0].as_py() > 0
    assert result["invalid"][0].as_py() > 0


def test_columns_read_as_dictionaries_give_the_same_results() -> None:
    rows = [{"text": "A"}, {"text": "b", "sender": BOB}, {"text": "?", "phone": None}]
    table = classified_rows(rows, LUNCH)
    assert poll_results(as_read_with_dictionaries(table), LUNCH).equals(poll_results(table, LUNCH))
