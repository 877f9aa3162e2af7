"""sms-rules §1: how a message reads before any rule looks at it."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lightsms_pipeline.rules.text import normalize_text, normalize_texts


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        # The examples of sms-rules §1 and the brief.
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
