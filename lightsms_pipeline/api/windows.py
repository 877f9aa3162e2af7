"""`from`/`to` windows of a day: how a day too large for one answer is cut, exactly.

LightSMS's `from` and `to` are both inclusive and name whole seconds, so windows are cut on
whole seconds with no overlap and no gap: [00:00:00, 00:59:59], [01:00:00, 01:59:59], ... A
message at 00:59:59 is in exactly one of them. A window too large in turn is cut again: hours,
then ten minutes, then minutes, then seconds.

Windows are provider-local *wall-clock* times, the very strings the API compares `date` with
(which has no offset). Cut this way a DST day needs no special case: the repeated autumn hour
is one window holding both of its occurrences, and the missing spring hour is a window that
comes back empty; together the windows cover every `date` string the day can hold, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from lightsms_pipeline.contract import API_DATETIME_FORMAT

# Window lengths to cut into, largest first: a window is cut into the largest that is shorter.
STEPS = (timedelta(hours=1), timedelta(minutes=10), timedelta(minutes=1), timedelta(seconds=1))
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, order=True)
class Window:
    """Provider-local wall-clock times, both inclusive, whole seconds (naive datetimes)."""

    start: datetime
    end: datetime

    @classmethod
    def whole_day(cls, day: date) -> Window:
        start = datetime(day.year, day.month, day.day)
        return cls(start, start + timedelta(days=1) - _SECOND)

    @property
    def span(self) -> timedelta:
        return self.end - self.start + _SECOND

    def params(self) -> dict[str, str]:
        """The `from`/`to` query parameters."""
        return {
            "from": self.start.strftime(API_DATETIME_FORMAT),
            "to": self.end.strftime(API_DATETIME_FORMAT),
        }

    def __str__(self) -> str:
        return f"{self.start.strftime(API_DATETIME_FORMAT)}..{self.end.strftime(API_DATETIME_FORMAT)}"


def split(window: Window) -> list[Window]:
    """`window` cut into consecutive windows of the largest step shorter than it; [] when it is
    a single second, which cannot be cut."""
    step = next((s for s in STEPS if s < window.span), None)
    if step is None:
        return []
    parts = []
    start = window.start
    while start <= window.end:
        parts.append(Window(start, min(start + step - _SECOND, window.end)))
        start += step
    return parts
