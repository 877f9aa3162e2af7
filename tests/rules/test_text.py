"""docs/rules.md §1: how a message reads before any rule looks at it."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lightsms_pipeline.rules.text import normalize_text, normalize_texts, visible_text


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        # The examples of docs/rules.md §1 and the brief.
        ("ＳＴＯＰ", "stop"),
        ("Stop", "stop"),
        ("sToP", "stop"),
        (" Stop. ", "stop"),
        ("STOP!!", "stop"),
        ("stop 🙏", "stop"),
        ("stop-all", "stop all"),
        ("OPT_OUT", "opt out"),
        ("Hi,\nthere", "hi, there"),
        ("A.", "a"),
        ("👍🏽", ""),
        # Spellings the simulator sends.
        (" STOP!! ", "stop"),
        ("Stop\n", "stop"),
        ("OPT-OUT", "opt out"),
        ("STOP ALL", "stop all"),
        ("YES!", "yes"),
        ("Info?", "info"),
        (" d ", "d"),
        ("SOUP!", "soup"),
        ("Thank you for the reminder 👍🏽", "thank you for the reminder"),
        ("👨‍👩‍👧‍👦 family plan please", "family plan please"),
        ("🇱🇹🇵🇱🇩🇪", ""),
        ("❤️", ""),
    ],
)
def test_normalizes_the_rules_examples(raw: str, normalized: str) -> None:
    assert normalize_text(raw) == normalized


def test_soft_hyphen_inside_opt_out_is_removed() -> None:
    assert normalize_text("opt\u00adout") == "optout"


def test_zero_width_space_inside_stop_is_removed() -> None:
    assert normalize_text("s\u200btop") == "stop"


@pytest.mark.parametrize(
    "invisible",
    [
        "\u200c",  # zero-width non-joiner
        "\u200d",  # zero-width joiner
        "\u2060",  # word joiner
        "\ufeff",  # BOM / zero-width no-break space
        "\u200e",  # left-to-right mark
        "\u202e",  # right-to-left override
        "\u2066",  # left-to-right isolate
        "\ufe0f",  # variation selector 16
        "\U000e0101",  # variation selector 18
        "\u034f",  # combining grapheme joiner
        "\u180e",  # Mongolian vowel separator
    ],
)
def test_every_default_ignorable_character_is_removed_first(invisible: str) -> None:
    assert normalize_text(f"{invisible}S{invisible}TOP{invisible}") == "stop"
    assert normalize_text(f"opt{invisible}-{invisible}out") == "opt out"


def test_the_minus_sign_is_a_dash() -> None:
    assert normalize_text("opt\u2212out") == "opt out"


@pytest.mark.parametrize("dash", ["\u2010", "\u2011", "\u2013", "\u2014", "\u2015", "\ufe63", "\uff0d"])
def test_every_dash_category_pd_is_a_space(dash: str) -> None:
    assert normalize_text(f"opt{dash}out") == "opt out"


def test_en_dash_inside_opt_out_is_a_space() -> None:
    assert normalize_text("opt–out") == "opt out"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("STOP ✓", "stop"), ("stop ✓", "stop"), ("stop 🙏", "stop"), ("STOP 1️⃣", "stop 1"), ("❤️", "")],
)
def test_end_symbols_still_go_once_invisible_characters_are_removed(raw: str, normalized: str) -> None:
    # Emoji carry variation selectors and joiners, which step 1 removes before the ends are cut.
    assert normalize_text(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "visible"),
    [
        ("ЅТОР", "ЅТОР"),
        (" Ѕtop! ", "Ѕtop"),
        ("ＳＴＯＰ", "ＳＴＯＰ"),
        ("s\u200bT0P", "sT0P"),
        ("OPT\u2212OUT", "OPT OUT"),
        ("opt_out 🙏", "opt out"),
        ("STOP 1️⃣", "STOP 1"),
    ],
)
def test_visible_text_keeps_case_and_compatibility_forms(raw: str, visible: str) -> None:
    # Look-alikes are judged on this: no NFKC, no casefold, steps 1, 3 and 4 only.
    assert visible_text(raw) == visible


def test_every_dash_and_whitespace_run_becomes_one_space() -> None:
    assert normalize_text("stop\t\t— all\r\n now") == "stop all now"


def test_interior_punctuation_stays() -> None:
    assert normalize_text("Don't stop!") == "don't stop"
    assert normalize_text("«Order #12345 / invoice»") == "order #12345 / invoice"


def test_casefold_goes_beyond_lowercase() -> None:
    assert normalize_text("STRASSE") == normalize_text("Straße") == "strasse"


def test_keycap_emoji_reads_as_its_digit() -> None:
    assert normalize_text("1️⃣") == "1"


def test_a_combining_mark_ending_a_word_stays() -> None:
    # Devanagari "namaste" ends in a vowel sign (a combining mark); it is part of the word.
    assert normalize_text("नमस्ते!") == "नमस्ते"


def test_normalize_texts_is_normalize_text_per_row_and_keeps_nulls() -> None:
    texts = pa.chunked_array([["STOP", " Stop. ", None], ["A.", "STOP", "Hi,\nthere"]])
    assert normalize_texts(texts).to_pylist() == ["stop", "stop", None, "a", "stop", "hi, there"]


def test_normalize_texts_of_an_empty_column_is_empty() -> None:
    assert normalize_texts(pa.array([], pa.string())).to_pylist() == []


@given(st.text())
def test_normalizing_twice_changes_nothing(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert once == once.strip()


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_an_ascii_text_normalizes_to_its_visible_text_in_lower_case(text: str) -> None:
    # classify reads ASCII texts this way instead of running NFKC and casefold.
    assert normalize_text(text) == visible_text(text).lower()
