"""docs/rules.md §9, the pure decisions: one per rule, from real classification of hand-written
messages, a record and a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from message_tables import classified_rows, local, rules_with

from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.rules.replies import (
    DRY_RUN,
    NOT_SENT,
    RECORD_SCHEMA,
    SENDING,
    SENT,
    UNKNOWN,
    Decision,
    OptOutState,
    ReplyRow,
    decide,
    merge_record,
    messages_to_answer,
    row_of,
    settled_record,
    undecided,
)

ALICE, BOB = "37061234567", "37069999999"
NOON = local("2025-01-15 12:00:00")
RULES = rules_with(replies={"help": "Call us", "other": "We read every message."})


def at(minutes: float) -> str:
    """Local wall time `minutes` after noon."""
    return (NOON + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")


def decisions(
    rows: list[dict[str, Any]],
    now_minutes: float,
    record: pa.Table | None = None,
    rules: Rules = RULES,
    dry_run: bool = False,
) -> list[tuple[str, str, str]]:
    """(id_sms, class, state) of every decision, `now` being `now_minutes` after noon."""
    table = classified_rows(rows, rules)
    found = decide(
        messages_to_answer(table, rules),
        OptOutState.of(table, rules),
        RECORD_SCHEMA.empty_table() if record is None else record,
        rules.replies,
        rules.timezone,
        (NOON + timedelta(minutes=now_minutes)).astimezone(UTC),
        dry_run=dry_run,
    )
    return [(d.message.id_sms, d.message.message_class, d.state) for d in found]


def recorded(rows: list[dict[str, Any]], states: dict[str, str], decided_minutes: float = 0) -> pa.Table:
    """A record holding the decisions of `rows` with the states given by id_sms."""
    table = classified_rows(rows, RULES)
    when = (NOON + timedelta(minutes=decided_minutes)).astimezone(UTC)
    found = [Decision(m, "send") for m in messages_to_answer(table, RULES) if m.id_sms in states]
    return merge_record(
        RECORD_SCHEMA.empty_table(), [row_of(d, states[d.message.id_sms], when) for d in found]
    )


def test_a_fresh_stop_gets_its_confirmation() -> None:
    assert decisions([{"text": "STOP", "at": at(0)}], now_minutes=1) == [("1", "opt_out", "send")]


def test_a_confirmation_later_than_confirm_within_minutes_is_late() -> None:
    assert decisions([{"text": "STOP", "at": at(0)}], now_minutes=5.1) == [("1", "opt_out", "skipped_late")]
    assert decisions([{"text": "STOP", "at": at(0)}], now_minutes=5) == [("1", "opt_out", "send")]


def test_only_the_latest_opt_out_is_confirmed() -> None:
    rows = [{"text": "STOP", "at": at(0)}, {"text": "stop", "at": at(1)}]
    assert decisions(rows, now_minutes=2) == [
        ("1", "opt_out", "skipped_superseded"),
        ("2", "opt_out", "send"),
    ]


def test_a_stop_followed_by_a_start_is_not_confirmed_and_the_start_is_answered() -> None:
    rows = [{"text": "STOP", "at": at(0)}, {"text": "START", "at": at(1)}]
    assert decisions(rows, now_minutes=2) == [("1", "opt_out", "skipped_superseded"), ("2", "opt_in", "send")]


def test_other_replies_only_while_younger_than_reply_within_minutes() -> None:
    assert decisions([{"text": "help", "at": at(0)}], now_minutes=60) == [("1", "help", "send")]
    assert decisions([{"text": "help", "at": at(0)}], now_minutes=61) == [("1", "help", "skipped_late")]


def test_a_backfill_of_an_old_day_answers_nothing() -> None:
    rows = [{"text": t, "at": at(i)} for i, t in enumerate(["STOP", "START", "help", "hello"])]
    assert {state for _, _, state in decisions(rows, now_minutes=60 * 24 * 30)} == {"skipped_late"}


def test_an_opted_out_subscriber_gets_only_the_confirmation_and_help() -> None:
    rows = [
        {"text": "hello", "at": at(0)},
        {"text": "STOP", "at": at(1)},
        {"text": "help", "at": at(2)},
        {"text": "hello", "at": at(3), "sender": BOB},
    ]
    assert decisions(rows, now_minutes=3) == [
        ("1", "other", "skipped_opted_out"),
        ("2", "opt_out", "send"),
        ("3", "help", "send"),
        ("4", "other", "send"),
    ]


def test_opted_out_is_per_number_in_per_number_scope() -> None:
    rules = rules_with(scope="per_number", replies={"other": "Thanks"})
    rows = [{"text": "STOP", "at": at(0), "phone": "111"}, {"text": "hi", "at": at(1), "phone": "222"}]
    assert decisions(rows, now_minutes=2, rules=rules) == [("1", "opt_out", "send"), ("2", "other", "send")]


def test_senders_without_a_phone_number_get_nothing() -> None:
    rows = [{"text": "STOP", "at": at(0), "sender": "Telia"}, {"text": "help", "at": at(0), "sender": "1234"}]
    assert decisions(rows, now_minutes=1) == [
        ("1", "opt_out", "skipped_not_a_phone"),
        ("2", "help", "skipped_not_a_phone"),
    ]


def test_a_class_without_a_text_is_not_decided_at_all() -> None:
    assert decisions([{"text": "hello", "at": at(0)}], now_minutes=1, rules=rules_with()) == []


def test_a_reply_already_in_the_record_is_never_decided_again() -> None:
    rows = [{"text": "help", "at": at(0)}]
    for state in (SENT, UNKNOWN, SENDING, "refused", "skipped_late"):
        assert decisions(rows, now_minutes=1, record=recorded(rows, {"1": state})) == []


def test_a_reply_that_never_left_is_decided_again_and_a_dry_run_plan_in_mode_on_only() -> None:
    rows = [{"text": "help", "at": at(0)}]
    assert decisions(rows, 1, record=recorded(rows, {"1": NOT_SENT})) == [("1", "help", "send")]
    assert decisions(rows, 1, record=recorded(rows, {"1": DRY_RUN})) == [("1", "help", "send")]
    assert decisions(rows, 1, record=recorded(rows, {"1": DRY_RUN}), dry_run=True) == []


def test_min_hours_between_holds_back_a_second_reply_of_a_class_to_a_subscriber() -> None:
    rows = [
        {"text": "help", "at": at(0)},
        {"text": "info", "at": at(1)},
        {"text": "help", "at": at(1), "sender": BOB},
    ]
    assert decisions(rows, now_minutes=2) == [
        ("1", "help", "send"),
        ("2", "help", "skipped_rate"),
        ("3", "help", "send"),
    ]
    earlier = [{"text": "help", "at": at(0), "id_sms": "9"}]
    record = recorded(earlier, {"9": SENT}, decided_minutes=-60 * 23)
    assert decisions([{"text": "help", "at": at(0)}], 1, record=record) == [("1", "help", "skipped_rate")]
    record = recorded(earlier, {"9": SENT}, decided_minutes=-60 * 25)
    assert decisions([{"text": "help", "at": at(0)}], 1, record=record) == [("1", "help", "send")]


def test_a_lost_or_interrupted_reply_counts_for_the_rate_a_refused_one_does_not() -> None:
    earlier = [{"text": "help", "at": at(0), "id_sms": "9"}]
    for state, expected in ((UNKNOWN, "skipped_rate"), (SENDING, "skipped_rate"), ("refused", "send")):
        record = recorded(earlier, {"9": state})
        assert decisions([{"text": "help", "at": at(0)}], 1, record=record) == [("1", "help", expected)]


def test_max_per_day_caps_the_account_in_the_providers_day() -> None:
    rules = rules_with(replies={"help": "Call us", "max_per_day": "2"})
    rows = [{"text": "help", "at": at(0), "sender": f"3706123456{i}"} for i in range(4)]
    assert [s for _, _, s in decisions(rows, 1, rules=rules)] == [
        "send",
        "send",
        "skipped_cap",
        "skipped_cap",
    ]


def test_yesterdays_replies_do_not_count_for_todays_cap() -> None:
    rules = rules_with(replies={"help": "Call us", "max_per_day": "1", "min_hours_between": "0"})
    earlier = [{"text": "help", "at": at(0), "id_sms": "9", "sender": BOB}]
    # 12:00 local is 10:00 UTC; the provider's day began 12 hours before noon, UTC's 10.
    before_midnight = recorded(earlier, {"9": SENT}, decided_minutes=-60 * 12 - 1)
    after_midnight = recorded(earlier, {"9": SENT}, decided_minutes=-60 * 11)
    rows = [{"text": "help", "at": at(0)}]
    assert decisions(rows, 1, record=before_midnight, rules=rules) == [("1", "help", "send")]
    assert decisions(rows, 1, record=after_midnight, rules=rules) == [("1", "help", "skipped_cap")]


def test_a_dry_run_counts_its_earlier_plans_as_sends_would_count() -> None:
    earlier = [{"text": "help", "at": at(0), "id_sms": "9"}]
    record = recorded(earlier, {"9": DRY_RUN})
    rows = [{"text": "help", "at": at(0)}]
    assert decisions(rows, 1, record=record, dry_run=True) == [("1", "help", "skipped_rate")]
    assert decisions(rows, 1, record=record) == [("1", "help", "send")]  # mode on: plans do not count


def test_a_sending_row_found_at_the_start_becomes_unknown_and_nothing_else_changes() -> None:
    rows = [{"text": "help", "at": at(0)}, {"text": "info", "at": at(0), "sender": BOB}]
    record = recorded(rows, {"1": SENDING, "2": SENT})
    settled, changed = settled_record(record, datetime(2025, 1, 15, 11, tzinfo=UTC))
    assert changed == 1
    assert settled["state"].to_pylist() == [UNKNOWN, SENT]
    assert "stopped before" in settled["detail"][0].as_py()
    assert settled_record(settled, datetime(2025, 1, 15, 11, tzinfo=UTC))[1] == 0


def test_the_record_holds_one_row_per_message_and_class() -> None:
    rows = [{"text": "help", "at": at(0)}]
    record = recorded(rows, {"1": SENDING})
    (message,) = messages_to_answer(classified_rows(rows, RULES), RULES)
    final = ReplyRow("1", message.subscriber, "help", "Call us", 1, SENT, NOON, provider_id="42")
    merged = merge_record(record, [final])
    assert merged.num_rows == 1
    assert (merged["state"][0].as_py(), merged["provider_id"][0].as_py()) == (SENT, "42")
    assert merged.schema == RECORD_SCHEMA


TEXTS = ["STOP", "START", "help", "hello", "stop"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(TEXTS), st.sampled_from([ALICE, BOB, "Telia"]), st.integers(0, 120)),
        min_size=1,
        max_size=12,
    ),
    st.integers(0, 180),
)
def test_deciding_twice_with_the_first_decisions_recorded_sends_nothing_more(
    messages: list[tuple[str, str, int]], now_minutes: int
) -> None:
    # At most one reply per (message, class), ever; and no decision ever sends what rules forbid.
    rows = [
        {"text": t, "sender": s, "at": at(m), "id_sms": str(i + 1)} for i, (t, s, m) in enumerate(messages)
    ]
    rows.sort(key=lambda r: r["at"])
    first = decisions(rows, now_minutes)
    assert len({(i, c) for i, c, _ in first}) == len(first)
    sent = {i: (SENT if s == "send" else s) for i, _, s in first}
    assert decisions(rows, now_minutes, record=recorded(rows, sent)) == []
    table = classified_rows(rows, RULES)
    by_id = {m.id_sms: m for m in messages_to_answer(table, RULES)}
    now = NOON + timedelta(minutes=now_minutes)
    for id_sms, cls, state in first:
        if state == "send":
            message = by_id[id_sms]
            assert message.is_phone
            limit = 5 if cls == "opt_out" else 60
            assert now - message.received_at <= timedelta(minutes=limit)


def test_messages_the_record_settles_are_dropped_before_any_python_object_is_made() -> None:
    rows = [
        {"text": "help", "at": at(0)},
        {"text": "info", "at": at(0), "sender": BOB},
        {"text": "hi", "at": at(0)},
    ]
    table = classified_rows(rows, RULES)
    record = recorded(rows, {"1": SENT, "2": DRY_RUN, "3": NOT_SENT})
    assert undecided(table, record, dry_run=False)["id_sms"].to_pylist() == ["2", "3"]
    assert undecided(table, record, dry_run=True)["id_sms"].to_pylist() == ["3"]
    # The same message under another class (the rules changed) is not settled by the old row.
    assert (
        undecided(
            table, recorded(rows, {"1": SENT}).set_column(2, "class", pa.array(["other"])), dry_run=False
        ).num_rows
        == 3
    )
