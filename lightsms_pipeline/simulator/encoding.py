"""The bytes the simulated LightSMS sends: PHP-style JSON, XML bodies, error and empty replies.

How the PHP server behind www.lightsms.com writes its answers (docs/lightsms-api.md): API errors
are HTTP 200 with a top-level {"error": N}, JSON is PHP json_encode output, XML is one
self-closing element per message. Nothing here decides which answer a request gets (`api`) or
how it reaches the socket (`server`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from lightsms_pipeline.simulator.faults import FaultKind
from lightsms_pipeline.simulator.traffic import SimMessage

ErrorCodeStyle = Literal["int", "str"]
EmptyStyle = Literal["error19", "error19_str", "empty_list", "empty_object", "empty_body"]
ResponseFormat = Literal["json", "xml"]

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
_XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
_MAINTENANCE_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Site under maintenance</title></head>"
    b"<body><h1>Site under maintenance</h1><p>We'll be back shortly.</p></body></html>\n"
)


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, before it is written to the socket."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def php_json(value: Any) -> bytes:
    """PHP json_encode output: compact, \\uXXXX for every non-ASCII char, and "/" as "\\/"."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    # json.dumps never writes "/" outside a string, so every one of them is inside a value.
    return text.replace("/", "\\/").encode("ascii")


_json_string = json.encoder.encode_basestring_ascii  # a quoted, ASCII-only JSON string


def encode_json(messages: Iterable[SimMessage]) -> bytes:
    """The success body of incoming.php: one object keyed by id_sms, ascending (api notes 1).

    Same bytes as `php_json` of the equivalent dict, written by hand with the C string escaper:
    three times faster than json.dumps on a dict of dicts, and a year of 2,000-message days
    goes through here in the benchmarks.
    """
    q = _json_string
    records = []
    for m in messages:
        # Older platform samples have no "phone" at all (api notes 1).
        phone = "" if m.phone is None else f',"phone":{q(m.phone)}'
        records.append(
            f'{q(m.id_sms)}:{{"date":{q(m.date)},"sender":{q(m.sender)}{phone},'
            f'"prefix":{q(m.prefix)},"text":{q(m.text)}}}'
        )
    # Every "/" is inside a string: the structure written above has none.
    return ("{" + ",".join(records) + "}").replace("/", "\\/").encode("ascii")


_XML_SPECIAL = re.compile('[&<>"\n\r\t]')


def xml_attribute(value: str) -> str:
    """Escape for a double-quoted attribute so an XML parser gives back exactly `value`.

    Attribute-value normalization turns literal newlines and tabs into spaces, so they must be
    character references to survive.
    """
    if _XML_SPECIAL.search(value) is None:
        return value
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def encode_xml(messages: Iterable[SimMessage]) -> bytes:
    """The XML success body: one self-closing <sms .../> element per message (api notes 1)."""
    esc = xml_attribute
    special = _XML_SPECIAL.search
    parts = [_XML_DECLARATION, "<response>\n"]
    for m in messages:
        phone = m.phone
        if special(f"{m.id_sms}{m.date}{m.sender}{phone or ''}{m.prefix}{m.text}") is not None:
            id_sms, day, sender, prefix, text = map(esc, (m.id_sms, m.date, m.sender, m.prefix, m.text))
            phone = None if phone is None else esc(phone)
        else:  # the common case: nothing to escape, so no per-attribute work
            id_sms, day, sender, prefix, text = m.id_sms, m.date, m.sender, m.prefix, m.text
        phone_attr = "" if phone is None else f' phone="{phone}"'
        parts.append(
            f'<sms id_sms="{id_sms}" date="{day}" sender="{sender}"{phone_attr}'
            f' prefix="{prefix}" text="{text}" />\n'
        )
    parts.append("</response>")
    return "".join(parts).encode("utf-8")


def messages_reply(messages: Iterable[SimMessage], fmt: ResponseFormat) -> Reply:
    """A success answer listing `messages` in the requested format."""
    if fmt == "xml":
        return Reply(200, encode_xml(messages), XML_TYPE)
    return Reply(200, encode_json(messages), JSON_TYPE)


def error_reply(code: int, fmt: ResponseFormat, style: ErrorCodeStyle) -> Reply:
    """A request-level API error: HTTP 200 with only an "error" key (api notes 4)."""
    if fmt == "xml":
        body = f"{_XML_DECLARATION}<response><error>{code}</error></response>".encode()
        return Reply(200, body, XML_TYPE)
    return Reply(200, php_json({"error": str(code) if style == "str" else code}), JSON_TYPE)


def empty_reply(fmt: ResponseFormat, style: EmptyStyle) -> Reply:
    """No messages: undocumented for incoming, so each shape other clients cope with (notes 5)."""
    if style in ("error19", "error19_str"):
        return error_reply(19, fmt, "str" if style == "error19_str" else "int")
    if fmt == "xml":
        return Reply(200, f"{_XML_DECLARATION}<response></response>".encode(), XML_TYPE)
    bodies = {"empty_list": b"[]", "empty_object": b"{}", "empty_body": b""}
    return Reply(200, bodies[style], JSON_TYPE)


def oversized_reply() -> Reply:
    """An answer too large for the server: what nginx says when the PHP script behind it runs
    out of its time or memory limit. An assumption: LightSMS documents no limit at all."""
    return Reply(504, b"<html><head><title>504 Gateway Time-out</title></head></html>\n", HTML_TYPE)


def fault_reply(kind: FaultKind, fmt: ResponseFormat, retry_after_seconds: int) -> Reply | None:
    """What an injected fault answers instead of the API; None for the faults that are not an
    answer of their own (slow and truncated answers carry the normal reply, a reset none)."""
    if kind is FaultKind.HTTP_500:
        return Reply(500, b"Internal Server Error\n", TEXT_TYPE)
    if kind is FaultKind.HTTP_503:
        return Reply(503, b"Service Unavailable\n", TEXT_TYPE)
    if kind is FaultKind.HTML:
        return Reply(200, _MAINTENANCE_PAGE, HTML_TYPE)
    if kind is FaultKind.STALE_TIMESTAMP:
        return error_reply(6, fmt, "int")
    if kind is FaultKind.RATE_LIMIT:
        return Reply(429, b"Too Many Requests\n", TEXT_TYPE, (("Retry-After", str(retry_after_seconds)),))
    return None
