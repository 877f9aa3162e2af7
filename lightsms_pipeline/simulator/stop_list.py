"""The simulated per-account stop list: `find_on_stop.php` and `add2stop.php` as pure answers.

LightSMS keeps one stop list per account (docs/lightsms-api.md §1, docs/rules.md §8): a
number on it gets error 13/34 from send.php. The API can look a number up and add one; it
cannot list or remove them. `StopList` is the state a server holds (thread-safe, inspectable by
tests); `stop_list_answer` decides the reply to one request, after the same auth checks as every
signed call, so the rules can be pinned without HTTP.

Documented shapes: find -> `{"time_in": "...", "description": "..."}` or `{}` (not listed);
add -> `{"id": "4419373"}`. The XML forms are inferred from the other endpoints:
`<response><time_in>..</time_in><description>..</description></response>`, an empty
`<response></response>`, and `<response><id>..</id></response>`.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from lightsms_pipeline.simulator.api import Account, _auth_error, response_format
from lightsms_pipeline.simulator.encoding import (
    JSON_TYPE,
    XML_TYPE,
    Reply,
    ResponseFormat,
    error_reply,
    php_json,
    xml_attribute,
)

FIND_ON_STOP = "find_on_stop.php"
ADD_TO_STOP = "add2stop.php"
STOP_LIST_ENDPOINTS = (FIND_ON_STOP, ADD_TO_STOP)

PHONE_MISSING = 4
INVALID_PHONE = 16
ALREADY_EXISTS = 20
FIRST_ENTRY_ID = 4419373  # the id of the API reference's example
DEFAULT_DESCRIPTION = "Added via API"
# International numbers as the API takes them: digits, no "+", at most 15 (E.164), at least 8.
_PHONE = re.compile(r"[0-9]{8,15}")
_XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


@dataclass(frozen=True)
class StopEntry:
    """One number on the stop list, as the provider keeps it."""

    id: str
    time_in: str  # provider-local "YYYY-MM-DD HH:MM:SS"
    description: str
    # The simulator's clock (Unix seconds) when add2stop.php added it; time_in keeps only whole
    # seconds, too coarse to measure a push's latency from a message's arrival (benchmarks/live.py).
    added_epoch: float | None = None


class StopList:
    """One account's stop list; every method is safe to call from the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, StopEntry] = {}
        self._next_id = FIRST_ENTRY_ID
        self.add_requests: Counter[str] = Counter()  # authenticated add2stop calls per phone

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, phone: object) -> bool:
        with self._lock:
            return phone in self._entries

    def entries(self) -> dict[str, StopEntry]:
        """A copy of the list, by phone (digits without `+`)."""
        with self._lock:
            return dict(self._entries)

    def find(self, phone: str) -> StopEntry | None:
        with self._lock:
            return self._entries.get(phone)

    def add(
        self,
        phone: str,
        time_in: str,
        description: str = DEFAULT_DESCRIPTION,
        *,
        added_epoch: float | None = None,
    ) -> StopEntry | None:
        """Add `phone`; None when it is already there (the API's error 20)."""
        with self._lock:
            self.add_requests[phone] += 1
            if phone in self._entries:
                return None
            entry = StopEntry(str(self._next_id), time_in, description, added_epoch)
            self._next_id += 1
            self._entries[phone] = entry
            return entry

    def preload(self, phone: str, time_in: str, description: str = "Added in the web interface") -> None:
        """Test hook: a number someone put on the list before (by hand, another tool)."""
        with self._lock:
            self._entries[phone] = StopEntry(str(self._next_id), time_in, description)
            self._next_id += 1


def stop_list_answer(
    endpoint: str,
    params: Mapping[str, str],
    account: Account,
    stop_list: StopList,
    *,
    now_epoch: float,
    local_now: str,
    already_listed_code: int = ALREADY_EXISTS,
) -> Reply:
    """The reply to one find_on_stop.php or add2stop.php request.

    Auth first (the same checks, in the same order, as incoming.php), then the phone: missing
    is 4, not an international number is 16. Adding a number already listed answers
    `already_listed_code` (20, "Phone number already exists", unless a test asks for 13 or 34,
    the codes a platform might use instead).
    """
    fmt = response_format(params)
    code = _auth_error(params, account, now_epoch)
    if code is None:
        code = _phone_error(params.get("phone", ""))
    if code is not None:
        return error_reply(code, fmt, account.error_code_style)
    phone = params["phone"]
    if endpoint == FIND_ON_STOP:
        return _found_reply(stop_list.find(phone), fmt)
    entry = stop_list.add(phone, local_now, added_epoch=now_epoch)
    if entry is None:
        return error_reply(already_listed_code, fmt, account.error_code_style)
    return _added_reply(entry, fmt)


def _phone_error(phone: str) -> int | None:
    if not phone:
        return PHONE_MISSING
    return None if _PHONE.fullmatch(phone) else INVALID_PHONE


def _found_reply(entry: StopEntry | None, fmt: ResponseFormat) -> Reply:
    if fmt == "xml":
        inner = (
            ""
            if entry is None
            else f"<time_in>{xml_attribute(entry.time_in)}</time_in>"
            f"<description>{xml_attribute(entry.description)}</description>"
        )
        return Reply(200, f"{_XML_DECLARATION}<response>{inner}</response>".encode(), XML_TYPE)
    if entry is None:
        return Reply(200, b"{}", JSON_TYPE)  # "Empty response means the number is NOT in the blacklist"
    return Reply(200, php_json({"time_in": entry.time_in, "description": entry.description}), JSON_TYPE)


def _added_reply(entry: StopEntry, fmt: ResponseFormat) -> Reply:
    if fmt == "xml":
        body = f"{_XML_DECLARATION}<response><id>{entry.id}</id></response>"
        return Reply(200, body.encode(), XML_TYPE)
    return Reply(200, php_json({"id": entry.id}), JSON_TYPE)
