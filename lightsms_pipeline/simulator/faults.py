"""Fault injection for the simulator: which request fails, how, and how slowly every one answers.

LightSMS documents no rate limits, status codes or outages (api notes 6), so these are the
failures any HTTP API shows in practice, plus the API's own stale-timestamp answer (error 6).
A plan is reproducible: scripted faults come first, then one seeded draw per request decides.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum


class FaultKind(StrEnum):
    HTTP_500 = "http_500"
    HTTP_503 = "http_503"
    RESET = "reset"  # the socket is closed with no response (RST)
    SLOW = "slow"  # answers normally after `slow_seconds`: a client with a shorter timeout gives up
    TRUNCATED = "truncated"  # full Content-Length announced, half the body sent, then closed
    HTML = "html"  # HTTP 200 with a maintenance page, as a proxy in front of PHP would send
    STALE_TIMESTAMP = "stale_timestamp"  # HTTP 200 {"error":6}, as if the timestamp expired
    RATE_LIMIT = "rate_limit"  # HTTP 429 with Retry-After
    # The request takes effect (a number is added to the stop list), then its answer is lost:
    APPLY_THEN_RESET = "apply_then_reset"  # ... the connection is reset instead of answered
    APPLY_THEN_SLOW = "apply_then_slow"  # ... or answered only after `slow_seconds`
    APPLY_THEN_500 = "apply_then_500"  # ... or answered HTTP 500
    APPLY_THEN_MALFORMED = "apply_then_malformed"  # ... or answered 200 with half its body


# The signed API calls; faults hit the stop-list endpoints and send.php as they hit incoming.php.
# On send.php the faults that answer instead of the API (http_500, http_503, html, rate_limit,
# stale_timestamp, reset) send nothing; slow, truncated and the apply_then_* ones send first.
_ADD_TO_STOP = "add2stop.php"
_SEND = "send.php"
_FAULTED_ENDPOINTS = frozenset({"incoming.php", "find_on_stop.php", _ADD_TO_STOP, _SEND})
# The faults after which the request has taken effect and its answer is lost or late.
APPLIED_FIRST = frozenset(
    {
        FaultKind.APPLY_THEN_RESET,
        FaultKind.APPLY_THEN_SLOW,
        FaultKind.APPLY_THEN_500,
        FaultKind.APPLY_THEN_MALFORMED,
    }
)
_NUMBER_SETTINGS = ("latency_ms", "slow_seconds", "retry_after_seconds", "seed")


@dataclass
class FaultPlan:
    """What goes wrong, per incoming.php request (and timestamp.php, if asked)."""

    rates: dict[FaultKind, float] = field(default_factory=dict)
    script: list[FaultKind | None] = field(default_factory=list)
    fail_dates: set[str] = field(default_factory=set)
    latency_ms: int = 0
    slow_seconds: float = 3.0
    retry_after_seconds: int = 1
    seed: int = 0
    faults_on_timestamp: bool = False
    # Stop-list pushes of these numbers (digits, as sent) get this fault on every add2stop.php.
    fail_pushes: dict[str, FaultKind] = field(default_factory=dict)
    # send.php requests to these numbers (the `phone` parameter as sent) get this fault, every one.
    fail_sends: dict[str, FaultKind] = field(default_factory=dict)
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rates = {FaultKind(kind): float(rate) for kind, rate in self.rates.items()}
        self.script = [None if kind is None else FaultKind(kind) for kind in self.script]
        self.fail_pushes = {phone: FaultKind(kind) for phone, kind in self.fail_pushes.items()}
        self.fail_sends = {phone: FaultKind(kind) for phone, kind in self.fail_sends.items()}
        if any(rate < 0 for rate in self.rates.values()) or sum(self.rates.values()) > 1.0:
            raise ValueError("fault rates must be >= 0 and add up to at most 1")
        if self.latency_ms < 0 or self.slow_seconds < 0 or self.retry_after_seconds < 0:
            raise ValueError("latency_ms, slow_seconds and retry_after_seconds must be >= 0")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def push_fault(self, endpoint: str, phone: str | None) -> FaultKind | None:
        """The fault every add2stop.php (`fail_pushes`) or send.php (`fail_sends`) of this
        number gets, else None; asked before `choose`, which then is not consumed."""
        if phone is None:
            return None
        if endpoint == _ADD_TO_STOP:
            return self.fail_pushes.get(phone)
        if endpoint == _SEND:
            return self.fail_sends.get(phone)
        return None

    def choose(self, endpoint: str, date_param: str | None = None) -> FaultKind | None:
        """The fault for this request, or None to answer normally; consumes the script."""
        if endpoint not in _FAULTED_ENDPOINTS and not (
            endpoint == "timestamp.php" and self.faults_on_timestamp
        ):
            return None
        if date_param is not None and date_param in self.fail_dates:
            return FaultKind.HTTP_503
        with self._lock:
            if self.script:
                return self.script.pop(0)
            # Exactly one draw per request, so N requests inject the same number of faults on
            # every run, whatever order concurrent requests arrive in.
            draw = self._rng.random()
        cumulative = 0.0
        for kind in FaultKind:  # a fixed order keeps the mapping of draws to kinds stable
            cumulative += self.rates.get(kind, 0.0)
            if draw < cumulative:
                return kind
        return None

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """Read the CLI form: "http_500=0.1,reset=0.05,latency_ms=100".

        Keys are fault kinds (a rate each) or latency_ms, slow_seconds, retry_after_seconds,
        seed, faults_on_timestamp (true/false), fail_dates and script; list values are joined
        with "+": "fail_dates=2025-01-03+2025-01-04", "script=http_500+none+reset".
        """
        rates: dict[FaultKind, float] = {}
        numbers: dict[str, float] = {}
        script: list[FaultKind | None] = []
        fail_dates: set[str] = set()
        on_timestamp = False
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, sep, value = (piece.strip() for piece in item.partition("="))
            if not sep or not value:
                raise ValueError(f"fault setting {item!r} is not key=value")
            if key in _FAULT_VALUES:
                rates[FaultKind(key)] = _number(key, value)
            elif key in _NUMBER_SETTINGS:
                numbers[key] = _number(key, value)
            elif key == "faults_on_timestamp":
                on_timestamp = value.lower() in ("1", "true", "yes", "on")
            elif key in ("fail_dates", "fail_date"):
                fail_dates.update(filter(None, value.split("+")))
            elif key == "script":
                script.extend(_script_entry(entry) for entry in value.split("+"))
            else:
                known = ", ".join([*_FAULT_VALUES, *_NUMBER_SETTINGS, "fail_dates", "script"])
                raise ValueError(f"unknown fault setting {key!r}; known: {known}")
        return cls(
            rates=rates,
            script=script,
            fail_dates=fail_dates,
            latency_ms=int(numbers.get("latency_ms", 0)),
            slow_seconds=numbers.get("slow_seconds", 3.0),
            retry_after_seconds=int(numbers.get("retry_after_seconds", 1)),
            seed=int(numbers.get("seed", 0)),
            faults_on_timestamp=on_timestamp,
        )


_FAULT_VALUES = tuple(kind.value for kind in FaultKind)


def _number(key: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"fault setting {key}={value!r} is not a number") from None


def _script_entry(entry: str) -> FaultKind | None:
    entry = entry.strip()
    if entry.lower() in ("none", "ok", ""):
        return None
    if entry not in _FAULT_VALUES:
        raise ValueError(f"unknown fault kind {entry!r} in script")
    return FaultKind(entry)
