"""The simulated `send.php`: its answer per phone as a pure function, and the log of what it sent.

docs/lightsms-api.md §9: auth as for every signed call, then the request-level checks (no phone
4, more than 50 numbers 14, no sender 5, a sender name of the wrong form 8, one not registered 9
or registered but not approved 10), then one entry per phone keyed by the phone, every value a
string: `{"error": "0", "id_sms": <22 digits>, "cost": "0.0144", "count_sms": "1"}` when sent,
`{"error": "N"}` when not (3 no text, 16 not an international number, 13 on the platform's
blacklist, 34 on the account's stop list, or any code a test forces for a phone). A sent message
is recorded in `SentLog` with the simulator's clock: tests ask the log, not the answer, whether
an SMS went out, which is the point when the answer is lost.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from lightsms_pipeline.normalize.sms_parts import sms_parts
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
from lightsms_pipeline.simulator.stop_list import StopList

SEND = "send.php"

TEXT_MISSING = 3
PHONE_MISSING = 4
SENDER_MISSING = 5
INVALID_SENDER = 8
SENDER_NOT_REGISTERED = 9
SENDER_NOT_APPROVED = 10
BLACKLISTED = 13
TOO_MANY_PHONES = 14
INVALID_PHONE = 16
ON_STOP_LIST = 34
MAX_PHONES = 50

DEFAULT_SENDERS = frozenset({"LightSMS", "MyBrand"})  # registered and approved on every account
DEFAULT_PRICE_PER_PART = Decimal("0.0144")  # the API reference's example cost
FIRST_ID_SMS = 4092112510348380960001  # the API reference's example id: 22 digits
_PHONE = re.compile(r"[0-9]{8,15}")  # as add2stop.php checks it: digits, no "+", E.164 length
# A sender name: up to 11 letters, digits, spaces and ".-_", or a number of up to 15 digits.
_SENDER = re.compile(r"[A-Za-z0-9 ._-]{1,11}|[0-9]{1,15}")
_XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


@dataclass(frozen=True)
class SentMessage:
    """One SMS the simulator sent: to whom, what, from which sender, its id and when."""

    login: str
    phone: str
    text: str
    sender: str
    id_sms: str
    count_sms: int
    cost: str
    sent_at: datetime  # the simulator's clock, UTC-aware


class SentLog:
    """Every SMS a server sent, in order; the id counter is shared by its logins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[SentMessage] = []
        self._next_id = FIRST_ID_SMS

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)

    def messages(self) -> list[SentMessage]:
        with self._lock:
            return list(self._messages)

    def send(
        self, login: str, phone: str, text: str, sender: str, count_sms: int, cost: str, sent_at: datetime
    ) -> SentMessage:
        with self._lock:
            sent = SentMessage(login, phone, text, sender, str(self._next_id), count_sms, cost, sent_at)
            self._next_id += 1
            self._messages.append(sent)
            return sent


@dataclass(frozen=True)
class SendPolicy:
    """What the simulated platform knows beyond the account: approved and pending senders, its
    global blacklist, a price, and per-phone error codes a test forces (11, 12, 31, 32, 35...)."""

    senders: Collection[str] = DEFAULT_SENDERS
    pending_senders: Collection[str] = frozenset()
    blacklist: Collection[str] = frozenset()
    price_per_part: Decimal = DEFAULT_PRICE_PER_PART
    phone_errors: Mapping[str, int] | None = None


def send_answer(
    params: Mapping[str, str],
    account: Account,
    stop_list: StopList,
    sent_log: SentLog,
    policy: SendPolicy,
    *,
    now_epoch: float,
    clock: Callable[[], datetime] | None = None,
) -> Reply:
    """The reply to one send.php request; each phone that passes every check is sent (logged)."""
    fmt = response_format(params)
    code = _auth_error(params, account, now_epoch) or _request_error(params, policy)
    if code is not None:
        return error_reply(code, fmt, account.error_code_style)
    text, sender = params.get("text", ""), params["sender"]
    phones = list(dict.fromkeys(params["phone"].split(",")))  # one answer per phone, as keyed
    sent_at = clock() if clock is not None else datetime.fromtimestamp(now_epoch, UTC)
    entries: dict[str, dict[str, str]] = {}
    for phone in phones:
        error = _phone_error(phone, text, stop_list, policy)
        if error is not None:
            entries[phone] = {"error": str(error)}
            continue
        parts = sms_parts(text)
        cost = f"{policy.price_per_part * parts:.4f}"
        sent = sent_log.send(account.login, phone, text, sender, parts, cost, sent_at)
        entries[phone] = {"error": "0", "id_sms": sent.id_sms, "cost": cost, "count_sms": str(parts)}
    return _phones_reply(entries, fmt)


def _request_error(params: Mapping[str, str], policy: SendPolicy) -> int | None:
    """The checks of the request as a whole, in the order LightSMS's error table lists them."""
    phones = params.get("phone", "")
    if not phones:
        return PHONE_MISSING
    if len(phones.split(",")) > MAX_PHONES:
        return TOO_MANY_PHONES
    sender = params.get("sender", "")
    if not sender:
        return SENDER_MISSING
    if _SENDER.fullmatch(sender) is None:
        return INVALID_SENDER
    if sender in policy.pending_senders:
        return SENDER_NOT_APPROVED
    if sender not in policy.senders:
        return SENDER_NOT_REGISTERED
    return None


def _phone_error(phone: str, text: str, stop_list: StopList, policy: SendPolicy) -> int | None:
    if _PHONE.fullmatch(phone) is None:
        return INVALID_PHONE
    if not text:
        return TEXT_MISSING
    forced = (policy.phone_errors or {}).get(phone)
    if forced is not None:
        return forced
    if phone in policy.blacklist:
        return BLACKLISTED
    if phone in stop_list:
        return ON_STOP_LIST
    return None


def _phones_reply(entries: dict[str, dict[str, str]], fmt: ResponseFormat) -> Reply:
    if fmt == "xml":
        elements = "".join(
            f'<phone phone="{xml_attribute(phone)}"'
            + "".join(f' {name}="{xml_attribute(value)}"' for name, value in entry.items())
            + " />"
            for phone, entry in entries.items()
        )
        body = f"{_XML_DECLARATION}<response><phones>{elements}</phones></response>"
        return Reply(200, body.encode(), XML_TYPE)
    return Reply(200, php_json(entries), JSON_TYPE)
