"""`sms_parts`: the parts LightSMS bills a text as, the one count rules and simulator share."""

from __future__ import annotations

import pytest

from lightsms_pipeline.normalize.sms_parts import is_gsm7, sms_parts


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 153 * 2, 2),
        ("a" * (153 * 2 + 1), 3),
        ("€" * 80, 1),  # an extension character is two septets: 160
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 10, 2),  # 164 septets; the € does not fit part one whole: 152 + 12
        ("a" * 152 + "€" + "a" * 152, 3),  # ... so part two holds 2 + 151 and a third is needed
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
        ("😀" * 35, 1),  # two UTF-16 units each: 70
        ("a" * 66 + "😀", 1),
        ("a" * 66 + "😀" + "a", 1),  # 69 units
    ],
)
def test_parts_follow_gsm7_and_ucs2_sizes(text: str, parts: int) -> None:
    assert sms_parts(text) == parts


def test_a_surrogate_pair_is_never_cut_between_parts() -> None:
    assert sms_parts("a" * 66 + "😀" + "a" * 10) == 2  # 78 units: 66 (the pair does not fit 67) + 12
    assert sms_parts("a" * 65 + "😀" + "a" * 69) == 3  # 136 units: 67, 67, 2


def test_one_character_outside_gsm7_makes_the_whole_text_ucs2() -> None:
    assert is_gsm7("Reply STOP to cancel. Müller & Co, 5€")
    assert not is_gsm7("Reply STOP to cancel ✓")
    assert sms_parts("a" * 100) == 1 and sms_parts("a" * 99 + "✓") == 2
