"""The live pick-up's decisions, no Dagster (docs/rules.md §10): which `from`/`to` window to ask
LightSMS for, which messages in its answer are new, which days they are on, and the next cursor.

The cursor is the end of the last window asked (provider-local wall-clock time, LightSMS's own
clock) and the `id_sms` of the messages already handed on whose `date` is in the last `overlap`
before it. Each window starts `overlap` before the last one ended, so a message LightSMS lists
late, with a `date` in a past minute, is still in the next answers; its id decides whether it
is new. Nothing here writes data: a new message only names the days a run re-fetches whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from lightsms_pipeline.api.windows import Window
from lightsms_pipeline.contract import API_DATETIME_FORMAT

# How far back each window reaches before the last one ended: a message listed up to this late
# is still picked up live; a later one waits for the intraday and daily runs, which re-fetch
# whole days. Ten minutes is twice the FCC's window for a STOP confirmation.
OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class LiveCursor:
    """Where the live pick-up stands; stored as the sensor's cursor (`to_text`)."""

    until: datetime  # end of the last window asked, naive provider-local, inclusive
    seen: frozenset[str]  # id_sms already handed on, dated within `overlap` before `until`

    def to_text(self) -> str:
        return json.dumps(
            {"until": self.until.strftime(API_DATETIME_FORMAT), "seen": sorted(self.seen, key=_id_order)},
            separators=(",", ":"),
        )

    @classmethod
    def from_text(cls, text: str | None) -> LiveCursor | None:
        """The cursor a sensor stored; None for none (the first tick) or one it cannot read."""
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(datetime.strptime(data["until"], API_DATETIME_FORMAT), frozenset(data["seen"]))
        except (ValueError, KeyError, TypeError):
            return None


def window_to_ask(cursor: LiveCursor | None, now: datetime, overlap: timedelta = OVERLAP) -> Window:
    """From `overlap` before the last window's end (before `now` on the first tick) to `now`.
    `now` is LightSMS's clock in the provider's zone, naive, so the window is in the strings the
    API compares `date` with."""
    now = now.replace(microsecond=0)
    start = (cursor.until if cursor is not None else now) - overlap
    return Window(start, max(start, now))


@dataclass(frozen=True)
class PickUp:
    """What one answer means: the new messages, their days, and the cursor once they are handed
    to a run."""

    new_ids: tuple[str, ...]  # in id order
    days: tuple[date, ...]  # the provider-local days the new messages are on, ascending
    cursor: LiveCursor

    @property
    def run_key(self) -> str:
        """The same arrivals give the same key, so Dagster never launches them twice."""
        digest = hashlib.sha256(",".join(self.new_ids).encode()).hexdigest()[:16]
        return f"live-{self.days[-1]}-{self.new_ids[-1]}-{len(self.new_ids)}-{digest}" if self.new_ids else ""


def pick_up(
    cursor: LiveCursor | None,
    window: Window,
    ids: Sequence[str],
    dates: Sequence[str],
    overlap: timedelta = OVERLAP,
) -> PickUp:
    """The answer to `window` (its messages' `id_sms` and `date`, as received) read against
    `cursor`. The next cursor remembers every id dated within `overlap` before the window's end:
    all of them are in this answer, since this window started at least that early."""
    seen = cursor.seen if cursor is not None else frozenset()
    keep_from = (window.end - overlap).strftime(API_DATETIME_FORMAT)
    new = sorted({i for i in ids if i not in seen}, key=_id_order)
    new_set = set(new)
    days = sorted({_day(d, window.end) for i, d in zip(ids, dates, strict=True) if i in new_set})
    kept = frozenset(i for i, d in zip(ids, dates, strict=True) if d >= keep_from)
    return PickUp(tuple(new), tuple(days), LiveCursor(window.end, kept))


def _day(text: str, fallback: datetime) -> date:
    """The day of a `date` string; a malformed one (the run will refuse it loudly) counts as the
    window's last day, so its run is still launched."""
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return fallback.date()


def _id_order(id_sms: str) -> tuple[int, str]:
    return (len(id_sms), id_sms)  # decimal digits: shorter is smaller, then as text
