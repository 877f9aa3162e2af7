"""The simulated LightSMS API's semantics as a pure function: which reply a request gets.

`answer` takes a request (endpoint, query parameters, the server's clock when it arrived), the
account it is served for and the traffic, and returns the `Reply`: no sockets, no threads, so
every rule (the order of the auth checks, the signature, the timestamp window, "date takes
priority", today still filling) can be pinned without HTTP. The signature is checked with its
own PHP-style ksort + implode + key, never with the client's code, so a signing bug in the
client shows up as error 6 instead of being mirrored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from lightsms_pipeline.contract import API_DATETIME_FORMAT
from lightsms_pipeline.simulator.encoding import (
    TEXT_TYPE,
    EmptyStyle,
    ErrorCodeStyle,
    Reply,
    ResponseFormat,
    empty_reply,
    error_reply,
    messages_reply,
    oversized_reply,
)
from lightsms_pipeline.simulator.traffic import Traffic

TIMESTAMP = "timestamp.php"
INCOMING = "incoming.php"

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")

DayReply = Callable[[date, ResponseFormat], Reply | None]
"""The answer for a whole finished day, None when it has no messages (a server caches these)."""
WindowReply = Callable[[datetime, datetime, ResponseFormat], Reply]
"""The answer listing the messages of a finished, non-empty `from`/`to` window (cached too)."""


@dataclass(frozen=True)
class Account:
    """Who may call, and how this server words its answers."""

    login: str
    api_key: str = field(repr=False)
    timestamp_window_seconds: float = 10.0
    error_code_style: ErrorCodeStyle = "int"
    empty_style: EmptyStyle = "error19"
    # Answers listing more messages than this are refused (`oversized_reply`); None: no limit.
    max_messages_per_answer: int | None = None


@dataclass(frozen=True)
class Request:
    """One GET to a known endpoint: its query parameters (last of repeated ones, as PHP's
    $_GET) and the server's clock in Unix seconds when it arrived."""

    endpoint: str  # TIMESTAMP or INCOMING
    params: Mapping[str, str]
    now_epoch: float


def response_format(params: Mapping[str, str]) -> ResponseFormat:
    """`return=xml` asks for XML; anything else gets JSON."""
    return "xml" if params.get("return") == "xml" else "json"


def php_signature(params: Mapping[str, str], api_key: str) -> str:
    """md5(implode(ksort($params without signature)) . $key), lowercase hex of UTF-8 bytes."""
    ordered = sorted((name.encode("utf-8"), value) for name, value in params.items())
    joined = "".join(value for name, value in ordered if name != b"signature")
    return hashlib.md5((joined + api_key).encode("utf-8")).hexdigest()


def answer(
    request: Request,
    account: Account,
    traffic: Traffic,
    day_reply: DayReply | None = None,
    window_reply: WindowReply | None = None,
) -> Reply:
    """The reply the API gives `request`; `day_reply` answers finished days and `window_reply`
    finished windows (default: encode the traffic's messages afresh)."""
    if request.endpoint == TIMESTAMP:
        return Reply(200, str(int(request.now_epoch)).encode("ascii"), TEXT_TYPE)
    params = request.params
    fmt = response_format(params)
    auth_code = _auth_error(params, account, request.now_epoch)
    query = _parse_dates(params) if auth_code is None else auth_code
    if isinstance(query, int):
        return error_reply(query, fmt, account.error_code_style)
    local_now = datetime.fromtimestamp(request.now_epoch, traffic.tz).replace(tzinfo=None)
    limit = account.max_messages_per_answer
    if isinstance(query, _DayQuery):
        if query.day < local_now.date():
            if limit is not None and len(traffic.day_messages(query.day)) > limit:
                return oversized_reply()
            whole_day = (day_reply or _encoded_day(traffic))(query.day, fmt)
            return whole_day if whole_day is not None else empty_reply(fmt, account.empty_style)
        start = datetime(query.day.year, query.day.month, query.day.day)
        end = start.replace(hour=23, minute=59, second=59)
    else:
        start, end = query.start, query.end
    # Today is still filling: only what has already arrived by the server's clock.
    messages = traffic.window(start, min(end, local_now))
    if limit is not None and len(messages) > limit:
        return oversized_reply()
    if not messages:
        return empty_reply(fmt, account.empty_style)
    if window_reply is not None and end < local_now:
        return window_reply(start, end, fmt)
    return messages_reply(messages, fmt)


def _encoded_day(traffic: Traffic) -> DayReply:
    def day_reply(day: date, fmt: ResponseFormat) -> Reply | None:
        messages = traffic.day_messages(day)
        return messages_reply(messages, fmt) if messages else None

    return day_reply


def _auth_error(params: Mapping[str, str], account: Account, now_epoch: float) -> int | None:
    # The order a PHP script would check in; blank counts as missing, like PHP's empty().
    if not params.get("signature"):
        return 1
    if not params.get("login"):
        return 2
    if not params.get("timestamp"):
        return 24
    if params["login"] != account.login:
        return 7
    expected = php_signature(params, account.api_key)
    if not hmac.compare_digest(expected, params["signature"]):
        return 6
    try:
        timestamp = int(params["timestamp"])
    except ValueError:
        return 6
    # An expired timestamp is undocumented; error 6 is the likeliest answer (api notes 3).
    if abs(timestamp - now_epoch) > account.timestamp_window_seconds:
        return 6
    return None


@dataclass(frozen=True)
class _DayQuery:
    day: date


@dataclass(frozen=True)
class _RangeQuery:
    start: datetime
    end: datetime


def _parse_dates(params: Mapping[str, str]) -> _DayQuery | _RangeQuery | int:
    """The requested period, or the API error code for it ("date takes priority", notes 1)."""
    day_text, start_text, end_text = params.get("date"), params.get("from"), params.get("to")
    if day_text:
        day = _strict_date(day_text)
        return 30 if day is None else _DayQuery(day)
    if not start_text and not end_text:
        return 30
    if not start_text:
        return 28
    if not end_text:
        return 29
    start = _strict_datetime(start_text)
    if start is None:
        return 28
    end = _strict_datetime(end_text)
    if end is None:
        return 29
    return _RangeQuery(start, end)


def _strict_date(text: str) -> date | None:
    if _DATE_RE.fullmatch(text) is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _strict_datetime(text: str) -> datetime | None:
    if _DATETIME_RE.fullmatch(text) is None:
        return None
    try:
        return datetime.strptime(text, API_DATETIME_FORMAT)
    except ValueError:
        return None
