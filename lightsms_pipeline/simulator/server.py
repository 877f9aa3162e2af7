"""The simulated LightSMS HTTP API: timestamp.php and incoming.php on 127.0.0.1, faults included.

It answers like the PHP server behind www.lightsms.com/external/get/ (shared/lightsms-api.md):
API errors are HTTP 200 with a top-level {"error": N}, JSON is PHP json_encode output, and the
signature is checked with its own PHP-style ksort + implode + key, never with the client's code,
so a signing bug in the client shows up as error 6 instead of being mirrored.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import socket
import struct
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from lightsms_pipeline.contract import API_DATETIME_FORMAT, DEFAULT_TIMEZONE
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.traffic import SimMessage, Traffic

ErrorCodeStyle = Literal["int", "str"]
EmptyStyle = Literal["error19", "error19_str", "empty_list", "empty_object", "empty_body"]
ResponseFormat = Literal["json", "xml"]

TIMESTAMP_PATH = "/external/get/timestamp.php"
INCOMING_PATH = "/external/get/incoming.php"
_ENDPOINTS = {TIMESTAMP_PATH: "timestamp.php", INCOMING_PATH: "incoming.php"}

_JSON_TYPE = "application/json; charset=utf-8"
_XML_TYPE = "text/xml; charset=utf-8"
_TEXT_TYPE = "text/plain; charset=utf-8"
_HTML_TYPE = "text/html; charset=utf-8"
_XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_MAINTENANCE_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Site under maintenance</title></head>"
    b"<body><h1>Site under maintenance</h1><p>We'll be back shortly.</p></body></html>\n"
)
_BODY_CACHE_ENTRIES = 1024  # a year of days in both formats, about 0.3 MB each at 2,000 a day


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, before it is written to the socket."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


class SimulatorStats:
    """Thread-safe counters of what the simulator saw, for tests and benchmarks to assert on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.connections = 0
        self.by_endpoint: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.faults_injected: Counter[FaultKind] = Counter()
        self.log: list[dict[str, str]] = []  # query params of every incoming.php request

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.connections = 0
            self.by_endpoint.clear()
            self.by_status.clear()
            self.faults_injected.clear()
            self.log.clear()

    def record_request(self, endpoint: str) -> None:
        with self._lock:
            self.requests += 1
            self.by_endpoint[endpoint] += 1

    def record_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def record_params(self, params: dict[str, str]) -> None:
        with self._lock:
            self.log.append(dict(params))

    def record_fault(self, kind: FaultKind) -> None:
        with self._lock:
            self.faults_injected[kind] += 1

    def record_status(self, status: int) -> None:
        with self._lock:
            self.by_status[status] += 1


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


def error_reply(code: int, fmt: ResponseFormat, style: ErrorCodeStyle) -> Reply:
    """A request-level API error: HTTP 200 with only an "error" key (api notes 4)."""
    if fmt == "xml":
        body = f"{_XML_DECLARATION}<response><error>{code}</error></response>".encode()
        return Reply(200, body, _XML_TYPE)
    return Reply(200, php_json({"error": str(code) if style == "str" else code}), _JSON_TYPE)


def empty_reply(fmt: ResponseFormat, style: EmptyStyle) -> Reply:
    """No messages: undocumented for incoming, so each shape other clients cope with (notes 5)."""
    if style in ("error19", "error19_str"):
        return error_reply(19, fmt, "str" if style == "error19_str" else "int")
    if fmt == "xml":
        return Reply(200, f"{_XML_DECLARATION}<response></response>".encode(), _XML_TYPE)
    bodies = {"empty_list": b"[]", "empty_object": b"{}", "empty_body": b""}
    return Reply(200, bodies[style], _JSON_TYPE)


def php_signature(params: dict[str, str], api_key: str) -> str:
    """md5(implode(ksort($params without signature)) . $key), lowercase hex of UTF-8 bytes."""
    ordered = sorted((name.encode("utf-8"), value) for name, value in params.items())
    joined = "".join(value for name, value in ordered if name != b"signature")
    return hashlib.md5((joined + api_key).encode("utf-8")).hexdigest()


def _fault_reply(kind: FaultKind, plan: FaultPlan, fmt: ResponseFormat) -> Reply | None:
    if kind is FaultKind.HTTP_500:
        return Reply(500, b"Internal Server Error\n", _TEXT_TYPE)
    if kind is FaultKind.HTTP_503:
        return Reply(503, b"Service Unavailable\n", _TEXT_TYPE)
    if kind is FaultKind.HTML:
        return Reply(200, _MAINTENANCE_PAGE, _HTML_TYPE)
    if kind is FaultKind.STALE_TIMESTAMP:
        return error_reply(6, fmt, "int")
    if kind is FaultKind.RATE_LIMIT:
        retry_after = (("Retry-After", str(plan.retry_after_seconds)),)
        return Reply(429, b"Too Many Requests\n", _TEXT_TYPE, retry_after)
    return None  # slow and truncated answer normally; reset never answers


@dataclass(frozen=True)
class _DayQuery:
    day: date


@dataclass(frozen=True)
class _RangeQuery:
    start: datetime
    end: datetime


def _parse_dates(params: dict[str, str]) -> _DayQuery | _RangeQuery | int:
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


def _last_values(query: str) -> dict[str, str]:
    # PHP's $_GET keeps the last of repeated parameters.
    return {
        name: values[-1] for name, values in parse_qs(query, keep_blank_values=True, errors="replace").items()
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SimulatorServer:
    """A LightSMS look-alike serving `traffic` over real HTTP in a background thread."""

    def __init__(
        self,
        traffic: Traffic | None = None,
        *,
        login: str = "demo",
        api_key: str = "demo-key",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        clock_skew_seconds: float = 0.0,
        error_code_style: ErrorCodeStyle = "int",
        empty_style: EmptyStyle = "error19",
        timestamp_window_seconds: float = 10.0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._traffic = traffic if traffic is not None else Traffic()
        self.login = login
        self._api_key = api_key
        self.host = host
        self._port = port
        self.faults = faults
        self.clock_skew_seconds = clock_skew_seconds
        self.error_code_style: ErrorCodeStyle = error_code_style
        self.empty_style: EmptyStyle = empty_style
        self.timestamp_window_seconds = timestamp_window_seconds
        self._now = now if now is not None else _utc_now
        self._tz = ZoneInfo(self._traffic.timezone)
        self.stats = SimulatorStats()
        self._bodies: OrderedDict[tuple[date, ResponseFormat], bytes] = OrderedDict()
        self._bodies_lock = threading.Lock()
        self._canned: dict[str | None, Reply] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never the API key
        return f"SimulatorServer(login={self.login!r}, url={self._url_or_none()!r})"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self._port), _Handler)
        httpd.simulator = self
        self._httpd = httpd
        self._port = int(httpd.server_address[1])  # keeps base_url valid after stop()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"lightsms-simulator:{httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_open_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port == 0:
            raise RuntimeError("the simulator picks its port on start(); start it first")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _url_or_none(self) -> str | None:
        return self.base_url if self._httpd is not None else None

    # -- state -----------------------------------------------------------------------------

    @property
    def traffic(self) -> Traffic:
        return self._traffic

    @traffic.setter
    def traffic(self, traffic: Traffic) -> None:
        with self._bodies_lock:
            self._traffic = traffic
            self._tz = ZoneInfo(traffic.timezone)
            self._bodies.clear()

    @property
    def log(self) -> list[dict[str, str]]:
        """Query params of every incoming.php request, in arrival order."""
        return self.stats.log

    def now_epoch(self) -> float:
        """The server's clock: `now()` plus the configured skew, in Unix seconds."""
        current = self._now()
        if current.tzinfo is None:  # a naive `now` is read as UTC
            current = current.replace(tzinfo=UTC)
        return current.timestamp() + self.clock_skew_seconds

    def local_now(self) -> datetime:
        """The server's clock as a naive local time in the traffic's time zone."""
        return datetime.fromtimestamp(self.now_epoch(), self._tz).replace(tzinfo=None)

    def serve_body(
        self,
        body: bytes | None,
        *,
        day: str | None = None,
        status: int = 200,
        content_type: str = _JSON_TYPE,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Test hook: answer incoming.php for `day` (every request, if None) with exactly `body`,
        whatever was asked and without checking the signature, until called with `body=None`.

        For bodies the real API might send but the simulator never would (wrong types, invalid
        UTF-8, XML with entities); latency and faults still come first.
        """
        with self._bodies_lock:
            if body is None:
                self._canned.pop(day, None)
            else:
                self._canned[day] = Reply(status, body, content_type, headers)

    def warm(self, first: date, last: date, formats: Sequence[ResponseFormat] = ("json",)) -> None:
        """Generate and encode every finished day in [first, last] ahead of a benchmark."""
        today = self.local_now().date()
        day = first
        while day <= last and day < today:
            for fmt in formats:
                self._day_body(day, fmt)
            day += timedelta(days=1)

    # -- answers ---------------------------------------------------------------------------

    def reply(self, endpoint: str, params: dict[str, str], fault: FaultKind | None) -> Reply:
        """The answer to one request to a known endpoint, after any fault was chosen."""
        fmt: ResponseFormat = "xml" if params.get("return") == "xml" else "json"
        if fault is not None and self.faults is not None:
            injected = _fault_reply(fault, self.faults, fmt)
            if injected is not None:
                return injected
        if endpoint == "timestamp.php":
            return Reply(200, str(int(self.now_epoch())).encode("ascii"), _TEXT_TYPE)
        canned = self._canned.get(params.get("date", "")) or self._canned.get(None)
        if canned is not None:
            return canned
        return self._incoming(params, fmt)

    def _incoming(self, params: dict[str, str], fmt: ResponseFormat) -> Reply:
        auth_code = self._auth_error(params)
        query = _parse_dates(params) if auth_code is None else auth_code
        if isinstance(query, int):
            return error_reply(query, fmt, self.error_code_style)
        local_now = self.local_now()
        if isinstance(query, _DayQuery):
            if query.day < local_now.date():
                body = self._day_body(query.day, fmt)
                if body is not None:
                    return Reply(200, body, _XML_TYPE if fmt == "xml" else _JSON_TYPE)
                return empty_reply(fmt, self.empty_style)
            start = datetime(query.day.year, query.day.month, query.day.day)
            end = start.replace(hour=23, minute=59, second=59)
        else:
            start, end = query.start, query.end
        # Today is still filling: only what has already arrived by the server's clock.
        messages = self._traffic.window(start, min(end, local_now))
        if not messages:
            return empty_reply(fmt, self.empty_style)
        if fmt == "xml":
            return Reply(200, encode_xml(messages), _XML_TYPE)
        return Reply(200, encode_json(messages), _JSON_TYPE)

    def _auth_error(self, params: dict[str, str]) -> int | None:
        # The order a PHP script would check in; blank counts as missing, like PHP's empty().
        if not params.get("signature"):
            return 1
        if not params.get("login"):
            return 2
        if not params.get("timestamp"):
            return 24
        if params["login"] != self.login:
            return 7
        expected = php_signature(params, self._api_key)
        if not hmac.compare_digest(expected, params["signature"]):
            return 6
        try:
            timestamp = int(params["timestamp"])
        except ValueError:
            return 6
        # An expired timestamp is undocumented; error 6 is the likeliest answer (api notes 3).
        if abs(timestamp - self.now_epoch()) > self.timestamp_window_seconds:
            return 6
        return None

    def _day_body(self, day: date, fmt: ResponseFormat) -> bytes | None:
        """A whole finished day, encoded once; None when the day has no messages."""
        key = (day, fmt)
        with self._bodies_lock:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
                return body
            traffic = self._traffic
        messages = traffic.day_messages(day)
        if not messages:
            return None
        body = encode_xml(messages) if fmt == "xml" else encode_json(messages)
        with self._bodies_lock:
            if traffic is self._traffic:
                self._bodies[key] = body
                while len(self._bodies) > _BODY_CACHE_ENTRIES:
                    self._bodies.popitem(last=False)
        return body


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True
    simulator: SimulatorServer

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        # Keep-alive connections outlive serve_forever(); without this a pooled client would go
        # on talking to a "stopped" simulator.
        with self._open_lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or hang up mid-answer are normal here; stay quiet


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a pooled requests.Session reuses sockets
    server_version = "LightSMS-simulator"
    sys_version = ""
    wbufsize = 1 << 16  # headers and body leave in one write
    timeout = 120  # idle keep-alive connections are dropped eventually
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.simulator.stats.record_connection()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # nothing per request on stderr; the URL carries the signature

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Every method but GET, even ones http.server has never heard of, is a 405.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def do_GET(self) -> None:
        self._discard_body()
        sim = self.server.simulator
        split = urlsplit(self.path)
        endpoint = _ENDPOINTS.get(split.path)
        sim.stats.record_request(endpoint or "other")
        plan = sim.faults
        if plan is not None and plan.latency_ms > 0:
            time.sleep(plan.latency_ms / 1000)
        if endpoint is None:
            self._send(Reply(404, b"Not Found\n", _TEXT_TYPE))
            return
        params = _last_values(split.query)
        if endpoint == "incoming.php":
            sim.stats.record_params(params)
        fault = plan.choose(endpoint, params.get("date")) if plan is not None else None
        if fault is not None:
            sim.stats.record_fault(fault)
            if fault is FaultKind.RESET:
                self._reset()
                return
            if fault is FaultKind.SLOW and plan is not None:
                time.sleep(plan.slow_seconds)
        reply = sim.reply(endpoint, params, fault)
        self._send(reply, truncate=fault is FaultKind.TRUNCATED)

    def _method_not_allowed(self) -> None:
        self._discard_body()
        self.server.simulator.stats.record_request("other")
        self._send(Reply(405, b"Method Not Allowed\n", _TEXT_TYPE, (("Allow", "GET"),)))

    def _send(self, reply: Reply, *, truncate: bool = False) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.server.simulator.stats.record_status(reply.status)
        if self.command == "HEAD":
            return
        if truncate:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(reply.body)

    def _reset(self) -> None:
        # SO_LINGER 0 and close: the kernel answers with RST, i.e. "connection reset by peer".
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(self.connection.detach())

    def _discard_body(self) -> None:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or (length and not length.isdigit()):
            self.close_connection = True
        elif length and int(length) > 0:
            if int(length) > 1 << 20:
                self.close_connection = True
            else:
                self.rfile.read(int(length))


def run_simulator_cli(
    days: int,
    per_day: int,
    port: int,
    faults: str | None,
    seed: int,
    login: str,
    api_key: str,
    host: str = "127.0.0.1",
) -> None:
    """Serve until Ctrl-C: `days` days of history ending today (all history when days <= 0)."""
    timezone = DEFAULT_TIMEZONE
    today = datetime.now(ZoneInfo(timezone)).date()
    start = today - timedelta(days=days - 1) if days > 0 else None
    traffic = Traffic(seed=seed, per_day=per_day, start=start, timezone=timezone)
    plan = FaultPlan.parse(faults) if faults else None
    server = SimulatorServer(traffic, login=login, api_key=api_key, host=host, port=port, faults=plan).start()
    # The key is the user's own, but keys are never printed: a placeholder stands in for it.
    print(
        f"LightSMS simulator on {server.base_url} (login {login}); Ctrl-C stops it.\n"
        f"export LIGHTSMS_BASE_URL={server.base_url} LIGHTSMS_LOGIN={login} "
        "LIGHTSMS_API_KEY=<the key you passed with --api-key>",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
