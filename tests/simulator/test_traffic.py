"""The simulator's traffic: deterministic, realistic, and rich enough to exercise the rules."""

from __future__ import annotations

import itertools
import re
import statistics
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from lightsms_pipeline.simulator.traffic import (
    DEDICATED_PHONE,
    SHARED_PHONE,
    SHARED_PREFIX,
    SimMessage,
    Traffic,
)

JAN = [date(2025, 1, 1) + timedelta(days=i) for i in range(31)]


def month(traffic: Traffic) -> list[SimMessage]:
    return [m for d in JAN for m in traffic.day(d)]


@pytest.fixture(scope="module")
def january() -> list[SimMessage]:
    return month(Traffic(seed=42, per_day=500))


def test_same_seed_same_day_gives_identical_messages() -> None:
    first = Traffic(seed=5, per_day=300)
    second = Traffic(seed=5, per_day=300)
    # The second instance sees other days first and in another order: no effect on Jan 15.
    for d in (date(2025, 1, 20), date(2024, 6, 1), date(2025, 1, 14)):
        second.day(d)
    assert first.day(date(2025, 1, 15)) == second.day(date(2025, 1, 15))
    assert repr(first.day(date(2025, 1, 15))) == repr(second.day(date(2025, 1, 15)))


def test_bounds_do_not_change_a_days_messages() -> None:
    bounded = Traffic(seed=5, per_day=300, start=date(2025, 1, 10), end=date(2025, 1, 20))
    assert bounded.day(date(2025, 1, 15)) == Traffic(seed=5, per_day=300).day(date(2025, 1, 15))


def test_different_seeds_give_different_messages() -> None:
    d = date(2025, 1, 15)
    assert Traffic(seed=1, per_day=100).day(d) != Traffic(seed=2, per_day=100).day(d)


def test_ids_strictly_increase_across_days(january: list[SimMessage]) -> None:
    ids = [int(m.id_sms) for m in january]
    assert all(a < b for a, b in itertools.pairwise(ids))
    assert all(re.fullmatch(r"[1-9][0-9]*", m.id_sms) for m in january)


def test_messages_are_sorted_by_time_then_id(january: list[SimMessage]) -> None:
    keys = [(m.date, int(m.id_sms)) for m in january]
    assert keys == sorted(keys)
    assert all(m.date.startswith(d.isoformat()) for d in JAN for m in Traffic().day(d)[:5])


def test_dates_are_provider_local_strings(january: list[SimMessage]) -> None:
    for m in january:
        assert datetime.strptime(m.date, "%Y-%m-%d %H:%M:%S")


def test_per_day_count_varies_around_per_day_and_weekends_are_quieter() -> None:
    traffic = Traffic(seed=9, per_day=400)
    days = [date(2025, 1, 6) + timedelta(days=i) for i in range(8 * 7)]
    counts = {d: len(traffic.day(d)) for d in days}
    weekday = statistics.mean(n for d, n in counts.items() if d.weekday() < 5)
    weekend = statistics.mean(n for d, n in counts.items() if d.weekday() >= 5)
    assert weekend < weekday
    assert 0.9 * 400 < statistics.mean(counts.values()) < 1.1 * 400
    assert len(set(counts.values())) > 20  # noise, not a constant


def test_per_day_zero_start_end_and_empty_days_give_no_messages() -> None:
    assert Traffic(per_day=0).day(date(2025, 1, 15)) == []
    bounded = Traffic(
        per_day=50,
        start=date(2025, 1, 10),
        end=date(2025, 1, 20),
        empty_days=frozenset({date(2025, 1, 12)}),
    )
    assert bounded.day(date(2025, 1, 9)) == []
    assert bounded.day(date(2025, 1, 21)) == []
    assert bounded.day(date(2025, 1, 12)) == []
    assert bounded.day(date(2025, 1, 10)) and bounded.day(date(2025, 1, 20))


def test_hours_follow_a_diurnal_curve(january: list[SimMessage]) -> None:
    hours = Counter(int(m.date[11:13]) for m in january)
    night = sum(hours[h] for h in range(0, 6))
    evening = sum(hours[h] for h in range(17, 23))
    assert night * 5 < evening


@pytest.mark.parametrize(
    ("day", "missing"),
    [(date(2025, 3, 30), "03"), (date(2024, 3, 31), "03")],  # spring forward in Vilnius
)
def test_no_message_in_the_spring_forward_gap(day: date, missing: str) -> None:
    messages = Traffic(seed=1, per_day=5000).day(day)
    assert messages
    assert not [m for m in messages if m.date[11:13] == missing]
    tz = ZoneInfo("Europe/Vilnius")
    for m in messages[::50]:
        local = datetime.strptime(m.date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
        assert local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None)


def test_autumn_repeated_hour_still_has_messages() -> None:
    messages = Traffic(seed=1, per_day=5000).day(date(2025, 10, 26))
    assert [m for m in messages if m.date[11:13] == "03"]


def test_texts_have_no_control_characters_except_newline_and_tab(
    january: list[SimMessage],
) -> None:
    bad = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
    for m in january:
        for value in (m.id_sms, m.date, m.sender, m.phone or "", m.prefix, m.text):
            assert bad.search(value) is None, value


def test_text_mix_exercises_the_domain_rules(january: list[SimMessage]) -> None:
    texts = Counter(m.text for m in january)
    # opt-outs in many spellings, opt-ins, help, votes, near-misses
    for expected in (
        "STOP",
        "ＳＴＯＰ",
        " STOP!! ",
        "stop 🙏",
        "stop-all",
        "OPT-OUT",
        "стоп",
        "atsisakyti",
        "START",
        "Yes",
        "HELP",
        "Info?",
        "A",
        " d ",
        "SOUP!",
        "E",
        "Cancel my order",
        "STOP PLEASE",
        "please stop texting me",
        "stopwatch",
    ):
        assert texts[expected] > 0, expected
    joined = "\n".join(texts)
    for fragment in ("ą", "ž", "Здравствуйте", "Dziękuję", "Bestellung", "👍🏽", "🇱🇹", "\t", "\\"):
        assert fragment in joined, fragment
    assert any("\n" in t for t in texts)
    assert any(c in t for t in texts for c in "&<>\"/'")
    assert any(300 <= len(t) <= 1200 for t in texts)
    assert all(len(t) <= 1200 for t in texts)
    assert any(t.startswith(f"{SHARED_PREFIX} ") for t in texts)


def test_text_classes_come_in_the_intended_proportions(january: list[SimMessage]) -> None:
    simple_opt_outs = {"STOP", "stop", "Stop.", " STOP!! ", "Unsubscribe", "CANCEL", "end", "Quit"}
    share = sum(m.text in simple_opt_outs for m in january) / len(january)
    assert 0.01 < share < 0.08  # a part of the 8% opt-out class
    votes = {"A", "b", "C.", " d ", "Pizza", "salad", "SOUP!", "Sushi", "E"}
    assert 0.06 < sum(m.text in votes for m in january) / len(january) < 0.14


def test_senders_repeat_across_a_month_and_cover_every_format(january: list[SimMessage]) -> None:
    senders = Counter(m.sender for m in january)
    assert senders.most_common(1)[0][1] > 100
    assert sum(1 for n in senders.values() if n >= 5) > 200
    kinds = Counter(_sender_kind(s) for s in senders)
    for kind in ("lt", "lv", "pl", "de", "uk", "us", "00", "national", "short", "alpha"):
        assert kinds[kind] > 0, kind
    assert kinds["lt"] > sum(kinds.values()) / 2


def _sender_kind(sender: str) -> str:
    prefixes = (
        ("00", "00"),
        ("3706", "lt"),
        ("3712", "lv"),
        ("485", "pl"),
        ("4915", "de"),
        ("447", "uk"),
        ("1", "us"),
        ("86", "national"),
    )
    if not sender.isdigit():
        return "alpha"
    if len(sender) <= 5:
        return "short"
    return next(kind for prefix, kind in prefixes if sender.startswith(prefix))


def test_international_senders_are_valid_phone_numbers(january: list[SimMessage]) -> None:
    for sender in {m.sender for m in january}:
        kind = _sender_kind(sender)
        if kind in ("alpha", "short"):
            continue
        if kind == "national":
            number = phonenumbers.parse(sender, "LT")
        else:
            number = phonenumbers.parse("+" + sender.removeprefix("00"))
        assert phonenumbers.is_valid_number(number), sender


def test_sender_pool_is_stable_across_days() -> None:
    traffic = Traffic(seed=3, per_day=200)
    later = Traffic(seed=3, per_day=200)
    later.day(date(2030, 1, 1))
    assert {m.sender for m in traffic.day(date(2025, 1, 2))} == {
        m.sender for m in later.day(date(2025, 1, 2))
    }


def test_receiving_phone_and_prefix(january: list[SimMessage]) -> None:
    pairs = Counter((m.phone, m.prefix) for m in january)
    assert set(pairs) == {(SHARED_PHONE, SHARED_PREFIX), (DEDICATED_PHONE, "")}
    assert pairs[(SHARED_PHONE, SHARED_PREFIX)] > pairs[(DEDICATED_PHONE, "")]


def test_missing_phone_rate_drops_the_phone_and_nothing_else() -> None:
    d = date(2025, 1, 15)
    full = Traffic(seed=4, per_day=400).day(d)
    sparse = Traffic(seed=4, per_day=400, missing_phone_rate=0.5).day(d)
    assert [(m.id_sms, m.date, m.sender, m.text) for m in full] == [
        (m.id_sms, m.date, m.sender, m.text) for m in sparse
    ]
    missing = sum(m.phone is None for m in sparse) / len(sparse)
    assert 0.35 < missing < 0.65
    assert all(m.phone is not None for m in full)


def test_window_is_inclusive_and_spans_days() -> None:
    traffic = Traffic(seed=8, per_day=300)
    both = traffic.day(date(2025, 1, 15)) + traffic.day(date(2025, 1, 16))
    first, last = both[10], both[-10]
    start = datetime.strptime(first.date, "%Y-%m-%d %H:%M:%S")
    end = datetime.strptime(last.date, "%Y-%m-%d %H:%M:%S")
    window = traffic.window(start, end)
    assert window == [m for m in both if first.date <= m.date <= last.date]
    assert window[0].date == first.date and window[-1].date == last.date
    assert traffic.window(end, start) == []


def test_concurrent_generation_returns_the_same_day() -> None:
    day = date(2025, 2, 2)
    alone = Traffic(seed=11, per_day=1000).day(day)  # generated once, in this thread only
    traffic = Traffic(seed=11, per_day=1000)
    start = threading.Barrier(8)

    def fetch() -> list[SimMessage]:
        start.wait(timeout=30)  # all eight generate the uncached day at once
        return traffic.day(day)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(fetch) for _ in range(8)]
        results = [f.result(timeout=60) for f in futures]  # re-raises a thread's exception
    assert len(results) == 8 and len(alone) > 500
    for result in results:
        assert result == alone


def test_per_day_beyond_the_id_space_is_refused() -> None:
    with pytest.raises(AssertionError):
        Traffic(per_day=999_999)
