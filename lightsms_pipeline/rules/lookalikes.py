"""Look-alike opt-out keywords (sms-rules §2): `ЅТОР` in Cyrillic, `ΕΝD` in Greek, `ST0P`, `QUlT`.

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
from collections.abc import Iterable

import icu

from lightsms_pipeline.rules.text import visible_text

# One checker for the process: building it loads ICU's data, and ICU allows concurrent
# `getSkeleton` calls on a checker that is no longer being configured.
_SPOOF_CHECKER = icu.SpoofChecker()


def skeleton(text: str) -> str:
    """The TS #39 skeleton of `text` (NFD, each character to its prototype, NFD)."""
    # The first argument is the legacy USPOOF_ANY_CASE flag; ICU 58+ ignores it.
    result: str = _SPOOF_CHECKER.getSkeleton(0, text)
    return result


class LookAlikes:
    """The opt-out keywords by skeleton: which keyword a text imitates, or mentions as a word."""

    def __init__(self, keywords: Iterable[str]) -> None:
        """`keywords`: the normalized opt-out keywords, in declared order (the first of two
        that share a skeleton is the one reported)."""
        self._by_skeleton: dict[str, str] = {}
        for keyword in keywords:
            self._by_skeleton.setdefault(skeleton(keyword.upper()), keyword)
        alternatives = "|".join(re.escape(s) for s in sorted(self._by_skeleton, key=len, reverse=True))
        self._as_word = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")

    @staticmethod
    def _skeletons(text: str) -> tuple[str, ...]:
        visible = visible_text(text)
        upper = visible.upper()
        return (skeleton(visible),) if upper == visible else (skeleton(visible), skeleton(upper))

    def imitated(self, text: str) -> str | None:
        """The opt-out keyword (normalized form) the whole raw `text` looks like, or None."""
        for candidate in self._skeletons(text):
            keyword = self._by_skeleton.get(candidate)
            if keyword is not None:
                return keyword
        return None

    def mentioned(self, text: str) -> bool:
        """Whether raw `text` holds a look-alike of an opt-out keyword as a separate word
        ("please ЅТОР")."""
        return any(self._as_word.search(candidate) for candidate in self._skeletons(text))
