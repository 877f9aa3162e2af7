"""Message normalization (docs/rules.md §1): the one reading of a text that every rule matches against.

Rule words and poll options go through the same function as messages, so a rules file may
spell a keyword any way a subscriber could (`STOP`, `Opt-Out`, `ＳＴＯＰ`). `visible_text` is the
same reading without NFKC and casefolding, the text look-alike letters are judged on (§2).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

import icu
import pyarrow as pa
import pyarrow.compute as pc


def _default_ignorable_pattern() -> re.Pattern[str]:
    """Runs of Default_Ignorable_Code_Point characters: what renders as nothing (soft hyphen,
    zero-width space and joiners, word joiner, BOM, bidi marks, variation selectors, tags...).

    The set comes from ICU (the same library that gives the look-alike skeletons), not from a
    hand-kept list: Python's `unicodedata` has no such property, and a list typed here would lag
    behind Unicode. Compiled once into a stdlib character class of ICU's ranges, which is what
    makes removing them cheap.
    """
    ranges = icu.UnicodeSet("[:Default_Ignorable_Code_Point:]").ranges()
    members = "".join(f"\\U{ord(first):08x}-\\U{ord(last):08x}" for first, last in ranges)
    return re.compile(f"[{members}]+")


_DEFAULT_IGNORABLE = _default_ignorable_pattern()
_MINUS_SIGN = "\u2212"  # category Sm, yet read as a dash: `opt−out` is `opt out`


class _DashesToSpaces(dict[int, str]):
    """A `str.translate` table: every dash (Pd: hyphen-minus, en/em dash, ...), the minus sign
    and every connector (Pc: `_`) to a space, every other character to itself.

    Filled on demand from the running Python's Unicode database, one entry per distinct
    character seen, instead of a hand-kept list that would lag behind Unicode.
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        is_dash = unicodedata.category(char) in ("Pd", "Pc") or char == _MINUS_SIGN
        self[code] = replacement = " " if is_dash else char
        return replacement


_DASHES_TO_SPACES = _DashesToSpaces()


def _is_core(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def _is_attached_mark(char: str) -> bool:
    # A combining mark belongs to the base before it. (Variation selectors are marks too, but
    # they are default-ignorable and gone before the ends are looked at.)
    return unicodedata.category(char) in ("Mn", "Mc")


def _strip_ends(text: str) -> str:
    """Cut everything before the first letter or number and after the last one.

    What goes is punctuation, symbols (emoji, skin tones, flags), separators and controls.
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


def remove_invisible(text: str) -> str:
    """Step 1: drop every default-ignorable character, so `opt` + soft hyphen + `out` reads
    `optout` and `s` + zero-width space + `top` reads `stop` (none is ASCII, hence the shortcut)."""
    return text if text.isascii() else _DEFAULT_IGNORABLE.sub("", text)


def _spaced(text: str) -> str:
    """Step 3: dashes, the minus sign and underscores to spaces, one space per whitespace run."""
    # Most replies are ASCII; str.translate with a mapping is the slow path.
    ascii_only = text.isascii()
    spaced = text.replace("-", " ").replace("_", " ") if ascii_only else text.translate(_DASHES_TO_SPACES)
    return " ".join(spaced.split())


def visible_text(text: str) -> str:
    """Steps 1, 3 and 4 without NFKC and casefolding: the text as it looks, with invisible
    characters, dashes and end punctuation gone. Look-alike letters are judged on this (§2):
    NFKC would already turn some of them into the letters they imitate, and casefolding would
    hide the case that a confusable skeleton keeps."""
    return _strip_ends(_spaced(remove_invisible(text)))


def normalize_text(text: str) -> str:
    """Invisible characters out, NFKC and casefold, dashes/underscores to spaces, one space per
    run, ends stripped.

    Interior punctuation stays (`don't`, `hi, there`): only the ends are stripped, so a message
    that is nothing but punctuation or emoji normalizes to "".
    """
    # NFKC again after casefold: casefolding can leave an unnormalized sequence (`ß` + a
    # combining accent folds to `ss` + accent, which NFKC composes). With it, normalizing a
    # normalized text changes nothing, so a rule word may be written in its normalized form.
    # (No character NFKC or casefolding produces is default-ignorable, so step 1 need not repeat.)
    visible = remove_invisible(text)
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", visible).casefold())
    return _strip_ends(_spaced(folded))


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
