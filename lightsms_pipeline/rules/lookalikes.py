"""Look-alike opt-out keywords (docs/rules.md §2): `ЅТОР` in Cyrillic, `ΕΝD` in Greek, `ST0P`, `QUlT`.

Two texts look alike when their confusable skeletons (Unicode TS #39) are equal. A message is
compared, as written and upper-cased, after the visible-text steps of §1 (`text.visible_text`),
with each opt-out keyword upper-cased: the skeleton keeps case (`ѕ` and `S` have different
skeletons), and keywords are capitals in their canonical form. Only opt-out keywords are read
this way; a poll vote or an opt-in must match exactly, so `A` never becomes anything else.

The skeleton comes from ICU's `SpoofChecker` (the reference implementation of TS #39, with the
confusables data of its Unicode version) through `pyicu-wheels`, which ships PyICU with ICU
bundled, so pip installs it without a system ICU. The pure-Python alternatives either map
characters both ways without the TS #39 direction (`confusable-homoglyphs`) or ship 2020 data
and install a top-level `tests` package that would shadow this project's (`confusables`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import icu

from lightsms_pipeline.rules.text import visible_text

# One checker for the process: building it loads ICU's data, and ICU allows concurrent
# `getSkeleton` calls on a checker that is no longer being configured.
_SPOOF_CHECKER = icu.SpoofChecker()


def _icu_skeleton(text: str) -> str:
    # The first argument is the legacy USPOOF_ANY_CASE flag; ICU 58+ ignores it.
    result: str = _SPOOF_CHECKER.getSkeleton(0, text)
    return result


def _ascii_skeletons() -> dict[int, str] | None:
    """ICU's prototype of each ASCII character, as a `str.translate` table.

    ASCII is already NFD, and when every prototype is NFD and starts no combining sequence, the
    skeleton of an ASCII text is the concatenation of its characters' prototypes: one
    `translate` instead of a call into ICU, for the bulk of SMS replies. None (always ICU) if a
    future ICU breaks that condition.
    """
    table = {code: _icu_skeleton(chr(code)) for code in range(128)}
    for prototype in table.values():
        if not unicodedata.is_normalized("NFD", prototype) or any(map(unicodedata.combining, prototype)):
            return None
    return table


_ASCII_SKELETONS = _ascii_skeletons()


def skeleton(text: str) -> str:
    """The TS #39 skeleton of `text` (NFD, each character to its prototype, NFD)."""
    if _ASCII_SKELETONS is not None and text.isascii():
        return text.translate(_ASCII_SKELETONS)
    return _icu_skeleton(text)


@dataclass(frozen=True, slots=True)
class LookAlikeReading:
    """What the opt-out look-alikes make of one message."""

    imitated: str | None  # the opt-out keyword (normalized) the whole message looks like
    mentioned: bool  # a look-alike of an opt-out keyword stands in it as a separate word


class LookAlikes:
    """The opt-out keywords by skeleton: which keyword a text imitates, or mentions as a word."""

    def __init__(self, keywords: Iterable[str]) -> None:
        """`keywords`: the normalized opt-out keywords, in declared order (the first of two
        that share a skeleton is the one reported)."""
        self._by_skeleton: dict[str, str] = {}
        for keyword in keywords:
            self._by_skeleton.setdefault(skeleton(keyword.upper()), keyword)
        # A skeleton is never shorter than its text once default-ignorables are gone (each
        # character maps to at least one), so a longer message can imitate no keyword whole.
        self._longest = max(map(len, self._by_skeleton), default=0)
        alternatives = "|".join(re.escape(s) for s in sorted(self._by_skeleton, key=len, reverse=True))
        self._as_word = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")

    def read(self, text: str) -> LookAlikeReading:
        """Raw `text` read as written and upper-cased, each skeleton computed once."""
        return self.read_visible(visible_text(text))

    def read_visible(self, visible: str) -> LookAlikeReading:
        """`read` of a text already through `text.visible_text`."""
        upper = visible.upper()
        skeletons = [skeleton(visible)] if upper == visible else [skeleton(visible), skeleton(upper)]
        imitated = None
        if len(visible) <= self._longest:
            imitated = next((self._by_skeleton[s] for s in skeletons if s in self._by_skeleton), None)
        # A plain substring test first: most messages hold no keyword skeleton at all, and
        # `in` is far cheaper than the word-boundary search.
        mentioned = any(
            any(key in s for key in self._by_skeleton) and self._as_word.search(s) for s in skeletons
        )
        return LookAlikeReading(imitated, mentioned)

    def imitated(self, text: str) -> str | None:
        """The opt-out keyword (normalized form) the whole raw `text` looks like, or None."""
        return self.read(text).imitated

    def mentioned(self, text: str) -> bool:
        """Whether raw `text` holds a look-alike of an opt-out keyword as a separate word
        ("please ЅТОР")."""
        return self.read(text).mentioned
