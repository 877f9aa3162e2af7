"""Whether a name is an IANA time zone, asked the same way by the settings, the rules file and the
accounts file, so the three never disagree on what they accept."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def is_iana_zone(name: str) -> bool:
    """True if zoneinfo can load `name`. Beyond unknown names, zoneinfo raises ValueError for
    malformed ones (`../x`) and OSError for a folder of the database (`Europe`)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
