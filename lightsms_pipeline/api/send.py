"""send.php over HTTP: one SMS to one number, made once, and what became of it.

A reply is an SMS that costs money and reaches a person; LightSMS has no idempotency key and
no way to look a sent message up by phone or text (docs/lightsms-api.md §9). So `send_sms`
makes exactly one request and never tries again itself: it says what it knows, in four states,
and the caller (the reply record, docs/rules.md §9) decides. Only `not_sent` (the request surely
never reached LightSMS) may be tried again later; `unknown` (the answer was lost after the
request may have gone out) never is, by anyone but a person.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

from lightsms_pipeline.api.client import TIMESTAMP, AttemptFault, LightSMSClient, api_phone
from lightsms_pipeline.api.responses import (
    ASCII_NUMBER,
    ApiErrorCode,
    RepeatedKeys,
    ResponseProblem,
    error_code,
    excerpt,
    json_object,
    looks_like_html,
    refusing_bad_json,
    response_root,
)
from lightsms_pipeline.errors import ApiError, LightSMSError, describe_code

log = logging.getLogger(__name__)

SEND_ENDPOINT = "send.php"
SENT_CODE = 0

SendState = Literal["sent", "refused", "unknown", "not_sent"]


@dataclass(frozen=True)
class SendOutcome:
    """What one `send_sms` did.

    sent: LightSMS answered error 0 for the phone; refused: it answered a per-phone or a
    request-level error code (nothing was sent); unknown: the request may have reached LightSMS
    and its answer was lost (a timeout after sending, a reset, a 5xx, a malformed body): NEVER
    to be sent again automatically; not_sent: the request surely never reached LightSMS (the
    connection was refused, DNS failed, a 429, the server time could not be had): may be tried
    again later.
    """

    state: SendState
    error_code: int | None = None
    provider_id: str | None = None  # send.php's id_sms for the sent message
    cost: str | None = None  # as LightSMS answers it (decimal text)
    count_sms: int | None = None  # parts billed
    detail: str = ""  # words for the record and the logs; never the API key


def send_sms(
    client: LightSMSClient, *, phone: str, text: str, sender: str, label: str | None = None
) -> SendOutcome:
    """Send `text` from `sender` to `phone` (E.164, `+` optional) with one send.php request.

    Never retried here: a retry after a lost answer could send the SMS twice. The one retry
    inside is the client's on error 6 (a stale timestamp): error 6 means LightSMS refused the
    request, so signing it afresh cannot send twice. `label` names the subscriber in logs and
    `detail` instead of the digits. A `phone` that is not digits raises ValueError before any
    request: the caller decides who is a phone number (docs/rules.md §9).
    """
    digits = api_phone(phone, "a number to send to")
    where = label if label is not None else digits
    outcome = _send_once(client, digits, text, sender, where)
    log.info("LightSMS %s for %s: %s%s", SEND_ENDPOINT, where, outcome.state,
             f" ({outcome.detail})" if outcome.detail else "")  # fmt: skip
    return outcome


def _send_once(client: LightSMSClient, digits: str, text: str, sender: str, where: str) -> SendOutcome:
    try:
        # The server time first, on its own: if timestamp.php fails, send.php was never asked.
        client.server_time_offset()
    except LightSMSError as exc:
        return SendOutcome("not_sent", detail=f"no server time, send.php not asked: {exc}")
    params = {"phone": digits, "text": text, "sender": sender}
    try:
        answer = client.signed_call(SEND_ENDPOINT, params, where, lambda body: parse_send(body, digits))
    except AttemptFault as exc:
        if exc.never_sent:
            return SendOutcome("not_sent", detail=f"{exc.problem}: the request never reached LightSMS")
        lost = f"{exc.problem}: the answer was lost, the SMS may have been sent"
        return SendOutcome("unknown", detail=lost)
    except ApiError as exc:
        if exc.endpoint == TIMESTAMP:  # a refused send (error 6), then no fresh server time
            return SendOutcome("not_sent", detail=f"no server time after error 6: {exc}")
        if exc.code is not None:  # a request-level error code: LightSMS refused the request
            return SendOutcome("refused", error_code=exc.code, detail=str(exc))
        return SendOutcome("unknown", detail=f"{exc}: the SMS may have been sent")
    if answer.error != SENT_CODE:
        meaning = describe_code(answer.error)
        return SendOutcome("refused", error_code=answer.error, detail=f"error {answer.error} ({meaning})")
    return SendOutcome(
        "sent",
        error_code=SENT_CODE,
        provider_id=answer.id_sms,
        cost=answer.cost,
        count_sms=answer.count_sms,
    )


# --- the answer: one phone's entry of a send.php body -----------------------------------------


@dataclass(frozen=True)
class PhoneAnswer:
    """send.php's answer for one phone: its error code and, when sent (error 0), the message's
    `id_sms`, its `cost` (decimal text, as answered) and the parts billed."""

    phone: str
    error: int
    id_sms: str | None = None
    cost: str | None = None
    count_sms: int | None = None


def parse_send(body: bytes, phone: str) -> PhoneAnswer | ApiErrorCode:
    """A send.php body for a request to one `phone`: that phone's entry, or a request-level
    `{"error": N}`.

    JSON `{"<phone>": {"error": "0", "id_sms": "…", "cost": "0.0144", "count_sms": "1"}}`, XML
    `<response><phones><phone phone="…" error="0" id_sms="…" … /></phones></response>`. The entry
    is the one keyed by `phone`, or the only entry if LightSMS keyed it otherwise (a number
    written differently): one phone asked, one answer. Anything else is malformed, and since
    the message may then have been sent, the caller reads it as unknown.
    """
    stripped = body.strip()
    if not stripped:
        raise ResponseProblem("send.php answered an empty body")
    if stripped[:1] == b"<":
        if looks_like_html(stripped):
            raise ResponseProblem("got an HTML page instead of data", retryable=True)
        return _parse_send_xml(stripped, phone)
    with refusing_bad_json():
        # parse_float keeps a numeric cost as the decimal text it was written as
        data = json.loads(stripped.decode("utf-8"), object_pairs_hook=json_object, parse_float=str)
    if isinstance(data, RepeatedKeys) or not isinstance(data, dict):
        raise ResponseProblem(f"send.php answer is not an object keyed by phone: {excerpt(body)}")
    if "error" in data:
        if len(data) != 1:
            raise ResponseProblem("object has an 'error' key beside other keys")
        return ApiErrorCode(error_code(data["error"]))
    key, entry = _the_entry(data, phone)
    if isinstance(entry, RepeatedKeys) or not isinstance(entry, dict):
        raise ResponseProblem(f"send.php entry for {key!r} is not an object")
    return _phone_answer(key, entry)


def _parse_send_xml(body: bytes, phone: str) -> PhoneAnswer | ApiErrorCode:
    root = response_root(body)
    error = root.find("error")
    if error is not None:
        if len(root) != 1:
            raise ResponseProblem("XML <response> holds <error> beside other elements")
        return ApiErrorCode(error_code(error.text or ""))
    phones = root.find("phones")
    if phones is None or len(root) != 1:
        raise ResponseProblem("XML <response> holds no single <phones>")
    entries: dict[str, dict[str, Any]] = {}
    for element in phones:
        key = element.get("phone", "")
        if element.tag != "phone" or key in entries:
            raise ResponseProblem(f"XML <phones> holds <{element.tag} phone={key!r}> twice or unexpected")
        entries[key] = {name: value for name, value in element.attrib.items() if name != "phone"}
    key, entry = _the_entry(entries, phone)
    return _phone_answer(key, entry)


def _the_entry(entries: dict[str, Any], phone: str) -> tuple[str, Any]:
    if phone in entries:
        return phone, entries[phone]
    if len(entries) == 1:
        return next(iter(entries.items()))
    raise ResponseProblem(f"send.php answered {len(entries)} entries, none for the number asked")


def _phone_answer(key: str, entry: dict[str, Any]) -> PhoneAnswer:
    if "error" not in entry:
        raise ResponseProblem(f"send.php entry for {key!r} has no 'error'")
    code = error_code(entry["error"])
    if code != SENT_CODE:
        return PhoneAnswer(key, code)
    return PhoneAnswer(
        key,
        code,
        id_sms=_digits(entry, "id_sms"),
        cost=_decimal(entry, "cost"),
        count_sms=int(_digits(entry, "count_sms")),
    )


def _digits(entry: dict[str, Any], name: str) -> str:
    value = entry.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not (isinstance(value, str) and ASCII_NUMBER.fullmatch(value)):
        raise ResponseProblem(f"send.php {name!r} is not a decimal number: {value!r}")
    return value


def _decimal(entry: dict[str, Any], name: str) -> str:
    value = entry.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ResponseProblem(f"send.php {name!r} is not decimal text: {value!r}")
    whole, _, fraction = value.partition(".")
    if not ASCII_NUMBER.fullmatch(whole) or (fraction and not ASCII_NUMBER.fullmatch(fraction)):
        raise ResponseProblem(f"send.php {name!r} is not decimal text: {value!r}")
    return value
