"""The stop list over HTTP: find_on_stop.php and add2stop.php, their answers, and an add made once.

LightSMS keeps one stop list per account (docs/rules.md §8, docs/lightsms-api.md §1): the API looks a
number up and adds one, nothing else. The client (`client.py`) signs, retries and words errors
as for every endpoint; what is the stop list's own is here: the number's form, the answers'
shapes, and why an add is looked up before it is tried again (add2stop.php is not idempotent).
`datasets/stop_list.py` calls `find_on_stop` and `add_to_stop` for each number to push.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lightsms_pipeline.api.client import LightSMSClient, api_phone
from lightsms_pipeline.api.responses import (
    ASCII_NUMBER,
    EMPTY_DAY_CODE,
    ApiErrorCode,
    RepeatedKeys,
    ResponseProblem,
    error_code,
    excerpt,
    json_error,
    json_object,
    looks_like_html,
    refusing_bad_json,
    response_root,
)
from lightsms_pipeline.errors import BadRequestError

FIND_ON_STOP_ENDPOINT = "find_on_stop.php"
ADD_TO_STOP_ENDPOINT = "add2stop.php"
# add2stop.php's answers for a number already listed: 20 documented, 13/34 ("blacklisted",
# "in the stop list") what a platform sharing send.php's checks might say instead.
ALREADY_LISTED_CODES = frozenset({13, 20, 34})


@dataclass(frozen=True)
class StopListPush:
    """What `add_to_stop` did: added (`provider_answer` is the new entry's id) or found the
    number already listed (`provider_answer` is the entry's `time_in`)."""

    already_listed: bool
    provider_answer: str


def find_on_stop(client: LightSMSClient, phone: str, *, label: str | None = None) -> StopListEntry | None:
    """The account's stop-list entry for `phone` (digits, `+` optional), None if not listed.

    Read-only, so retried like incoming.php. `label` names the number in errors and logs
    instead of its digits (the sync passes the published subscriber key, a hash when
    LIGHTSMS_SENDER_HASH_SALT is set).
    """
    digits = api_phone(phone, "a stop-list number")
    where = label if label is not None else digits
    return client.retried(lambda: _look_up(client, digits, where), FIND_ON_STOP_ENDPOINT, where)


def add_to_stop(client: LightSMSClient, phone: str, *, label: str | None = None) -> StopListPush:
    """Put `phone` on the account's stop list, once in effect.

    add2stop.php is not idempotent: an add whose answer was lost (a reset, a timeout, a 5xx
    after the server acted) may have taken effect. So every attempt after the first looks
    the number up before adding, and "already exists" (20; 13 or 34 from platforms that
    answer "blacklisted") reads as listed. Either way the result says which it was.
    """
    digits = api_phone(phone, "a stop-list number")
    where = label if label is not None else digits
    attempts = 0

    def listed() -> StopListPush | None:
        entry = _look_up(client, digits, where)
        return None if entry is None else StopListPush(True, entry.time_in)

    def attempt() -> StopListPush:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            found = listed()
            if found is not None:
                return found
        try:
            provider_id = client.signed_call(
                ADD_TO_STOP_ENDPOINT, {"phone": digits}, where, parse_add_to_stop
            )
        except BadRequestError as exc:
            if exc.code not in ALREADY_LISTED_CODES:
                raise
            found = listed()
            if found is None:
                raise  # "already listed", yet the lookup disagrees: say so, do not guess
            return found
        return StopListPush(False, provider_id)

    return client.retried(attempt, ADD_TO_STOP_ENDPOINT, where)


def _look_up(client: LightSMSClient, digits: str, where: str) -> StopListEntry | None:
    """One find_on_stop.php request, not retried (its caller's attempt is)."""
    return client.signed_call(FIND_ON_STOP_ENDPOINT, {"phone": digits}, where, parse_find_on_stop)


# --- the answers: find_on_stop.php and add2stop.php bodies ----------------------------------------


@dataclass(frozen=True)
class StopListEntry:
    """A number found on the account's stop list: when it was added, and the provider's note."""

    time_in: str
    description: str


_EMPTY_ANSWERS: tuple[object, ...] = (None, [], {})


def parse_find_on_stop(body: bytes) -> StopListEntry | ApiErrorCode | None:
    """One find_on_stop.php body: the entry, None when the number is not listed, or an error.

    "Empty response means the number is NOT in the blacklist": `{}`, PHP's `[]`, an empty body
    or an empty `<response/>`. Error 19 ("Empty response") reads the same way: at worst the
    number is then pushed and the add answers "already exists". The API reference's other shape,
    `{"blacklisted": true, "added_at": ...}`, is read too.
    """
    data = _stop_list_body(body)
    if isinstance(data, ApiErrorCode):
        return None if data.code == EMPTY_DAY_CODE else data
    if data in _EMPTY_ANSWERS:
        return None
    if not isinstance(data, dict):
        raise ResponseProblem(f"find_on_stop answer is a {type(data).__name__}, not an object")
    if "blacklisted" in data:
        if data["blacklisted"] is False:
            return None
        if data["blacklisted"] is not True:
            raise ResponseProblem(f"'blacklisted' is not true or false: {data['blacklisted']!r}")
        return StopListEntry(_text_field(data, "added_at"), _text_field(data, "description", ""))
    return StopListEntry(_text_field(data, "time_in"), _text_field(data, "description", ""))


def parse_add_to_stop(body: bytes) -> str | ApiErrorCode:
    """One add2stop.php body: the new entry's id (`{"id": "4419373"}`), or an error code."""
    data = _stop_list_body(body)
    if isinstance(data, ApiErrorCode):
        return data
    if not isinstance(data, dict) or set(data) != {"id"}:
        raise ResponseProblem(f"add2stop answer is not {{'id': ...}}: {excerpt(body)}")
    value = data["id"]
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not (isinstance(value, str) and ASCII_NUMBER.fullmatch(value)):
        raise ResponseProblem(f"add2stop id is not a decimal number: {value!r}")
    return value


def _stop_list_body(body: bytes) -> object:
    """A stop-list body as plain values (`<response>` children become a dict), or its error."""
    stripped = body.strip()
    if not stripped:
        return None
    if stripped[:1] == b"<":
        if looks_like_html(stripped):
            raise ResponseProblem("got an HTML page instead of data", retryable=True)
        return _stop_list_xml(stripped)
    with refusing_bad_json():
        data = json.loads(stripped.decode("utf-8"), object_pairs_hook=json_object)
    if isinstance(data, RepeatedKeys):
        raise ResponseProblem("object names a key more than once")
    if isinstance(data, dict):
        code = json_error(data)
        if code is not None:
            return ApiErrorCode(code)
    return data


def _stop_list_xml(body: bytes) -> dict[str, str] | ApiErrorCode:
    root = response_root(body)
    children: dict[str, str] = {}
    for child in root:
        if child.tag in children or len(child):
            raise ResponseProblem(f"XML <response> holds <{child.tag}> twice or nested")
        children[child.tag] = child.text or ""
    if "error" in children:
        if len(children) != 1:
            raise ResponseProblem("XML <response> holds <error> beside other elements")
        return ApiErrorCode(error_code(children["error"]))
    return children


def _text_field(data: dict[str, Any], name: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if value is None:
        raise ResponseProblem(f"stop-list entry has no {name!r}")
    if not isinstance(value, str):
        raise ResponseProblem(f"stop-list entry field {name!r} is not text: {value!r}")
    return value
