"""The live pick-up's decisions without Dagster or HTTP (ingest/live.py): the window it asks,
the days a new message names around midnight, what the cursor keeps and how it is stored."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from lightsms_pipeline.ingest.live import OVERLAP, LiveCursor, pick_up, window_to_ask


def test_messages_on_both_sides_of_midnight_name_both_days():
    now = datetime(2025, 3, 1, 0, 0, 30)
    cursor = LiveCursor(datetime(2025, 2, 28, 23, 59, 50), frozenset({"10"}))
    window = window_to_ask(cursor, now)
    assert window.start == cursor.until - OVERLAP and window.end == now
    found = pick_up(
        cursor,
        window,
        ["10", "11", "12"],
        ["2025-02-28 23:59:40", "2025-02-28 23:59:58", "2025-03-01 00:00:01"],
    )
    assert found.new_ids == ("11", "12")
    assert found.days == (date(2025, 2, 28), date(2025, 3, 1))


def test_the_cursor_keeps_only_the_ids_dated_inside_the_next_overlap_and_survives_storage():
    now = datetime(2025, 3, 1, 12, 0, 0)
    window = window_to_ask(None, now)
    old = (now - OVERLAP - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    recent = (now - OVERLAP).strftime("%Y-%m-%d %H:%M:%S")
    found = pick_up(None, window, ["7", "8"], [old, recent])
    assert found.cursor.seen == frozenset({"8"})
    assert LiveCursor.from_text(found.cursor.to_text()) == found.cursor
    assert LiveCursor.from_text("not json") is None


def test_the_run_key_is_the_same_for_the_same_arrivals_and_differs_for_others():
    window = window_to_ask(None, datetime(2025, 3, 1, 12, 0, 0))
    dates = ["2025-03-01 11:59:00"] * 2
    first, again = pick_up(None, window, ["5", "6"], dates), pick_up(None, window, ["6", "5"], dates)
    other = pick_up(None, window, ["5", "9"], dates)
    assert first.run_key == again.run_key != other.run_key
