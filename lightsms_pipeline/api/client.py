"""The LightSMS HTTP client: signing, server-aligned timestamps, retries and typed errors.

One pooled `requests.Session`; safe to share between the threads of a backfill. Response bodies
are read by `responses.parse_body`, where the API's quirks live.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Literal, TypeVar

import requests
import urllib3
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    stop_before_delay,
    stop_never,
)
from tenacity.stop import stop_base

from lightsms_pipeline.api.responses import ApiErrorCode, RawMessages, ResponseProblem, parse_body
from lightsms_pipeline.api.signing import sign
from lightsms_pipeline.api.windows import Window, split
from lightsms_pipeline.contract import API_DATETIME_FORMAT
from lightsms_pipeline.errors import (
    AUTH_ERROR_CODES,
    ApiError,
    AuthenticationError,
    BadRequestError,
    LightSMSError,
    MalformedResponseError,
    UnavailableError,
    describe_code,
)

log = logging.getLogger(__name__)

INCOMING_ENDPOINT = "incoming.php"
TIMESTAMP = "timestamp.php"
STALE_TIMESTAMP_CODE = 6
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# What a PHP endpoint answers when one answer is too big for it (memory or time limit, or the
# gateway giving up on it): an assumption, LightSMS documents no limit (docs/lightsms-api.md
# §6-7). 503 and 429 say "unavailable" or "slow down" and are never read so.
SIZE_LIKE_STATUS = frozenset({500, 502, 504})
ResponseFormat = Literal["json", "xml"]
_T = TypeVar("_T")


def api_phone(phone: str, what: str = "a number") -> str:
    """The API's form of a number: digits without `+`, as LightSMS gives senders and as
    find_on_stop.php, add2stop.php and send.php take it; `what` names it in the refusal."""
    digits = phone.removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{what} must be digits with an optional leading +")
    return digits


class _NoPhoneInUrls(logging.Filter):
    """urllib3 logs every request line at DEBUG, and the URLs of the stop list and of send.php
    carry the number (`phone=`), which must reach no log when LIGHTSMS_SENDER_HASH_SALT
    pseudonymizes numbers. The key never is in a URL (only the signature, an MD5 that includes
    it)."""

    _PHONE = re.compile(r"(phone=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and "phone=" in a for a in record.args):
            record.args = tuple(
                self._PHONE.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


# Installed with the client, through which every request that puts a number in a URL goes.
logging.getLogger("urllib3.connectionpool").addFilter(_NoPhoneInUrls())


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before a transient fault becomes `UnavailableError`.

    At most `attempts` requests; between them a full-jitter exponential backoff (`backoff_delay`)
    or the server's `Retry-After`, capped at `max_retry_after`; and no sleep that would end past
    `total_seconds` after the first attempt started: the request gives up instead.
    """

    attempts: int = 6
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    total_seconds: float = 120.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_retry_after: float = 60.0


@dataclass(frozen=True)
class WindowPolicy:
    """When a day is fetched in `from`/`to` windows (windows.py) instead of in one answer.

    A day, or window, is cut into smaller windows when its answer would be longer than
    `max_bytes` (not read past that), or when `split_after_attempts` attempts in a row timed out
    reading or got HTTP 500/502/504, what an answer too large for the server looks like. A
    one-second window cannot be cut: it gets the full retry policy and fails as usual.
    `concurrency` windows of one day are fetched at once.
    """

    max_bytes: int = 64 * 1024 * 1024
    split_after_attempts: int = 3
    concurrency: int = 4


@dataclass
class FetchStats:
    """Counters a run reports as metadata; thread-safe, cumulative over the client's life."""

    requests: int = 0
    retries: int = 0
    timestamp_calls: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(
        self, *, requests: int = 0, retries: int = 0, timestamp_calls: int = 0, seconds: float = 0.0
    ) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.timestamp_calls += timestamp_calls
            self.seconds += seconds

    def snapshot(self) -> FetchStats:
        with self._lock:
            return FetchStats(self.requests, self.retries, self.timestamp_calls, self.seconds)

    def since(self, earlier: FetchStats) -> FetchStats:
        now = self.snapshot()
        return FetchStats(
            now.requests - earlier.requests,
            now.retries - earlier.retries,
            now.timestamp_calls - earlier.timestamp_calls,
            now.seconds - earlier.seconds,
        )


class _Transient(Exception):
    """A fault worth another try; carries what to report if the retries run out."""

    def __init__(
        self,
        problem: str,
        retry_after: float | None = None,
        *,
        size_like: bool = False,
        never_sent: bool = False,
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after
        # A read timeout or HTTP 500/502/504: maybe passing, maybe an answer too large to give.
        self.size_like = size_like
        # The request surely did not reach the API (no connection, or a 429 refusing it): what
        # send.php needs to know, where a lost answer must never be sent again (api/send.py).
        self.never_sent = never_sent


# What one `signed_call` raises for a transport fault or a passing unreadable body, for callers
# that make a single attempt and decide themselves (api/send.py); `retried` catches it.
AttemptFault = _Transient


class _Malformed(_Transient):
    """A body we could not read that may be a passing fault (truncated, HTML maintenance page)."""


class SpanRefused(Exception):
    """A span of days (`fetch_span`) did not come back in one answer: too large, or failing.
    Not an error of any day: the caller fetches the span's days one by one, each with the full
    retry policy, so that a fault still fails only its own day."""

    def __init__(self, window: Window, reason: str) -> None:
        super().__init__(f"{window}: {reason}")
        self.window = window
        self.reason = reason


# A span of days is an optimisation: it is tried this many times before its days are fetched
# one by one (where every day gets the whole retry policy again).
SPAN_ATTEMPTS = 2


class _Oversized(Exception):
    """The answer is longer than `WindowPolicy.max_bytes`; it was not read to the end."""


class _TooLarge(Exception):
    """This day or window is to be fetched in smaller windows."""


class _SplitInstead(stop_base):
    """Stop retrying a window that keeps timing out or failing with 500/502/504: it is cut."""

    def __init__(self, after_attempts: int) -> None:
        self.after_attempts = after_attempts

    def __call__(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        return isinstance(exc, _Transient) and exc.size_like and state.attempt_number >= self.after_attempts


class LightSMSClient:
    """Fetches incoming messages from LightSMS (or the project's simulator)."""

    def __init__(
        self,
        base_url: str,
        login: str,
        api_key: str,
        *,
        response_format: ResponseFormat = "json",
        retry: RetryPolicy | None = None,
        pool_size: int = 16,
        window: WindowPolicy | None = None,
        credential_names: tuple[str, str] = ("LIGHTSMS_LOGIN", "LIGHTSMS_API_KEY"),
    ) -> None:
        if response_format not in ("json", "xml"):
            raise ValueError(f"response_format must be 'json' or 'xml', not {response_format!r}")
        self.base_url = base_url.rstrip("/")
        self.login = login
        self._api_key = api_key
        # Where a refused login or key is fixed: the variables, or an account's entry (accounts.py).
        self.credential_names = credential_names
        self.response_format: ResponseFormat = response_format
        self.retry = retry or RetryPolicy()
        self.window = window or WindowPolicy()
        self.stats = FetchStats()
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._offset: float | None = None
        self._offset_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LightSMSClient(base_url={self.base_url!r}, login={self.login!r}, api_key=***)"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> LightSMSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- time -------------------------------------------------------------------------------

    def server_time_offset(self, refresh: bool = False) -> float:
        """Seconds to add to the local clock to get LightSMS's clock (fetched once, then cached).

        The docs want a server timestamp at most 10 s old; asking timestamp.php before every
        request doubles the requests, so we keep the offset and refresh it only on error 6.
        """
        with self._offset_lock:
            if self._offset is None or refresh:
                self._offset = self._fetch_offset()
            return self._offset

    def _fetch_offset(self) -> float:
        url = f"{self.base_url}/external/get/{TIMESTAMP}"

        def attempt() -> float:
            before = time.time()
            resp = self._get(url, None, TIMESTAMP, None)
            after = time.time()
            self.stats.add(timestamp_calls=1)
            text = resp.text.strip()
            if not (text.isascii() and text.isdigit()):  # "²".isdigit() is true, int() refuses it
                raise _Malformed(f"server time is not an integer: {text[:60]!r}")
            return int(text) - (before + after) / 2

        return self._with_retries(attempt, TIMESTAMP, None)

    def server_timestamp(self) -> int:
        return int(time.time() + self.server_time_offset())

    # --- incoming ---------------------------------------------------------------------------

    def fetch_day(self, day: date) -> RawMessages:
        """All messages LightSMS holds for one provider-local day: one `date=YYYY-MM-DD` answer,
        or, when that answer is too large or too slow (`WindowPolicy`), the day's `from`/`to`
        windows put together. Identical copies of a message in two answers are dropped later,
        by `normalize`, as for any answer. A window that fails raises its error: the day is all
        its windows or none of it."""
        try:
            return self._incoming({"date": day.isoformat()}, day.isoformat(), splittable=True)
        except _TooLarge:
            log.info("LightSMS %s for %s: the day's answer is too large; fetching it in windows",
                     INCOMING_ENDPOINT, day)  # fmt: skip
            return self._fetch_windows(Window.whole_day(day), concurrent=True)

    def fetch_span(self, first: date, last: date) -> RawMessages:
        """The messages of the days `first`..`last` in one `from`/`to` answer (both inclusive,
        provider-local), for a backfill to ask LightSMS once for several days instead of once a
        day (`LIGHTSMS_DAYS_PER_REQUEST`).

        Raises `SpanRefused` when the answer is too large (`WindowPolicy`: at once, no retry),
        keeps failing after `SPAN_ATTEMPTS` attempts, or is an API error: the days are then to
        be fetched one by one (`fetch_day`), which words any real problem for its own day."""
        window = Window(Window.whole_day(first).start, Window.whole_day(last).end)
        try:
            return self._incoming(
                window.params(), str(window), splittable=True, attempts=SPAN_ATTEMPTS, split_after=1
            )
        except _TooLarge:
            raise SpanRefused(window, "the answer is too large") from None
        except LightSMSError as exc:
            raise SpanRefused(window, str(exc)) from None

    def fetch_window(self, window: Window) -> RawMessages:
        """The messages of one `from`/`to` window, cut into smaller windows (one after the
        other) while an answer is too large."""
        try:
            return self._incoming(window.params(), str(window), splittable=bool(split(window)))
        except _TooLarge:
            return self._fetch_windows(window, concurrent=False)

    def fetch_range(self, start: datetime, end: datetime) -> RawMessages:
        """Messages between two provider-local instants, both ends inclusive (`from`/`to`)."""
        params = {"from": start.strftime(API_DATETIME_FORMAT), "to": end.strftime(API_DATETIME_FORMAT)}
        return self._incoming(params, f"{params['from']}..{params['to']}")

    def _fetch_windows(self, window: Window, *, concurrent: bool) -> RawMessages:
        """`window` in the smaller windows `split` cuts it into, each cut again if too large."""

        parts = split(window)
        if not concurrent or self.window.concurrency <= 1:
            return RawMessages.concat([self.fetch_window(part) for part in parts])
        with ThreadPoolExecutor(self.window.concurrency, thread_name_prefix="lightsms-window") as pool:
            futures = [pool.submit(self.fetch_window, part) for part in parts]
            try:
                return RawMessages.concat([f.result() for f in futures])
            except BaseException:
                for f in futures:  # one window failed the day: ask for no more of them
                    f.cancel()
                raise

    def _incoming(
        self,
        dates: dict[str, str],
        window: str,
        *,
        splittable: bool = False,
        attempts: int | None = None,
        split_after: int | None = None,
    ) -> RawMessages:
        def attempt() -> RawMessages:
            return self.signed_call(
                INCOMING_ENDPOINT,
                dates,
                window,
                lambda body: parse_body(body, self.response_format),
                max_bytes=self.window.max_bytes,
            )

        return self._with_retries(
            attempt,
            INCOMING_ENDPOINT,
            window,
            splittable=splittable,
            attempts=attempts,
            split_after=split_after,
        )

    def _api_error(self, code: int, window: str, endpoint: str = INCOMING_ENDPOINT) -> ApiError:
        meaning = describe_code(code)
        if code in AUTH_ERROR_CODES:
            login_name, key_name = self.credential_names
            hint = {
                6: f"check {key_name} (a fresh server timestamp did not help)",
                7: f"check {login_name}",
            }.get(code, f"check {login_name} and {key_name}")
            return AuthenticationError(f"{meaning}; {hint}", endpoint=endpoint, window=window, code=code)
        return BadRequestError(meaning, endpoint=endpoint, window=window, code=code)

    # --- transport --------------------------------------------------------------------------

    def _get(
        self,
        url: str,
        params: dict[str, str] | None,
        endpoint: str,
        window: str | None,
        *,
        max_bytes: int | None = None,
    ) -> requests.Response:
        started = time.monotonic()
        try:
            resp = self._session.get(
                url,
                params=params,
                timeout=(self.retry.connect_timeout, self.retry.read_timeout),
                stream=True,
            )
            # Reading the body here turns a truncated body into a retryable transport error.
            _read_body(resp, max_bytes)
        except requests.ConnectTimeout:
            raise _Transient(
                f"connection timed out after {self.retry.connect_timeout:g} s", never_sent=True
            ) from None
        except requests.Timeout:
            raise _Transient(f"timed out after {self.retry.read_timeout:g} s", size_like=True) from None
        except requests.RequestException as exc:
            never_sent = _no_connection(exc)
            what = "no connection" if never_sent else "connection failed"
            raise _Transient(f"{what} ({type(exc).__name__})", never_sent=never_sent) from None
        finally:
            self.stats.add(requests=1, seconds=time.monotonic() - started)
        if resp.status_code in RETRYABLE_STATUS:
            raise _Transient(
                f"HTTP {resp.status_code}",
                retry_after=_retry_after(resp),
                size_like=resp.status_code in SIZE_LIKE_STATUS,
                never_sent=resp.status_code == 429,  # "Too Many Requests": refused, not processed
            )
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if not resp.content and encoding not in ("identity", "gzip"):
            # gzip is checked whole where it is read (`_read_gzip_body`); another encoding that
            # decodes to nothing may be a cut stream, which must not read as an empty day.
            raise _Malformed(f"{resp.headers['Content-Encoding']} body decoded to nothing")
        if resp.status_code != 200:
            raise MalformedResponseError(
                f"unexpected HTTP {resp.status_code}", endpoint=endpoint, window=window
            )
        return resp

    def _with_retries(  # type: ignore[no-untyped-def]
        self,
        attempt,
        endpoint: str,
        window: str | None,
        *,
        splittable: bool = False,
        attempts: int | None = None,
        split_after: int | None = None,
    ):
        """`attempt` under the retry policy; `attempts` and `split_after` narrow the policy's
        attempts and `WindowPolicy.split_after_attempts` for one call (a span of days)."""
        policy = (
            self.retry
            if attempts is None
            else replace(self.retry, attempts=min(attempts, self.retry.attempts))
        )
        split_after = self.window.split_after_attempts if split_after is None else split_after

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = exc.retry_after if isinstance(exc, _Transient) else None
            return backoff_delay(policy, state.attempt_number, retry_after)

        def before_sleep(state: RetryCallState) -> None:
            self.stats.add(retries=1)
            exc = state.outcome.exception() if state.outcome else None
            log.info("LightSMS %s%s: %s; retrying", endpoint, f" for {window}" if window else "", exc)

        retrying = Retrying(
            # stop_before_delay: a wait that would end past the budget is not slept; we give up.
            stop=stop_any(
                stop_after_attempt(policy.attempts),
                stop_before_delay(policy.total_seconds),
                _SplitInstead(split_after) if splittable else stop_never,
            ),
            wait=wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Oversized as exc:
            if splittable:
                raise _TooLarge from None
            raise UnavailableError(
                f"{exc}, even for a one-second window", endpoint=endpoint, window=window
            ) from None
        except _Malformed as exc:
            # The attempts made, not the policy's maximum: the time budget may have stopped first.
            made = retrying.statistics.get("attempt_number", policy.attempts)
            raise MalformedResponseError(
                f"{exc.problem} (after {made} attempts)", endpoint=endpoint, window=window
            ) from None
        except _Transient as exc:
            made = retrying.statistics.get("attempt_number", policy.attempts)
            if splittable and exc.size_like and made >= split_after:
                raise _TooLarge from None
            raise UnavailableError(
                f"{exc.problem}; gave up after the retry budget "
                f"({policy.attempts} attempts, {policy.total_seconds:g} s)",
                endpoint=endpoint,
                window=window,
            ) from None

    # --- one signed request, to incoming.php or the stop list's endpoints (stop_list.py) -----

    def signed_call(
        self,
        endpoint: str,
        params: Mapping[str, str],
        where: str,
        parse: Callable[[bytes], _T | ApiErrorCode],
        *,
        max_bytes: int | None = None,
    ) -> _T:
        """One signed request to `endpoint` with `params`, its body read by `parse`; `where` names
        the request in errors and logs; a body over `max_bytes` is not read (`WindowPolicy`). Not
        retried: it is one attempt, for `retried`.

        Error 6 refuses the request (nothing was done), and is also what an expired timestamp
        gets: the clock is realigned and the request made once more. Any other error code raises
        its typed error.
        """
        url = f"{self.base_url}/external/get/{endpoint}"

        def signed() -> _T | ApiErrorCode:
            signed_params = {
                **params,
                "login": self.login,
                "return": self.response_format,
                "timestamp": str(self.server_timestamp()),
            }
            signed_params["signature"] = sign(signed_params, self._api_key)
            resp = self._get(url, signed_params, endpoint, where, max_bytes=max_bytes)
            try:
                return parse(resp.content)
            except ResponseProblem as exc:
                if exc.retryable:
                    raise _Malformed(str(exc)) from None
                raise MalformedResponseError(str(exc), endpoint=endpoint, window=where) from None

        result = signed()
        if isinstance(result, ApiErrorCode) and result.code == STALE_TIMESTAMP_CODE:
            self.server_time_offset(refresh=True)
            result = signed()
        if isinstance(result, ApiErrorCode):
            raise self._api_error(result.code, where, endpoint)
        return result

    def retried(self, attempt: Callable[[], _T], endpoint: str, where: str) -> _T:
        """`attempt` (made of `signed_call`s) under the retry policy: its transient faults are
        tried again, the last one raised as `UnavailableError` or `MalformedResponseError`."""
        return self._with_retries(attempt, endpoint, where)  # type: ignore[no-any-return]


def _no_connection(exc: requests.RequestException) -> bool:
    """Whether a request failed before any byte of it was sent: the connection was never made
    (refused, DNS failure: urllib3's NewConnectionError, NameResolutionError included). A reset
    or a protocol error on an open connection may come after the request went out."""
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.exceptions.ProxyError):
        return False
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _read_body(resp: requests.Response, max_bytes: int | None) -> None:
    """Read the whole body into `resp.content`, unless it is longer than `max_bytes`: then
    stop reading, drop the connection and raise `_Oversized`."""
    if resp.headers.get("Content-Encoding", "").strip().lower() == "gzip":
        _read_gzip_body(resp, max_bytes)
        return
    if max_bytes is None:
        _ = resp.content
        return
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        resp.close()
        raise _Oversized(
            f"the answer is {int(declared):,} bytes, over LIGHTSMS_WINDOW_MAX_BYTES ({max_bytes:,})"
        )
    body = bytearray()
    for chunk in resp.iter_content(1 << 20):
        body += chunk
        if len(body) > max_bytes:
            resp.close()
            raise _Oversized(f"the answer is over LIGHTSMS_WINDOW_MAX_BYTES ({max_bytes:,} bytes)")
    resp._content = bytes(body)  # what `resp.content` would have read itself


def _read_gzip_body(resp: requests.Response, max_bytes: int | None) -> None:
    """A gzip body, decoded here rather than by urllib3, which does not check that the stream
    ended: one cut anywhere decodes to less (or, cut inside its header, to nothing, which would
    read as an empty day), while a whole stream of an empty body is an empty day. zlib knows
    the difference: a stream is whole when it reached its end marker and its checksum."""
    raw = resp.raw.read(decode_content=False)
    stream = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: the gzip wrapper, checksum included
    limit = 0 if max_bytes is None else max_bytes + 1
    try:
        body = stream.decompress(raw, limit)
    except zlib.error as exc:  # damaged in transit, as requests' own decoding error says
        raise _Transient(f"gzip body could not be decoded ({exc})") from None
    if max_bytes is not None and len(body) > max_bytes:
        resp.close()
        raise _Oversized(f"the answer is over LIGHTSMS_WINDOW_MAX_BYTES ({max_bytes:,} bytes)")
    if not stream.eof or stream.unused_data:
        what = "decoded to nothing" if not body else "cut short, or followed by bytes not part of it"
        raise _Malformed(f"gzip body {what}")
    resp._content = body


def backoff_delay(
    policy: RetryPolicy,
    attempt_number: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed attempt `attempt_number` (1-based).

    Full jitter (uniform in [0, min(backoff_max, backoff_initial * 2^(n-1))]) so that the days
    of a backfill that failed together do not retry in lockstep; a `Retry-After` is honoured up
    to `max_retry_after`, so a server asking for an hour cannot stall a run for an hour.
    """
    ceiling = min(policy.backoff_max, policy.backoff_initial * 2 ** (attempt_number - 1))
    delay = (rng or random).uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_retry_after))
    return delay


def _retry_after(resp: requests.Response) -> float | None:
    """`Retry-After` in seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); None if absent
    or unreadable, and then the exponential backoff alone decides."""
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" in the obsolete forms: RFC 5322 says UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
