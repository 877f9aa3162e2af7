"""Message normalization (sms-rules §1): the one reading of a text that every rule matches against.

Rule words and poll options go through the same function as messages, so a rules file may
spell a keyword any way a subscriber could (`STOP`, `Opt-Out`, `ＳＴＯＰ`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# Variation selectors (text/emoji presentation) are combining marks in Unicode, but they never
# belong to a letter: at the ends of a message they are emoji residue, so they are stripped.
_VARIATION_SELECTORS = frozenset(
    [chr(c) for c in range(0xFE00, 0xFE10)] + [chr(c) for c in range(0xE0100, 0xE01F0)]
)


class _DashesToSpaces(dict[int, str]):
    """A `str.translate` table: every dash (Pd: hyphen-minus, en/em dash, ...) and connector
    (Pc: `_`) to a space, every other character to itself.

    Filled on demand from the running Python's Unicode database, one entry per distinct
    character seen, instead of a hand-kept list that would lag behind Unicode.
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        self[code] = replacement = " " if unicodedata.category(char) in ("Pd", "Pc") else char
        return replacement


_DASHES_TO_SPACES = _DashesToSpaces()


def _is_core(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def _is_attached_mark(char: str) -> bool:
    # A combining mark belongs to the base before it; variation selectors never count.
    return unicodedata.category(char) in ("Mn", "Mc") and char not in _VARIATION_SELECTORS


def _strip_ends(text: str) -> str:
    """Cut everything before the first letter or number and after the last one.

    What goes is punctuation, symbols (emoji, skin tones, flags), separators and controls (ZWJ).
    A combining mark stays when it sits on a letter or number, so a word ending in a vowel sign
    (Devanagari, Thai) keeps it; an enclosing mark (the keycap of `1️⃣`) never counts. Only the
    ends are scanned: interior text is never looked at.
    """
    start = 0
    while start < len(text) and not _is_core(text[start]):
        start += 1
    if start == len(text):
        return ""
    end = len(text)
    while not _is_core(text[end - 1]):
        if _is_attached_mark(text[end - 1]):
            base = end - 1
            while _is_attached_mark(text[base]):
                base -= 1  # stops at text[start] at the latest, a letter or number
            if _is_core(text[base]):
                break
            end = base
        else:
            end -= 1
    return text[start:end]


def normalize_text(text: str) -> str:
    """NFKC and casefold, dashes/underscores to spaces, one space per run, ends stripped.

    Interior punctuation stays (`don't`, `hi, there`): only the ends are stripped, so a message
    that is nothing but punctuation or emoji normalizes to "".
    """
    # NFKC again after casefold: casefolding can leave an unnormalized sequence (`ß` + a
    # combining accent folds to `ss` + accent, which NFKC composes). With it, normalizing a
    # normalized text changes nothing, so a rule word may be written in its normalized form.
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    if folded.isascii():  # most replies; str.translate with a mapping is the slow path
        spaced = folded.replace("-", " ").replace("_", " ")
    else:
        spaced = folded.translate(_DASHES_TO_SPACES)
    collapsed = " ".join(spaced.split())
    return _strip_ends(collapsed)


def map_distinct(
    column: pa.Array | pa.ChunkedArray, function: Callable[[Any], Any], value_type: pa.DataType
) -> pa.Array | pa.ChunkedArray:
    """`function` of each row's value, called once per distinct value; nulls stay null.

    Replies repeat heavily (`STOP`, `A`, `yes`), so the Python-level work is per distinct value
    and the per-row work is one hash lookup and one take.
    """
    distinct = pc.unique(column)
    values = pa.array([None if v is None else function(v) for v in distinct.to_pylist()], value_type)
    return pc.take(values, pc.index_in(column, value_set=distinct))


def normalize_texts(texts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """`normalize_text` over an Arrow string column, each distinct text normalized once."""
    return map_distinct(texts, normalize_text, pa.string())
