"""docs/rules.md §8, the pure decisions: who is still to be pushed, the append-only record, the
conflicts, and the opt-outs that have waited too long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
from message_tables import TZ, classified_rows, local, rules_with

from lightsms_pipeline.rules import load_rules, opt_out_list
from lightsms_pipeline.rules.stop_list import (
    RecordRow,
    merge_record,
    opt_outs_by_subscriber,
    opted_in_after_push,
    phone_number,
    record_schema,
    still_to_push,
    waiting_too_long,
)

ACCOUNT = load_rules(None)
ALICE, BOB = "37061234567", "37069999999"
NOW = datetime(2025, 1, 20, 12, 0, tzinfo=UTC)


def opt_outs(rows: list[dict[str, object]], rules=ACCOUNT) -> pa.Table:  # type: ignore[no-untyped-def]
    return opt_out_list(classified_rows(rows, rules), rules)


def row(subscriber: str, action: str, at: datetime = NOW, mode: str = "on") -> RecordRow:
    return RecordRow(subscriber, action, mode, at, None, "1", local("2025-01-15 09:00:00"))  # type: ignore[arg-type]


def record(*rows: RecordRow) -> pa.Table:
    return merge_record(record_schema(TZ).empty_table(), rows, TZ)


def test_numbers_pushed_or_found_listed_are_never_pushed_again_planned_ones_are() -> None:
    table = opt_outs([{"text": "STOP", "sender": ALICE}, {"text": "STOP", "sender": BOB}])
    assert [p.subscriber for p in still_to_push(table, record())] == ["+37061234567", "+37069999999"]
    assert [p.subscriber for p in still_to_push(table, record(row("+37061234567", "pushed")))] == [
        "+37069999999"
    ]
    listed = record(row("+37061234567", "already_listed"), row("+37069999999", "would_push", mode="dry-run"))
    assert [p.subscriber for p in still_to_push(table, listed)] == ["+37069999999"]


def test_the_record_keeps_every_push_and_replaces_the_previous_dry_run_plan() -> None:
    first = record(row("+37061234567", "pushed", NOW), row("+37069999999", "would_push", NOW, "dry-run"))
    later = NOW + timedelta(hours=1)
    second = merge_record(first, [row("+37069999999", "would_push", later, "dry-run")], TZ)
    assert [(r["subscriber"], r["action"], r["at"]) for r in second.to_pylist()] == [
        ("+37061234567", "pushed", NOW),
        ("+37069999999", "would_push", later),
    ]
    assert second.schema == record_schema(TZ)


def test_per_number_scope_pushes_a_subscriber_once_from_its_earliest_clock() -> None:
    rules = rules_with(scope="per_number")
    table = opt_outs(
        [
            {"text": "STOP", "phone": "5163251632", "at": "2025-01-15 09:00:00"},
            {"text": "STOP", "phone": "37052000000", "at": "2025-01-13 09:00:00"},
        ],
        rules,
    )
    (entry,) = opt_outs_by_subscriber(table)
    assert entry.first_opted_out_at == local("2025-01-13 09:00:00")


def test_an_opt_in_after_the_push_is_a_conflict_a_new_stop_ends_it() -> None:
    pushed = record(row("+37061234567", "pushed"))
    opted_in = opt_outs(
        [{"text": "STOP", "at": "2025-01-15 09:00:00"}, {"text": "START", "at": "2025-01-16 09:00:00"}]
    )
    (conflict,) = opted_in_after_push(opted_in, pushed)
    assert (conflict.subscriber, conflict.conflict) == ("+37061234567", "opted_in_after_push")
    assert "cannot remove" in conflict.detail
    stopped_again = opt_outs(
        [{"text": "START", "at": "2025-01-16 09:00:00"}, {"text": "STOP", "at": "2025-01-17"}]
    )
    assert opted_in_after_push(stopped_again, pushed) == []
    assert opted_in_after_push(opted_in, record(row("+37061234567", "would_push", mode="dry-run"))) == []


def test_only_valid_e164_keys_are_phone_numbers() -> None:
    assert phone_number("+37061234567", "LT") == "+37061234567"
    assert [phone_number(key, "LT") for key in ("Telia", "51632", "+123", "h:0123")] == [None] * 4


def test_the_clock_counts_opt_outs_past_the_limit_not_on_the_list_and_names_the_oldest() -> None:
    table = opt_outs(
        [
            {"text": "STOP", "sender": ALICE, "at": "2025-01-15 09:00:00"},
            {"text": "STOP", "sender": ALICE, "at": "2025-01-19 09:00:00"},  # does not restart it
            {"text": "STOP", "sender": BOB, "at": "2025-01-18 09:00:00"},
            {"text": "STOP", "sender": "Telia", "at": "2025-01-10 09:00:00"},
            {"text": "STOP", "sender": "37065555555", "at": "2025-01-20 13:00:00"},  # 1 h ago (UTC+2)
        ]
    )
    waiting = waiting_too_long(table, record(), {"Telia"}, NOW, timedelta(hours=24))
    assert waiting.count == 2 and waiting.oldest is not None
    assert (waiting.oldest.subscriber, waiting.oldest.first_opted_out_at) == (
        "+37061234567",
        local("2025-01-15 09:00:00"),
    )
    done = waiting_too_long(table, record(row("+37061234567", "pushed")), {"Telia"}, NOW, timedelta(hours=24))
    assert (done.count, done.oldest.subscriber if done.oldest else None) == (1, "+37069999999")
    assert waiting_too_long(table, record(), {"Telia"}, NOW, timedelta(days=30)).count == 0
