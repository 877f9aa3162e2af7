"""docs/rules.md §5: every `other` message, once, oldest first, with the possible-opt-out flag."""

from __future__ import annotations

import pyarrow as pa
from message_tables import TZ, as_read_with_dictionaries, classified_rows, local, rules_with

from lightsms_pipeline.rules import (
    classified_schema,
    support_inbox,
    support_inbox_columns,
    support_inbox_filter,
    support_inbox_schema,
)

LUNCH = rules_with(
    polls=[
        {
            "id": "lunch",
            "question": "Lunch?",
            "options": {"A": "Pizza"},
            "start": "2025-01-10 00:00:00",
            "end": "2025-01-20 23:59:59",
        }
    ]
)


def test_the_inbox_holds_the_other_messages_with_sender_number_text_and_flag() -> None:
    rows = [
        {"id_sms": "5", "text": "STOP"},
        {"id_sms": "6", "text": "please stop texting me", "at": "2025-01-15 10:00:00", "prefix": None},
        {"id_sms": "7", "text": "A"},
        {"id_sms": "8", "text": "help"},
        {"id_sms": "9", "text": "Hi,\nwhere is my parcel?", "sender": "PAYSERA", "phone": None},
    ]
    assert support_inbox(classified_rows(rows, LUNCH)).to_pylist() == [
        {
            "id_sms": "6",
            "received_at": local("2025-01-15 10:00:00"),
            "sender": "37061234567",
            "sender_e164": "+37061234567",
            "subscriber": "+37061234567",
            "phone": "5163251632",
            "prefix": None,
            "text": "please stop texting me",
            "possible_opt_out": True,
        },
        {
            "id_sms": "9",
            "received_at": local("2025-01-15 12:00:00"),
            "sender": "PAYSERA",
            "sender_e164": None,
            "subscriber": "PAYSERA",
            "phone": None,
            "prefix": "",
            "text": "Hi,\nwhere is my parcel?",
            "possible_opt_out": False,
        },
    ]


def test_the_inbox_is_in_arrival_order_ties_by_id_sms_as_integer() -> None:
    rows = [
        {"id_sms": "10", "text": "second"},
        {"id_sms": "9", "text": "first"},
        {"id_sms": "8", "text": "latest", "at": "2025-01-16 00:00:00"},
        {"id_sms": "11", "text": "earliest", "at": "2025-01-14 00:00:00"},
    ]
    inbox = support_inbox(classified_rows(rows, LUNCH))
    assert inbox["text"].to_pylist() == ["earliest", "first", "second", "latest"]


def test_a_message_fetched_twice_appears_once() -> None:
    table = classified_rows([{"text": "hello"}, {"text": "again"}], LUNCH)
    inbox = support_inbox(pa.concat_tables([table, table.slice(1), table]))
    assert inbox["id_sms"].to_pylist() == ["1", "2"]


def test_only_declared_columns_are_read_and_the_filter_keeps_other() -> None:
    table = classified_rows([{"text": "hello"}, {"text": "STOP"}], LUNCH)
    narrow = table.filter(support_inbox_filter()).select(list(support_inbox_columns()))
    assert support_inbox(narrow).equals(support_inbox(table))


def test_an_empty_input_gives_an_empty_inbox_with_its_schema() -> None:
    inbox = support_inbox(classified_schema(TZ).empty_table())
    assert inbox.schema == support_inbox_schema(TZ)
    assert inbox.num_rows == 0


def test_columns_read_as_dictionaries_give_the_same_inbox() -> None:
    table = classified_rows([{"text": "hello"}, {"text": "hi", "sender": "PAYSERA", "phone": None}], LUNCH)
    assert support_inbox(as_read_with_dictionaries(table)).equals(support_inbox(table))
