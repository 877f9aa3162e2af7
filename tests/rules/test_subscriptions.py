"""docs/rules.md §3: the opt-out list is each subscriber's latest event, whatever order rows come in."""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from message_tables import (
    TZ,
    as_read_with_dictionaries,
    classified_rows,
    local,
    rules_with,
    synthetic_classified,
)

from lightsms_pipeline.rules import (
    OPT_OUT_COLUMNS,
    classified_schema,
    load_rules,
    opt_out_events_filter,
    opt_out_list,
    opt_out_list_columns,
    opt_out_schema,
)

ACCOUNT = load_rules(None)
PER_NUMBER = rules_with(scope="per_number")
ALICE = "37061234567"
BOB = "37069999999"


def listed(rows: list[dict[str, Any]], rules: Any = ACCOUNT) -> list[dict[str, Any]]:
    return opt_out_list(classified_rows(rows, rules), rules).to_pylist()


def subscribers(rows: list[dict[str, Any]], rules: Any = ACCOUNT) -> list[str]:
    return [row["subscriber"] for row in listed(rows, rules)]


def test_a_stop_puts_the_subscriber_on_the_list_with_its_evidence() -> None:
    rows = [{"id_sms": "75396", "text": " Stop. ", "at": "2025-01-15 09:30:00", "prefix": "51632"}]
    assert listed(rows) == [
        {
            "subscriber": "+37061234567",
            "sender": "37061234567",
            "opted_out_at": local("2025-01-15 09:30:00"),
            "id_sms": "75396",
            "keyword": "stop",
            "text": " Stop. ",
            "phone": "5163251632",
            "prefix": "51632",
            "first_opted_out_at": local("2025-01-15 09:30:00"),
        }
    ]


def test_a_later_opt_in_takes_the_subscriber_off() -> None:
    rows = [
        {"text": "STOP", "at": "2025-01-15 09:00:00"},
        {"text": "START", "at": "2025-01-15 10:00:00"},
    ]
    assert listed(rows) == []


def test_a_stop_after_an_opt_in_puts_the_subscriber_back() -> None:
    rows = [
        {"text": "STOP", "at": "2025-01-13 09:00:00"},
        {"text": "yes", "at": "2025-01-14 09:00:00"},
        {"text": "quit", "at": "2025-01-15 09:00:00"},
    ]
    [entry] = listed(rows)
    assert (entry["keyword"], entry["opted_out_at"]) == ("quit", local("2025-01-15 09:00:00"))


def test_a_repeated_stop_keeps_one_row_with_the_latest_evidence() -> None:
    rows = [
        {"id_sms": "1", "text": "STOP", "at": "2025-01-13 09:00:00"},
        {"id_sms": "2", "text": "unsubscribe", "at": "2025-01-14 09:00:00"},
    ]
    [entry] = listed(rows)
    assert (entry["id_sms"], entry["keyword"]) == ("2", "unsubscribe")


def first_opted_out(rows: list[dict[str, Any]], rules: Any = ACCOUNT) -> list[Any]:
    return [row["first_opted_out_at"] for row in listed(rows, rules)]


def test_a_repeated_stop_does_not_move_first_opted_out_at() -> None:
    rows = [
        {"text": "STOP", "at": "2025-01-13 09:00:00"},
        {"text": "stop!!", "at": "2025-01-14 09:00:00"},
        {"text": "quit", "at": "2025-01-15 09:00:00"},
    ]
    [entry] = listed(rows)
    assert entry["first_opted_out_at"] == local("2025-01-13 09:00:00")
    assert entry["opted_out_at"] == local("2025-01-15 09:00:00")


def test_stop_start_stop_starts_the_clock_at_the_second_stop() -> None:
    rows = [
        {"text": "STOP", "at": "2025-01-13 09:00:00"},
        {"text": "START", "at": "2025-01-14 09:00:00"},
        {"text": "STOP", "at": "2025-01-15 09:00:00"},
        {"text": "STOP", "at": "2025-01-16 09:00:00"},
    ]
    assert first_opted_out(rows) == [local("2025-01-15 09:00:00")]


def test_first_opted_out_at_is_per_subscriber_and_ties_follow_the_integer_id() -> None:
    same_second = "2025-01-15 12:00:00"
    rows = [
        {"id_sms": "10", "text": "STOP", "sender": ALICE, "at": same_second},
        {"id_sms": "9", "text": "START", "sender": ALICE, "at": same_second},  # before 10
        {"id_sms": "8", "text": "STOP", "sender": ALICE, "at": "2025-01-14 12:00:00"},
        {"id_sms": "7", "text": "STOP", "sender": BOB, "at": "2025-01-10 08:00:00"},
        {"id_sms": "11", "text": "yes", "sender": BOB, "at": "2025-01-11 08:00:00"},
        {"id_sms": "12", "text": "STOP", "sender": BOB, "at": "2025-01-12 08:00:00"},
    ]
    assert first_opted_out(rows) == [local(same_second), local("2025-01-12 08:00:00")]


def test_per_number_scope_keeps_a_first_opted_out_at_per_number() -> None:
    rows = [
        {"text": "STOP", "phone": "5163251632", "at": "2025-01-13 09:00:00"},
        {"text": "STOP", "phone": "37052000000", "at": "2025-01-14 09:00:00"},
        {"text": "STOP", "phone": "5163251632", "at": "2025-01-15 09:00:00"},
    ]
    assert first_opted_out(rows, PER_NUMBER) == [local("2025-01-14 09:00:00"), local("2025-01-13 09:00:00")]
    assert first_opted_out(rows, ACCOUNT) == [local("2025-01-13 09:00:00")]


def test_latest_event_wins_ties_broken_by_id_sms_as_integer() -> None:
    same_second = "2025-01-15 12:00:00"
    stop_last = [
        {"id_sms": "10", "text": "STOP", "at": same_second},
        {"id_sms": "9", "text": "START", "at": same_second},
    ]
    assert subscribers(stop_last) == ["+37061234567"]  # 10 > 9, though "10" < "9" as text
    start_last = [
        {"id_sms": "9", "text": "STOP", "at": same_second},
        {"id_sms": "10", "text": "START", "at": same_second},
    ]
    assert subscribers(start_last) == []


BIG_OPT_IN = str(10**21 + 1)  # 22 digits, beyond int64
TWENTY_NINES = "9" * 20  # 20 digits, beyond int64 too


def test_a_22_digit_opt_in_after_a_20_digit_opt_out_in_the_same_second_wins() -> None:
    same_second = "2025-01-15 12:00:00"
    rows = [
        {"id_sms": BIG_OPT_IN, "text": "START", "at": same_second},
        {"id_sms": TWENTY_NINES, "text": "STOP", "at": same_second},
    ]
    assert subscribers(rows) == []  # as text "1000..." < "9999...", as integers it is later
    reversed_roles = [
        {"id_sms": BIG_OPT_IN, "text": "STOP", "at": same_second},
        {"id_sms": TWENTY_NINES, "text": "START", "at": same_second},
    ]
    [entry] = listed(reversed_roles)
    assert entry["id_sms"] == BIG_OPT_IN


def test_big_ids_mixed_with_small_ones_still_order_as_integers() -> None:
    same_second = "2025-01-15 12:00:00"
    rows = [
        {"id_sms": "12", "text": "START", "sender": BOB, "at": same_second},
        {"id_sms": "9", "text": "STOP", "sender": BOB, "at": same_second},
        {"id_sms": BIG_OPT_IN, "text": "STOP", "at": same_second},
        {"id_sms": "7", "text": "START", "at": same_second},
    ]
    assert subscribers(rows) == ["+37061234567"]


def test_a_big_id_fetched_twice_counts_once() -> None:
    events = classified_rows([{"id_sms": BIG_OPT_IN, "text": "STOP"}], ACCOUNT)
    assert opt_out_list(pa.concat_tables([events, events]), ACCOUNT).num_rows == 1


@pytest.mark.parametrize(("stop_id", "start_id"), [("010", "9"), ("00000000000000000000010", "9")])
def test_ids_with_leading_zeros_compare_as_integers(stop_id: str, start_id: str) -> None:
    same_second = "2025-01-15 12:00:00"
    rows = [
        {"id_sms": stop_id, "text": "STOP", "at": same_second},
        {"id_sms": start_id, "text": "START", "at": same_second},
    ]
    assert subscribers(rows) == ["+37061234567"]  # 10 > 9 whatever the zeros in front


def test_a_look_alike_stop_puts_the_subscriber_on_the_list_naming_the_keyword() -> None:
    [entry] = listed([{"id_sms": "5", "text": "ЅТОР"}])
    assert (entry["keyword"], entry["text"], entry["id_sms"]) == ("stop", "ЅТОР", "5")


def test_a_hidden_character_opt_out_then_a_look_alike_stop_keeps_the_latest_evidence() -> None:
    rows = [
        {"id_sms": "1", "text": "opt\u00adout", "at": "2025-01-15 09:00:00"},
        {"id_sms": "2", "text": "START", "at": "2025-01-15 10:00:00"},
        {"id_sms": "3", "text": "ST0P", "at": "2025-01-15 11:00:00"},
    ]
    [entry] = listed(rows)
    assert (entry["id_sms"], entry["keyword"]) == ("3", "stop")


def test_time_orders_events_before_the_id_does() -> None:
    rows = [
        {"id_sms": "2", "text": "STOP", "at": "2025-01-15 09:00:00"},
        {"id_sms": "1", "text": "START", "at": "2025-01-15 10:00:00"},
    ]
    assert subscribers(rows) == []


def test_other_messages_do_not_change_the_state() -> None:
    rows = [
        {"text": "STOP", "at": "2025-01-15 09:00:00"},
        {"text": "help", "at": "2025-01-15 10:00:00"},
        {"text": "please stop texting me", "at": "2025-01-15 11:00:00"},
        {"text": "Yes please, start again!", "at": "2025-01-15 12:00:00"},
    ]
    assert subscribers(rows) == ["+37061234567"]


def test_the_key_is_e164_so_every_spelling_of_a_number_is_one_subscriber() -> None:
    e164 = "+37061234567"
    rows = [
        {"text": "STOP", "sender": "0037061234567", "sender_e164": e164, "at": "2025-01-15 09:00:00"},
        {"text": "START", "sender": ALICE, "at": "2025-01-15 10:00:00"},
        {"text": "STOP", "sender": "861234567", "sender_e164": e164, "at": "2025-01-15 11:00:00"},
    ]
    [entry] = listed(rows)
    assert (entry["subscriber"], entry["sender"]) == ("+37061234567", "861234567")


def test_a_sender_that_is_no_phone_number_is_keyed_by_its_raw_string() -> None:
    rows = [{"text": "STOP", "sender": "PAYSERA"}, {"text": "STOP", "sender": "1234"}]
    assert [(e["subscriber"], e["sender"]) for e in listed(rows)] == [
        ("1234", "1234"),
        ("PAYSERA", "PAYSERA"),
    ]


def test_the_list_is_sorted_by_subscriber() -> None:
    rows = [{"text": "STOP", "sender": BOB}, {"text": "STOP", "sender": ALICE}]
    assert subscribers(rows) == ["+37061234567", "+37069999999"]


def test_account_scope_a_stop_to_any_number_stops_them_all() -> None:
    rows = [
        {"text": "STOP", "phone": "5163251632", "at": "2025-01-15 09:00:00"},
        {"text": "START", "phone": "37052000000", "at": "2025-01-15 08:00:00"},
    ]
    assert [(e["subscriber"], e["phone"]) for e in listed(rows)] == [("+37061234567", "5163251632")]
    later_start = [
        {"text": "STOP", "phone": "5163251632", "at": "2025-01-15 09:00:00"},
        {"text": "START", "phone": "37052000000", "at": "2025-01-15 10:00:00"},
    ]
    assert listed(later_start) == []


def test_per_number_scope_keys_by_subscriber_phone_and_prefix() -> None:
    rows = [
        {"text": "STOP", "phone": "5163251632", "prefix": "51632", "at": "2025-01-15 09:00:00"},
        {"text": "STOP", "phone": "37052000000", "prefix": "", "at": "2025-01-15 09:00:00"},
        {"text": "START", "phone": "37052000000", "prefix": "", "at": "2025-01-15 10:00:00"},
        {"text": "STOP", "phone": "5163251632", "prefix": "", "at": "2025-01-15 11:00:00"},
    ]
    assert [(e["phone"], e["prefix"]) for e in listed(rows, PER_NUMBER)] == [
        ("5163251632", ""),
        ("5163251632", "51632"),
    ]
    assert [(e["phone"], e["prefix"]) for e in listed(rows, ACCOUNT)] == [("5163251632", "")]


def test_per_number_scope_an_unknown_phone_or_prefix_is_a_key_of_its_own() -> None:
    rows = [
        {"text": "STOP", "phone": None, "prefix": None, "at": "2025-01-15 09:00:00"},
        {"text": "STOP", "phone": "5163251632", "prefix": None, "at": "2025-01-15 09:00:00"},
        {"text": "START", "phone": "5163251632", "prefix": "", "at": "2025-01-15 10:00:00"},
    ]
    assert [(e["phone"], e["prefix"]) for e in listed(rows, PER_NUMBER)] == [
        ("5163251632", None),
        (None, None),
    ]


def test_a_message_fetched_twice_counts_once() -> None:
    events = classified_rows(
        [
            {"id_sms": "1", "text": "STOP", "at": "2025-01-15 09:00:00"},
            {"id_sms": "2", "text": "START", "at": "2025-01-15 10:00:00"},
        ],
        ACCOUNT,
    )
    refetched = pa.concat_tables([events, events, events.slice(0, 1)])
    assert opt_out_list(refetched, ACCOUNT).num_rows == 0


def test_days_in_any_order_give_the_same_list() -> None:
    days = [
        classified_rows(
            [
                {"id_sms": f"{day}{i}", "text": text, "sender": sender, "at": f"2025-01-1{day} 1{i}:00:00"}
                for i, (text, sender) in enumerate([("STOP", ALICE), ("START", BOB), ("yes", ALICE)])
            ],
            ACCOUNT,
        )
        for day in range(3, 8)
    ]  # fmt: skip
    forward = opt_out_list(pa.concat_tables(days), ACCOUNT)
    backward = opt_out_list(pa.concat_tables(days[::-1]), ACCOUNT)
    assert forward.equals(backward)
    assert forward.to_pylist() == []


def test_only_the_columns_it_declares_are_read() -> None:
    table = classified_rows([{"text": "STOP"}, {"text": "hello"}], ACCOUNT)
    narrow = table.select(list(opt_out_list_columns()))
    assert opt_out_list(narrow, ACCOUNT).equals(opt_out_list(table, ACCOUNT))


def test_the_read_filter_keeps_exactly_the_events() -> None:
    table = classified_rows([{"text": t} for t in ["STOP", "hello", "yes", "help", "Cancel it"]], ACCOUNT)
    assert table.filter(opt_out_events_filter())["text"].to_pylist() == ["STOP", "yes"]


def test_an_empty_input_gives_an_empty_list_with_the_full_schema() -> None:
    for rules in (ACCOUNT, PER_NUMBER):
        result = opt_out_list(classified_schema(TZ).empty_table(), rules)
        assert result.schema == opt_out_schema(TZ)
        assert result.column_names == list(OPT_OUT_COLUMNS)
        assert result.num_rows == 0


EVENT_TEXTS = ["STOP", "START", "yes", "quit", "hello", "A"]
SENDERS = [ALICE, BOB, "PAYSERA"]
PHONES = ["5163251632", "37052000000", None]


@st.composite
def message_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=0, max_value=25))
    return [
        {
            "id_sms": str(index),
            "text": draw(st.sampled_from(EVENT_TEXTS)),
            "sender": draw(st.sampled_from(SENDERS)),
            "phone": draw(st.sampled_from(PHONES)),
            # Few distinct seconds, so (received_at, id_sms) ties are common.
            "at": f"2025-01-15 12:00:0{draw(st.integers(min_value=0, max_value=3))}",
        }
        for index in range(1, count + 1)
    ]


@settings(max_examples=60, deadline=None)
@given(rows=message_rows(), seed=st.integers(), repeats=st.integers(min_value=1, max_value=3))
def test_the_list_is_invariant_under_shuffling_and_duplicating_rows(
    rows: list[dict[str, Any]], seed: int, repeats: int
) -> None:
    for rules in (ACCOUNT, PER_NUMBER):
        table = classified_rows(rows, rules)
        expected = opt_out_list(table, rules)
        copies = pa.concat_tables([table] * repeats + [table.slice(0, len(rows) // 2)])
        order = list(range(copies.num_rows))
        random.Random(seed).shuffle(order)
        assert opt_out_list(copies.take(pa.array(order, pa.int64())), rules).equals(expected)


def test_two_hundred_thousand_rows_smoke() -> None:
    table = synthetic_classified(200_000, seed=1)
    result = opt_out_list(table, ACCOUNT)
    assert 0 < result.num_rows < 20_000
    assert result.schema == opt_out_schema(TZ)
    assert pc.all(pc.equal(result["keyword"], "stop")).as_py()


def test_columns_read_as_dictionaries_give_the_same_list() -> None:
    rows = [{"text": "STOP", "sender": ALICE}, {"text": "STOP", "sender": "PAYSERA", "phone": None}]
    for rules in (ACCOUNT, PER_NUMBER):
        table = classified_rows(rows, rules)
        assert opt_out_list(as_read_with_dictionaries(table), rules).equals(opt_out_list(table, rules))
