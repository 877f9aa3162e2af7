"""docs/rules.md §2: one class per message, the first matching rule winning."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from message_tables import LUNCH_POLL, TZ, build_incoming, rules_with

from lightsms_pipeline.normalize.schema import incoming_schema
from lightsms_pipeline.rules import classified_schema, classify, load_rules, subscriber

DEFAULTS = load_rules(None)
WITH_LUNCH = rules_with(polls=[LUNCH_POLL])
OUTPUT = ["class", "keyword", "poll_id", "poll_option", "possible_opt_out"]


def classes(texts: list[str], rules: Any = DEFAULTS, **row: Any) -> list[dict[str, Any]]:
    table = classify(build_incoming([{"text": text, **row} for text in texts]), rules)
    return table.select(OUTPUT).to_pylist()


def one(text: str, rules: Any = DEFAULTS, **row: Any) -> dict[str, Any]:
    return classes([text], rules, **row)[0]


def keyword(word_class: str, word: str) -> dict[str, Any]:
    return {
        "class": word_class,
        "keyword": word,
        "poll_id": None,
        "poll_option": None,
        "possible_opt_out": False,
    }


def vote(option: str, poll_id: str = "lunch") -> dict[str, Any]:
    return {
        "class": "poll_vote",
        "keyword": None,
        "poll_id": poll_id,
        "poll_option": option,
        "possible_opt_out": False,
    }


def other(possible_opt_out: bool = False) -> dict[str, Any]:
    return {
        "class": "other",
        "keyword": None,
        "poll_id": None,
        "poll_option": None,
        "possible_opt_out": possible_opt_out,
    }


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("STOP", "stop"),
        ("Stop", "stop"),
        ("sToP", "stop"),
        ("ＳＴＯＰ", "stop"),
        (" Stop. ", "stop"),
        ("STOP!!", "stop"),
        ("stop 🙏", "stop"),
        ("Stop\n", "stop"),
        ("stopall", "stopall"),
        ("STOPALL", "stopall"),
        ("STOP ALL", "stop all"),
        ("stop-all", "stop all"),
        ("Unsubscribe", "unsubscribe"),
        ("CANCEL", "cancel"),
        ("end", "end"),
        ("Quit", "quit"),
        ("revoke", "revoke"),
        ("optout", "optout"),
        ("opt out", "opt out"),
        ("OPT-OUT", "opt out"),
        ("opt_out", "opt out"),
    ],
)
def test_every_opt_out_spelling_is_an_opt_out(text: str, word: str) -> None:
    assert one(text) == keyword("opt_out", word)


@pytest.mark.parametrize(
    ("text", "word_class", "word"),
    [
        ("START", "opt_in", "start"),
        ("unstop", "opt_in", "unstop"),
        ("Yes", "opt_in", "yes"),
        ("YES!", "opt_in", "yes"),
        ("HELP", "help", "help"),
        ("info", "help", "info"),
        ("Info?", "help", "info"),
    ],
)
def test_opt_in_and_help_words(text: str, word_class: str, word: str) -> None:
    assert one(text) == keyword(word_class, word)


@pytest.mark.parametrize(
    ("text", "possible_opt_out"),
    [
        ("Cancel my order", True),
        ("STOP PLEASE", True),
        ("please stop texting me", True),
        ("don't stop", True),
        ("Can I stop my subscription next month?", True),
        ("I want to opt-out now", True),
        ("end of the month is fine", True),
        ("stopwatch", False),
        ("unstoppable", False),
        ("opt for the outer one", False),
        ("Thanks!", False),
        ("👍🏽", False),
    ],
)
def test_keywords_match_the_whole_message_only(text: str, possible_opt_out: bool) -> None:
    assert one(text) == other(possible_opt_out)


def test_a_multi_word_opt_out_is_flagged_as_a_phrase_only() -> None:
    assert one("opt. out")["possible_opt_out"] is False
    assert one("please opt out of this")["possible_opt_out"] is True


def matched(text: str, rules: Any = DEFAULTS, **row: Any) -> dict[str, Any]:
    table = classify(build_incoming([{"text": text, **row}]), rules)
    return table.select(["class", "keyword", "keyword_match", "possible_opt_out"]).to_pylist()[0]


def look_alike(word: str) -> dict[str, Any]:
    return {"class": "opt_out", "keyword": word, "keyword_match": "look_alike", "possible_opt_out": False}


def exact(word_class: str, word: str) -> dict[str, Any]:
    return {"class": word_class, "keyword": word, "keyword_match": "exact", "possible_opt_out": False}


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("ЅТОР", "stop"),  # Cyrillic capitals
        ("ѕтор", "stop"),  # Cyrillic small letters: upper-cased, then compared
        ("ΕΝD", "end"),  # Greek capitals
        ("ST0P", "stop"),  # zero for O
        ("QUlT", "quit"),  # small L for capital I
        ("Ѕtop!", "stop"),  # one Cyrillic letter among Latin ones
        ("0PT-0UT", "opt out"),
    ],
)
def test_a_look_alike_opt_out_is_an_opt_out_naming_the_keyword_it_imitates(text: str, word: str) -> None:
    assert matched(text) == look_alike(word)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("opt\u00adout", "optout"),  # soft hyphen
        ("s\u200btop", "stop"),  # zero-width space
        ("opt\u2212out", "opt out"),  # minus sign
        ("opt–out", "opt out"),  # en dash
        ("stop ✓", "stop"),
        ("STOP", "stop"),
    ],
)
def test_invisible_characters_and_dashes_leave_an_exact_opt_out(text: str, word: str) -> None:
    assert matched(text) == exact("opt_out", word)


def test_opt_in_and_help_keywords_match_exactly() -> None:
    assert matched("YES!") == exact("opt_in", "yes")
    assert matched("Info?") == exact("help", "info")


def test_a_keycap_digit_after_stop_is_no_opt_out_but_is_flagged() -> None:
    result = classify(build_incoming([{"text": "STOP 1️⃣"}]), DEFAULTS).to_pylist()[0]
    assert (result["normalized_text"], result["class"], result["keyword_match"]) == ("stop 1", "other", None)
    assert result["possible_opt_out"] is True


@pytest.mark.parametrize("text", ["stoop", "Cancel my order", "Stop by tomorrow", "ЅТОРwatch", "and"])
def test_near_misses_do_not_opt_out(text: str) -> None:
    assert matched(text)["class"] == "other"
    assert matched(text)["keyword_match"] is None


@pytest.mark.parametrize(
    "text", ["please ЅТОР", "please s\u200btop texting", "ST0P texting me", "please ѕтор now"]
)
def test_a_look_alike_or_hidden_opt_out_word_inside_a_message_is_flagged(text: str) -> None:
    assert one(text) == other(possible_opt_out=True)


def test_a_poll_vote_is_never_read_as_a_look_alike() -> None:
    poll = dict(LUNCH_POLL, options={"A": "Pizza", "O": "Olives", "0": "None"})
    rules = rules_with(polls=[poll])
    assert classes(["A", "a", "O", "0", "ST0P"], rules) == [
        vote("A"),
        vote("A"),
        vote("O"),
        vote("0"),
        keyword("opt_out", "stop"),
    ]


def test_keyword_match_is_null_for_votes_and_other_messages() -> None:
    table = classify(build_incoming([{"text": t} for t in ["a", "hello", "YES"]]), WITH_LUNCH)
    assert table["keyword_match"].to_pylist() == [None, None, "exact"]


def test_a_russian_stop_opts_out_only_when_configured() -> None:
    assert matched("стоп") == {
        "class": "other",
        "keyword": None,
        "keyword_match": None,
        "possible_opt_out": False,
    }
    with_russian = rules_with(extra_opt_out_words=["стоп"])
    assert matched("СТОП", with_russian) == exact("opt_out", "стоп")


def test_extra_languages_come_from_configuration() -> None:
    assert one("СТОП") == other()
    with_lithuanian = rules_with(extra_opt_out_words=["стоп", "atsisakyti"])
    assert one("СТОП", with_lithuanian) == keyword("opt_out", "стоп")
    assert one("Atsisakyti.", with_lithuanian) == keyword("opt_out", "atsisakyti")
    assert one("noriu atsisakyti", with_lithuanian) == other(possible_opt_out=True)


@pytest.mark.parametrize(
    ("text", "option"),
    [("a", "A"), ("A.", "A"), ("pizza", "A"), ("PIZZA!", "A"), ("b", "B"), ("C.", "C"),
     (" d ", "D"), ("Sushi", "D"), ("SOUP!", "C"), ("salad", "B")],
)  # fmt: skip
def test_a_reply_equal_to_an_option_key_or_label_is_a_vote(text: str, option: str) -> None:
    assert one(text, WITH_LUNCH) == vote(option)


def test_a_reply_that_is_no_option_is_other() -> None:
    assert classes(["E", "Pizza please", "a b"], WITH_LUNCH) == [other(), other(), other()]


def test_stop_wins_over_a_poll_vote() -> None:
    poll = dict(LUNCH_POLL, options={"A": "Stop", "B": "Go"})
    assert one("STOP", rules_with(polls=[poll])) == keyword("opt_out", "stop")
    assert one("a", rules_with(polls=[poll])) == vote("A")


def test_a_vote_wins_over_an_opt_in_or_help_word_while_the_poll_runs() -> None:
    poll = dict(LUNCH_POLL, options={"Yes": "Yes", "Info": "More info"})
    rules = rules_with(polls=[poll])
    assert classes(["YES", "info"], rules) == [vote("Yes"), vote("Info")]
    outside = "2025-02-01 12:00:00"
    assert classes(["YES", "info"], rules, at=outside) == [
        keyword("opt_in", "yes"),
        keyword("help", "info"),
    ]


@pytest.mark.parametrize(
    ("at", "is_vote"),
    [
        ("2025-01-09 23:59:59", False),
        ("2025-01-10 00:00:00", True),
        ("2025-01-20 23:59:59", True),
        ("2025-01-20 23:59:59.999999", True),
        ("2025-01-21 00:00:00", False),
    ],
)
def test_a_poll_window_is_inclusive_at_both_ends(at: str, is_vote: bool) -> None:
    assert one("A", WITH_LUNCH, at=at) == (vote("A") if is_vote else other())


def test_the_window_is_provider_local_time_whatever_the_column_time_zone() -> None:
    table = build_incoming([{"text": "A", "at": "2025-01-10 00:30:00"}])
    in_utc = table.cast(incoming_schema("UTC"))  # the same instant, 2025-01-09 22:30 UTC
    result = classify(in_utc, WITH_LUNCH)
    assert result.select(OUTPUT).to_pylist() == [vote("A")]
    assert result.schema == classified_schema(TZ)


def test_phone_and_prefix_filters() -> None:
    poll = dict(LUNCH_POLL, phone="5163251632", prefix="51632")
    rules = rules_with(polls=[poll])
    assert one("A", rules, phone="5163251632", prefix="51632") == vote("A")
    assert one("A", rules, phone="37052000000", prefix="51632") == other()
    assert one("A", rules, phone="5163251632", prefix="") == other()
    assert one("A", rules, phone=None, prefix="51632") == other()
    assert one("A", rules, phone="5163251632", prefix=None) == other()


def test_an_empty_prefix_filter_selects_unprefixed_messages() -> None:
    rules = rules_with(polls=[dict(LUNCH_POLL, prefix="")])
    assert one("A", rules, prefix="") == vote("A")
    assert one("A", rules, prefix="51632") == other()
    assert one("A", rules, prefix=None) == other()


def test_overlapping_polls_first_declared_matching_poll_wins() -> None:
    drinks = {**LUNCH_POLL, "id": "drinks", "options": {"A": "Water", "B": "Juice"}}
    rules = rules_with(polls=[LUNCH_POLL, drinks])
    assert classes(["a", "juice", "pizza", "water"], rules) == [
        vote("A", "lunch"),
        vote("B", "drinks"),
        vote("A", "lunch"),
        vote("A", "drinks"),
    ]


def test_a_poll_out_of_scope_leaves_the_message_to_the_next_poll() -> None:
    first = dict(LUNCH_POLL, id="shared", phone="5163251632")
    second = dict(LUNCH_POLL, id="dedicated", phone="37052000000")
    rules = rules_with(polls=[first, second])
    assert one("A", rules, phone="37052000000") == vote("A", "dedicated")


def test_classify_keeps_every_incoming_column_and_the_raw_text() -> None:
    table = build_incoming([{"text": " Stop. ", "sender": "PAYSERA"}])
    result = classify(table, DEFAULTS)
    assert result.select(incoming_schema(TZ).names).equals(table)
    assert result["normalized_text"].to_pylist() == ["stop"]


def test_classify_returns_exactly_the_classified_schema_even_when_empty() -> None:
    empty = incoming_schema(TZ).empty_table()
    assert classify(empty, WITH_LUNCH).schema == classified_schema(TZ)
    assert classify(empty, WITH_LUNCH).num_rows == 0


def test_classify_drops_columns_it_does_not_know() -> None:
    table = build_incoming([{"text": "hi"}])
    with_date = table.append_column("date", pa.array(["2025-01-15"]))
    assert classify(with_date, DEFAULTS).schema == classified_schema(TZ)


def test_the_subscriber_is_the_e164_sender_else_the_raw_sender() -> None:
    table = build_incoming(
        [
            {"text": "x", "sender": "37061234567"},
            {"text": "x", "sender": "0037061234567", "sender_e164": "+37061234567"},
            {"text": "x", "sender": "PAYSERA"},
            {"text": "x", "sender": "1234"},
        ]
    )
    assert subscriber(table).to_pylist() == ["+37061234567", "+37061234567", "PAYSERA", "1234"]


def test_many_rows_repeating_texts_classify_like_one() -> None:
    texts = ["STOP", "a", "Hello", "yes"] * 2_500
    result = classify(build_incoming([{"text": t} for t in texts]), WITH_LUNCH)
    assert result["class"].value_counts().to_pylist() == [
        {"values": "opt_out", "counts": 2_500},
        {"values": "poll_vote", "counts": 2_500},
        {"values": "other", "counts": 2_500},
        {"values": "opt_in", "counts": 2_500},
    ]
    assert result["received_at"].type == pa.timestamp("us", tz=TZ)
    assert result["received_at"][0].as_py() == dt.datetime.fromisoformat("2025-01-15T12:00:00+02:00")
