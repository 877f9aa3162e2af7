"""How many SMS parts a text is billed as: GSM-7 160 (153 a part when split), UCS-2 70 (67).

Written once, here, so that the rules file's validation (the parts a reply will cost,
docs/rules.md §9) and the simulator's `send.php` (its `count_sms`, docs/lightsms-api.md §9)
cannot disagree. Here rather than in rules/ because the simulator imports it, and normalize/
imports nothing heavy (rules/ loads pyarrow).

A text is GSM-7 when every character is in the GSM 03.38 basic set or its extension table; an
extension character (`€`, `[`, `{`, ...) takes two septets, and a split never cuts one in half.
Any other character makes the whole text UCS-2, counted in UTF-16 code units (an emoji is two),
and a split never cuts a surrogate pair. LightSMS documents only "70 characters for messages
with special characters" and 160 for GSM texts; the multipart sizes are the GSM standard's
(a 6- or 7-byte user-data header in every part).
"""

from __future__ import annotations

GSM7_SINGLE = 160
GSM7_MULTIPART = 153
UCS2_SINGLE = 70
UCS2_MULTIPART = 67

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def is_gsm7(text: str) -> bool:
    """Whether `text` can be sent in the GSM 7-bit alphabet (basic set and extension table)."""
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text)


def sms_parts(text: str) -> int:
    """The number of SMS parts `text` is billed as; 0 for an empty text (nothing to send)."""
    if not text:
        return 0
    if is_gsm7(text):
        units = [2 if ch in _GSM7_EXTENSION else 1 for ch in text]
        return _parts(units, GSM7_SINGLE, GSM7_MULTIPART)
    units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # a surrogate pair is two UTF-16 units
    return _parts(units, UCS2_SINGLE, UCS2_MULTIPART)


def _parts(units: list[int], single: int, per_part: int) -> int:
    """Parts for characters of `units` size each: one if all fit in `single`, else packed
    `per_part` at a time, a character that does not fit whole starting the next part."""
    if sum(units) <= single:
        return 1
    parts, used = 1, 0
    for size in units:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts
