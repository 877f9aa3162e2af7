"""docs/rules.md §2: look-alike letters read as the opt-out keyword they imitate, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from message_tables import rules_with

from lightsms_pipeline.rules import RulesFileError, load_rules
from lightsms_pipeline.rules.lookalikes import LookAlikes, _icu_skeleton, skeleton
from lightsms_pipeline.rules.text import remove_invisible

DEFAULTS = load_rules(None)
LOOK_ALIKES = LookAlikes(DEFAULTS.opt_out_keywords())


@pytest.mark.parametrize(
    ("text", "prototype"),
    [
        ("ЅТОР", "STOP"),  # Cyrillic DZE, TE, O, ER
        ("ST0P", "STOP"),  # a zero for an O
        ("ΕΝD", "END"),  # Greek EPSILON, NU
        ("QUIT", "QUlT"),  # a capital I and a small l share a prototype
        ("QUlT", "QUlT"),
    ],
)
def test_skeleton_is_the_ts39_prototype(text: str, prototype: str) -> None:
    assert skeleton(text) == prototype


def test_skeleton_keeps_case_so_lower_case_look_alikes_are_upper_cased_first() -> None:
    assert skeleton("ѕтор") != skeleton("STOP")
    assert skeleton("ѕтор".upper()) == skeleton("STOP")


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("ЅТОР", "stop"),
        ("ѕтор", "stop"),
        ("Ѕтор!", "stop"),
        ("ST0P", "stop"),
        ("st0p", "stop"),
        ("QUlT", "quit"),
        ("ΕΝD", "end"),
        ("0PT-0UT", "opt out"),
        ("ЅТОР ALL", "stop all"),
        ("s\u200bT0P", "stop"),
        ("UNSUBSCRlBE", "unsubscribe"),  # as long as the longest keyword
    ],
)
def test_a_look_alike_names_the_keyword_it_imitates(text: str, keyword: str) -> None:
    assert LOOK_ALIKES.imitated(text) == keyword


@pytest.mark.parametrize(
    "text",
    ["stoop", "STEP", "atop", "and", "AND", "send", "quilt", "Cancel my order", "Stop by tomorrow",
     "стоп", "СТОП", "A", "a", "B", "b", "C", "D", "yes", "start", "help", "info", "ok", "", "51632 ST0P"],
)  # fmt: skip
def test_ordinary_words_imitate_no_keyword(text: str) -> None:
    assert LOOK_ALIKES.imitated(text) is None


@pytest.mark.parametrize(
    ("text", "mentioned"),
    [
        ("please ЅТОР", True),
        ("please ЅТОР!", True),
        ("ST0P texting me", True),
        ("no more, ΕΝD it", True),
        ("please stop texting me", True),
        ("stopwatch", False),
        ("ЅТОРwatch", False),
        ("unstoppable", False),
        ("opt. out", False),
        ("Thanks!", False),
    ],
)
def test_a_look_alike_inside_a_longer_message_is_a_separate_word_mention(text: str, mentioned: bool) -> None:
    assert LOOK_ALIKES.mentioned(text) is mentioned


def test_configured_opt_out_words_get_look_alikes_too() -> None:
    with_russian = rules_with(extra_opt_out_words=["стоп"])
    look_alikes = LookAlikes(with_russian.opt_out_keywords())
    assert look_alikes.imitated("CTOП") == "стоп"  # Latin C, T, O and a Cyrillic PE
    assert LOOK_ALIKES.imitated("CTOП") is None


def test_a_keyword_of_another_class_that_looks_like_an_opt_out_word_is_refused() -> None:
    with pytest.raises(RulesFileError, match="'ST0P' \\(opt_in\\) looks like the opt-out word 'stop'"):
        rules_with(extra_opt_in_words=["ST0P"])


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_the_ascii_shortcut_gives_icus_skeleton(text: str) -> None:
    assert skeleton(text) == _icu_skeleton(text)


@given(st.text())
def test_a_skeleton_is_never_shorter_than_its_visible_text(text: str) -> None:
    # LookAlikes relies on it to skip whole-message matching of long messages.
    visible = remove_invisible(text)
    assert len(skeleton(visible)) >= len(visible)
