"""The simulated LightSMS over real HTTP: a threaded server on 127.0.0.1, its state, and faults.

`SimulatorServer` owns what changes while it runs (traffic, fault plan, clock skew, test hooks,
counters, a cache of encoded days) and delivers each request through the pure `api.answer`,
after any injected fault: error pages come from `encoding`, while the faults that only exist on a
socket (latency, slow answers, truncated bodies, connection resets) are done here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lightsms_pipeline.contract import API_DATETIME_FORMAT
from lightsms_pipeline.simulator.api import INCOMING, TIMESTAMP, Account, Request, answer, response_format
from lightsms_pipeline.simulator.encoding import (
    JSON_TYPE,
    TEXT_TYPE,
    EmptyStyle,
    ErrorCodeStyle,
    Reply,
    ResponseFormat,
    fault_reply,
    messages_reply,
)
from lightsms_pipeline.simulator.faults import APPLIED_FIRST, FaultKind, FaultPlan
from lightsms_pipeline.simulator.send import SEND, SendPolicy, SentLog, SentMessage, send_answer
from lightsms_pipeline.simulator.stop_list import (
    ADD_TO_STOP,
    ALREADY_EXISTS,
    FIND_ON_STOP,
    STOP_LIST_ENDPOINTS,
    StopList,
    stop_list_answer,
)
from lightsms_pipeline.simulator.traffic import DEDICATED_PHONE, Traffic

_ENDPOINTS = {
    "/external/get/timestamp.php": TIMESTAMP,
    "/external/get/incoming.php": INCOMING,
    **{f"/external/get/{name}": name for name in (FIND_ON_STOP, ADD_TO_STOP, SEND)},
}
_BODY_CACHE_ENTRIES = 1024  # a year of days in both formats, about 0.3 MB each at 2,000 a day


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


def _last_values(query: str) -> dict[str, str]:
    # PHP's $_GET keeps the last of repeated parameters.
    return {
        name: values[-1] for name, values in parse_qs(query, keep_blank_values=True, errors="replace").items()
    }


def _day_of(params: dict[str, str], fail_dates: Collection[str] = ()) -> str | None:
    """The day a request asks about: `date`, or the day of a `from`/`to` window inside one day,
    so that a day that always fails fails for its windows too; for a window over several days
    (a span), the first of them in `fail_dates`, so that the span fails as well."""
    if params.get("date"):
        return params["date"]
    start, end = params.get("from", ""), params.get("to", "")
    if start and start[:10] == end[:10]:
        return start[:10]
    try:
        first, last = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
    except ValueError:
        return None
    if not fail_dates or (last - first).days > 366:
        return None
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return next((d.isoformat() for d in days if d.isoformat() in fail_dates), None)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SimulatedLogin:
    """One LightSMS account the simulator serves: its login and key, its traffic, its stop list,
    and the cache of its encoded days. A server serves one at first and more through
    `SimulatorServer.add_login`, each answering only to its own login and key."""

    def __init__(self, login: str, api_key: str, traffic: Traffic) -> None:
        self.login = login
        self.api_key = api_key
        self._traffic = traffic
        self.stop_list = StopList()  # the account's stop list (find_on_stop.php, add2stop.php)
        self._bodies: OrderedDict[tuple[date, ResponseFormat], Reply] = OrderedDict()
        self._window_bodies: OrderedDict[tuple[datetime, datetime, ResponseFormat], Reply] = OrderedDict()
        self._bodies_lock = threading.Lock()

    def __repr__(self) -> str:  # never the API key
        return f"SimulatedLogin(login={self.login!r})"

    @property
    def traffic(self) -> Traffic:
        return self._traffic

    @traffic.setter
    def traffic(self, traffic: Traffic) -> None:
        with self._bodies_lock:
            self._traffic = traffic
            self._bodies.clear()
            self._window_bodies.clear()

    def receive(self, at: datetime, sender: str, text: str, phone: str | None, prefix: str) -> str:
        """Make a message arrive at `at` (naive local, whole seconds); its id_sms. Cached
        answers are dropped: a window that ended in the current second may now hold more."""
        with self._bodies_lock:
            message = self._traffic.receive(at, sender, text, phone=phone, prefix=prefix)
            self._window_bodies.clear()
            self._bodies.pop((at.date(), "json"), None)
            self._bodies.pop((at.date(), "xml"), None)
        return message.id_sms

    def window_reply(self, start: datetime, end: datetime, fmt: ResponseFormat) -> Reply:
        """A finished window's answer, encoded once (a million-message day is asked in windows)."""
        key = (start, end, fmt)
        with self._bodies_lock:
            cached = self._window_bodies.get(key)
            if cached is not None:
                self._window_bodies.move_to_end(key)
                return cached
            traffic = self._traffic
        reply = messages_reply(traffic.window(start, end), fmt)
        with self._bodies_lock:
            if traffic is self._traffic:
                self._window_bodies[key] = reply
                while len(self._window_bodies) > _BODY_CACHE_ENTRIES:
                    self._window_bodies.popitem(last=False)
        return reply

    def day_reply(self, day: date, fmt: ResponseFormat) -> Reply | None:
        """A whole finished day, encoded once; None when the day has no messages."""
        key = (day, fmt)
        with self._bodies_lock:
            cached = self._bodies.get(key)
            if cached is not None:
                self._bodies.move_to_end(key)
                return cached
            traffic = self._traffic
        messages = traffic.day_messages(day)
        if not messages:
            return None
        reply = messages_reply(messages, fmt)
        with self._bodies_lock:
            if traffic is self._traffic:
                self._bodies[key] = reply
                while len(self._bodies) > _BODY_CACHE_ENTRIES:
                    self._bodies.popitem(last=False)
        return reply


class SimulatorServer:
    """A LightSMS look-alike serving `traffic` over real HTTP in a background thread; more
    accounts (logins) through `add_login`."""

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
        max_messages_per_answer: int | None = None,
    ) -> None:
        self._primary = SimulatedLogin(login, api_key, traffic if traffic is not None else Traffic())
        self._logins: dict[str, SimulatedLogin] = {login: self._primary}
        self.host = host
        self._port = port
        self.faults = faults
        self.clock_skew_seconds = clock_skew_seconds
        self.error_code_style: ErrorCodeStyle = error_code_style
        self.empty_style: EmptyStyle = empty_style
        self.timestamp_window_seconds = timestamp_window_seconds
        self.max_messages_per_answer = max_messages_per_answer
        self._now = now if now is not None else _utc_now
        self.stats = SimulatorStats()
        self.already_listed_code = ALREADY_EXISTS  # add2stop.php's answer for a listed number
        self.send_policy = SendPolicy()  # send.php's senders, blacklist, price, forced errors
        self.sent_log = SentLog()  # every SMS send.php sent, from every login
        self._bodies_lock = threading.Lock()
        self._canned: dict[str | None, Reply] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()  # cuts a held answer short, so stop() does not wait it out

    def __repr__(self) -> str:  # never the API key
        return f"SimulatorServer(login={self.login!r}, url={self._url_or_none()!r})"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self._port), _Handler)
        httpd.simulator = self
        self.stopping.clear()
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
        self.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_open_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        httpd.join_handlers(timeout=5)

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
    def login(self) -> str:
        """The first account's login (the one given to the constructor)."""
        return self._primary.login

    @property
    def traffic(self) -> Traffic:
        return self._primary.traffic

    @traffic.setter
    def traffic(self, traffic: Traffic) -> None:
        self._primary.traffic = traffic

    @property
    def stop_list(self) -> StopList:
        """The first account's stop list (find_on_stop.php, add2stop.php)."""
        return self._primary.stop_list

    @stop_list.setter
    def stop_list(self, stop_list: StopList) -> None:
        self._primary.stop_list = stop_list

    def add_login(self, login: str, api_key: str, traffic: Traffic | None = None) -> SimulatedLogin:
        """Serve another account: its own key, traffic (default: the first account's, so seed it
        differently for distinct messages) and stop list. Answer styles, faults and the clock
        are the server's, shared by every login."""
        if login in self._logins:
            raise ValueError(f"the simulator already serves login {login!r}")
        added = SimulatedLogin(login, api_key, traffic if traffic is not None else self.traffic)
        self._logins[login] = added
        return added

    def receive(
        self,
        sender: str,
        text: str,
        *,
        login: str | None = None,
        phone: str | None = DEDICATED_PHONE,
        prefix: str = "",
    ) -> tuple[str, datetime]:
        """Make a message from `sender` arrive now, by the simulator's clock, on `login`'s account
        (default: the first): incoming.php lists it from this moment, for `date` and `from`/`to`.
        Returns its id_sms and the moment it arrived (aware, in the traffic's zone), from which a
        test measures how fast the pipeline acted on it (docs/rules.md §10)."""
        served = self._logins[login] if login is not None else self._primary
        arrived = datetime.fromtimestamp(self.now_epoch(), served.traffic.tz)
        at = arrived.replace(tzinfo=None, microsecond=0)
        return served.receive(at, sender, text, phone, prefix), arrived

    def login_state(self, login: str) -> SimulatedLogin:
        """The account served for `login` (its traffic and stop list, for tests to compare)."""
        return self._logins[login]

    def sent_messages(self) -> list[SentMessage]:
        """Every SMS send.php sent, in order, with the simulator's clock (UTC) when it did."""
        return self.sent_log.messages()

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
        return datetime.fromtimestamp(self.now_epoch(), self.traffic.tz).replace(tzinfo=None)

    def serve_body(
        self,
        body: bytes | None,
        *,
        day: str | None = None,
        status: int = 200,
        content_type: str = JSON_TYPE,
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
                self._day_reply(day, fmt)
            day += timedelta(days=1)

    # -- answers ---------------------------------------------------------------------------

    def reply(self, endpoint: str, params: dict[str, str], fault: FaultKind | None) -> Reply:
        """The answer to one request to a known endpoint, after any fault was chosen."""
        fmt = response_format(params)
        # An unknown login is answered as the first account's (error 7: invalid login).
        served = self._logins.get(params.get("login", ""), self._primary)
        if fault is not None and self.faults is not None:
            injected = fault_reply(fault, fmt, self.faults.retry_after_seconds)
            if injected is not None:
                return injected
        if endpoint == INCOMING:
            canned = self._canned.get(params.get("date", "")) or self._canned.get(None)
            if canned is not None:
                return canned
        if endpoint in STOP_LIST_ENDPOINTS:
            return stop_list_answer(
                endpoint,
                params,
                self._account(served),
                served.stop_list,
                now_epoch=self.now_epoch(),
                local_now=self._local_now(served).strftime(API_DATETIME_FORMAT),
                already_listed_code=self.already_listed_code,
            )
        if endpoint == SEND:
            return send_answer(
                params,
                self._account(served),
                served.stop_list,
                self.sent_log,
                self.send_policy,
                now_epoch=self.now_epoch(),
            )
        request = Request(endpoint, params, self.now_epoch())
        return answer(request, self._account(served), served.traffic, served.day_reply, served.window_reply)

    def _local_now(self, served: SimulatedLogin) -> datetime:
        return datetime.fromtimestamp(self.now_epoch(), served.traffic.tz).replace(tzinfo=None)

    def _account(self, served: SimulatedLogin) -> Account:
        # Built per request: tests change the answer styles of a running server.
        return Account(
            login=served.login,
            api_key=served.api_key,
            timestamp_window_seconds=self.timestamp_window_seconds,
            error_code_style=self.error_code_style,
            empty_style=self.empty_style,
            max_messages_per_answer=self.max_messages_per_answer,
        )

    def warm_windows(
        self, windows: Sequence[tuple[datetime, datetime]], fmt: ResponseFormat = "json"
    ) -> None:
        """Encode the answers of finished `from`/`to` windows ahead of a benchmark."""
        for start, end in windows:
            if self.traffic.window(start, end):
                self._window_reply(start, end, fmt)

    def _window_reply(self, start: datetime, end: datetime, fmt: ResponseFormat) -> Reply:
        return self._primary.window_reply(start, end, fmt)

    def _day_reply(self, day: date, fmt: ResponseFormat) -> Reply | None:
        return self._primary.day_reply(day, fmt)


def _lost_answer(fault: FaultKind, applied: Reply) -> Reply:
    """What the client gets instead of `applied` after the request took effect: HTTP 500, or a
    200 with the first half of the body and "..." (whole as sent, so it reaches the parser, not
    the socket; the "..." so that half of timestamp.php's number is not a number)."""
    if fault is FaultKind.APPLY_THEN_500:
        return Reply(500, b"Internal Server Error\n", TEXT_TYPE)
    return Reply(200, applied.body[: len(applied.body) // 2] + b"...", applied.content_type)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True
    simulator: SimulatorServer

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # ThreadingMixIn's own, except that the handler thread is remembered, so that stop() can
        # wait for it: no thread of ours may outlive stop() (or run into interpreter shutdown).
        thread = threading.Thread(
            target=self._handle_and_forget,
            args=(request, client_address),
            name=f"lightsms-simulator-connection:{self.server_address[1]}",
            daemon=True,
        )
        with self._open_lock:
            self._open.add(request)
            self._handlers.add(thread)
        thread.start()

    def _handle_and_forget(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._handlers.discard(threading.current_thread())

    def join_handlers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._open_lock:
            handlers = list(self._handlers)
        for thread in handlers:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

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
            self._send(Reply(404, b"Not Found\n", TEXT_TYPE))
            return
        params = _last_values(split.query)
        if endpoint == INCOMING:
            sim.stats.record_params(params)
        fault = None
        if plan is not None:
            fault = plan.push_fault(endpoint, params.get("phone")) or plan.choose(
                endpoint, _day_of(params, plan.fail_dates)
            )
        if fault is not None:
            sim.stats.record_fault(fault)
            if fault is FaultKind.RESET:
                self._reset()
                return
            if fault in APPLIED_FIRST and plan is not None:
                # The request takes effect (a number listed, an SMS sent); then its answer is lost.
                applied = sim.reply(endpoint, params, None)
                if fault is FaultKind.APPLY_THEN_RESET:
                    self._reset()
                elif fault is FaultKind.APPLY_THEN_SLOW:
                    if not sim.stopping.wait(plan.slow_seconds):
                        self._send(applied)
                else:
                    self._send(_lost_answer(fault, applied))
                return
            if fault is FaultKind.SLOW and plan is not None:
                time.sleep(plan.slow_seconds)
        reply = sim.reply(endpoint, params, fault)
        self._send(reply, truncate=fault is FaultKind.TRUNCATED)

    def _method_not_allowed(self) -> None:
        self._discard_body()
        self.server.simulator.stats.record_request("other")
        self._send(Reply(405, b"Method Not Allowed\n", TEXT_TYPE, (("Allow", "GET"),)))

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
