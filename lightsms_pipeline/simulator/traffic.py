"""Seeded, deterministic incoming-SMS traffic: what the simulated LightSMS account received.

Every day is generated from its own `random.Random` seeded with (seed, day), so its messages are
byte-identical however many other days were asked for and in whatever order. The texts are a
weighted mix built to exercise the domain rules (docs/rules.md): opt-outs in many
spellings, opt-ins, HELP, poll votes, near-misses that must not count as opt-outs, and free text
in several languages with emoji, newlines, tabs and the characters encoders get wrong.
"""

from __future__ import annotations

import bisect
import itertools
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from lightsms_pipeline.contract import API_DATETIME_FORMAT, DEFAULT_TIMEZONE

# Ids are (days since 2000-01-01) * 1,000,000 + sequence: numeric strings, strictly increasing
# with time across days, like the global auto-increment the API samples suggest (api notes 5).
_ID_EPOCH = date(2000, 1, 1).toordinal()
_IDS_PER_DAY = 1_000_000

SHARED_PHONE = "5163251632"
SHARED_PREFIX = "51632"
DEDICATED_PHONE = "37052000000"

# Relative traffic per local hour: quiet nights, a working-day plateau and an evening peak.
_HOURLY_WEIGHTS = (
    0.30, 0.20, 0.12, 0.10, 0.10, 0.20, 0.50, 1.20, 2.20, 3.00, 3.30, 3.40,
    3.60, 3.40, 3.20, 3.10, 3.20, 3.60, 4.20, 4.50, 4.20, 3.20, 2.00, 0.90,
)  # fmt: skip
# Weekday factors average 1.0 over a week, so a month holds about per_day * days messages.
_WEEKDAY_FACTOR = (1.08, 1.08, 1.08, 1.08, 1.08, 0.80, 0.80)
_MAX_FACTOR = 1.08 * 1.2

# Opt-outs that only look like a keyword (docs/rules.md §1-2): Cyrillic letters, a zero for an O,
# a zero-width space, a soft hyphen. Each one opts out under the default rules.
LOOK_ALIKE_OPT_OUTS = ("ЅТОР", "ѕтор", "ST0P", "s\u200btop", "opt\u00adout")
OPT_OUTS = (
    "STOP", "stop", "Stop.", " STOP!! ", "ＳＴＯＰ", "stop 🙏", "STOP ALL", "stop-all", "STOPALL",
    "Unsubscribe", "CANCEL", "end", "Quit", "revoke", "opt out", "OPT-OUT", "optout", "стоп",
    "atsisakyti", "Stop\n", *LOOK_ALIKE_OPT_OUTS,
)  # fmt: skip
OPT_INS = ("START", "unstop", "Yes", "start", "YES!")
HELPS = ("HELP", "info", "Info?", "help")
POLL_VOTES = ("A", "b", "C.", " d ", "Pizza", "salad", "SOUP!", "Sushi", "E")
NEAR_MISSES = (
    "Cancel my order",
    "STOP PLEASE",
    "please stop texting me",
    "don't stop",
    "stopwatch",
    "Can I stop my subscription next month?",
    "The bus stop is closed",
    "end of the month is fine",
)
_FREE_TEXTS = (
    "Hi, when does my order arrive?",
    "Thanks!",
    "Thank you for the reminder 👍🏽",
    "Can you call me back after 5pm?",
    "What are your opening hours on Saturday?",
    "I did not receive the code",
    "Is the 20% discount still valid?",
    "Ok",
    "ok 👌",
    "Great service, thanks 🙂",
    "Labas, kada atvažiuos kurjeris?",
    "Ačiū už priminimą!",
    "Ar galiu pakeisti pristatymo laiką į šeštadienį?",
    "Užsakymas dar negautas, prašau patikrinti 🇱🇹",
    "Gerai, būsiu namie po 18 val.",
    "Šiandien negaliu, gal rytoj?",
    "Здравствуйте, когда будет доставка?",
    "Спасибо!",
    "Можно перенести запись на завтра?",
    "Не получил код подтверждения",
    "Dzień dobry, kiedy przyjdzie paczka?",
    "Dziękuję, wszystko działa 😊",
    "Czy mogę zmienić adres dostawy?",
    "Guten Tag, wann kommt meine Bestellung?",
    "Vielen Dank für die schnelle Antwort!",
    "Können Sie mich morgen früh anrufen?",
    "Hi,\nwhere is my parcel?\nThanks",
    "Sveiki,\nar dar galioja nuolaida?\nAčiū",
    "Order #12345 / invoice 2025/01",
    'Tom & Jerry\'s "special" offer <b>today</b>',
    "Path: C:\\Users\\me\\Documents",
    "see https://example.com/a/b?c=1&d=2",
    "Name:\tJonas\nCity:\tVilnius",
    "1 < 2 && 3 > 2",
    'It\'s "fine" – really 😂😂',
    "👨‍👩‍👧‍👦 family plan please",
    "🇱🇹🇵🇱🇩🇪",
    "❤️",
    "Ünïcödé ß ø å æ ł ń ż ė ų ū",
    "5 € / mėn.?",
)
_SENTENCES = (
    "Hello, I am writing about my last order.",
    "The parcel was supposed to arrive on Tuesday but nothing came.",
    "I checked the tracking page and it says delivered / left at the door.",
    "Nobody left anything & my neighbours saw nothing either.",
    "Could you please check with the courier and let me know?",
    "Sveiki, rašau dėl paskutinio užsakymo – siuntinys vis dar neatvyko.",
    "Prašau susisiekti su manimi kuo greičiau, ačiū!",
    "Здравствуйте, пишу по поводу моего заказа, он до сих пор не пришёл.",
    "Proszę o informację, kiedy paczka zostanie dostarczona.",
    "Ich warte seit zwei Wochen auf meine Lieferung.",
    "Thanks in advance 🙏🏼",
    "P.S. my number changed, use this one from now on.",
)
# Cumulative weights of the text classes (percent): 8 opt-out, 3 opt-in, 4 help, 10 poll,
# 5 near-miss, 70 free text.
_CLASS_CUTS = (8.0, 11.0, 15.0, 25.0, 30.0, 100.0)
_TEXT_POOL_SIZE = 4096
_ALPHA_SENDERS = ("PAYSERA", "Info-Bank", "Telia", "BITE", "Omniva", "DPD-LT")
_SHORT_CODES = ("1234", "51632", "1599", "8888")
_US_AREA_CODES = ("212", "415", "617", "312", "206", "305", "512", "646")


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One incoming SMS as LightSMS reports it; every value a string, like the API's."""

    id_sms: str
    date: str  # "YYYY-MM-DD HH:MM:SS", provider local time without offset
    sender: str
    phone: str | None
    prefix: str
    text: str


def _date_text(dt: datetime) -> str:
    return dt.strftime(API_DATETIME_FORMAT)


def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(10**count)).zfill(count)


def _phone_sender(rng: random.Random) -> str:
    """A sender as LightSMS shows it: mostly E.164 digits without '+', some odd formats."""
    r = rng.random()
    if r < 0.75:
        return "3706" + _digits(rng, 7)
    if r < 0.79:
        return "3712" + rng.choice("01256789") + _digits(rng, 6)
    if r < 0.82:
        return "485" + _digits(rng, 8)
    if r < 0.85:
        return "4915" + rng.choice("1279") + _digits(rng, 8)
    if r < 0.88:
        return "447" + rng.choice("458") + _digits(rng, 8)
    if r < 0.91:
        exchange = str(rng.randrange(200, 1000))
        return "1" + rng.choice(_US_AREA_CODES) + exchange + _digits(rng, 4)
    if r < 0.95:
        # International prefix kept by some gateways: the pipeline must drop the leading 00.
        return "003706" + _digits(rng, 7)
    return "86" + _digits(rng, 7)  # Lithuanian national format


def _sender_pool(seed: int, size: int) -> list[str]:
    rng = random.Random(f"lightsms-sim:{seed}:senders")
    pool: list[str] = []
    seen: set[str] = set()
    specials = list(_SHORT_CODES + _ALPHA_SENDERS)
    rng.shuffle(specials)
    while len(pool) < size - len(specials):
        sender = _phone_sender(rng)
        if sender not in seen:
            seen.add(sender)
            pool.append(sender)
    # Scatter short codes and alphanumeric senders through the popularity ranks.
    for special in specials:
        pool.insert(rng.randrange(len(pool) + 1), special)
    return pool


class Traffic:
    """The messages of a simulated account, one deterministic batch per local day."""

    def __init__(
        self,
        seed: int = 42,
        per_day: int = 500,
        start: date | None = None,
        end: date | None = None,
        timezone: str = DEFAULT_TIMEZONE,
        empty_days: frozenset[date] = frozenset(),
        missing_phone_rate: float = 0.0,
        day_volumes: Mapping[date, int] | None = None,
    ) -> None:
        """`day_volumes` gives chosen days an exact number of messages instead of the volume law
        (a TV poll's million-message day); at most 1,000,000, the ids a day has."""
        if per_day < 0:
            raise ValueError("per_day must be >= 0")
        # Sequence numbers must fit in the 6 decimal digits the id scheme reserves for a day.
        assert per_day * _MAX_FACTOR < _IDS_PER_DAY - 1, "per_day must stay below ~770,000"
        if not 0.0 <= missing_phone_rate <= 1.0:
            raise ValueError("missing_phone_rate must be within [0, 1]")
        self.day_volumes = dict(day_volumes or {})
        if any(not 0 <= n <= _IDS_PER_DAY for n in self.day_volumes.values()):
            raise ValueError(f"a day holds 0 to {_IDS_PER_DAY:,} messages")
        self.seed = seed
        self.per_day = per_day
        self.start = start
        self.end = end
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.empty_days = frozenset(empty_days)
        self.missing_phone_rate = missing_phone_rate
        # Exact volumes widen the pool too: a TV poll's day brings mostly new senders.
        self._senders = _sender_pool(seed, max(50, per_day * 2, *(n // 3 for n in self.day_volumes.values())))
        # Zipf-like popularity with a flattened head: rank r has weight 1 / (r + 10).
        self._sender_cum = list(
            itertools.accumulate(1.0 / (rank + 10) for rank in range(1, len(self._senders) + 1))
        )
        self._texts = _text_pool(seed)
        self._days: dict[date, tuple[SimMessage, ...]] = {}
        # Messages made to arrive at a moment (`receive`), by day: live traffic on top of the
        # seeded days, which they never change.
        self._received: dict[date, list[SimMessage]] = {}
        self._lock = threading.Lock()

    def day(self, d: date) -> list[SimMessage]:
        """All messages of local day `d`, sorted by time then id."""
        return list(self.day_messages(d))

    def day_messages(self, d: date) -> tuple[SimMessage, ...]:
        """Like `day`, but the cached tuple itself (no copy), for the server's hot path."""
        cached = self._days.get(d)
        if cached is not None:
            return cached
        # Generate outside the lock: two threads racing on one day build identical tuples.
        messages = self._generate(d)
        with self._lock:
            if d in self._received:
                messages = _merged(messages, self._received[d])
            return self._days.setdefault(d, messages)

    def receive(
        self, at: datetime, sender: str, text: str, *, phone: str | None = DEDICATED_PHONE, prefix: str = ""
    ) -> SimMessage:
        """A message that arrives at `at` (a naive local time, whole seconds): listed from then on
        by every answer covering that second, as a real account lists a message it received.

        Its id follows the day's seeded ids (the day's count, plus one per message received that
        day), so it is unique and the seeded messages keep theirs: the days a test or the demo
        reads stay byte for byte what they were."""
        d = at.date()
        seeded = self._generate(d) if d not in self._days else None
        with self._lock:
            generated = seeded if seeded is not None else self._seeded_part(d)
            received = self._received.setdefault(d, [])
            base_id = (d.toordinal() - _ID_EPOCH) * _IDS_PER_DAY
            sequence = len(generated) + len(received) + 1
            if sequence >= _IDS_PER_DAY:
                raise ValueError(f"{d} has no id left for another message")
            message = SimMessage(str(base_id + sequence), _date_text(at), sender, phone, prefix, text)
            received.append(message)
            self._days[d] = _merged(generated, received)
        return message

    def received(self) -> list[SimMessage]:
        """Every message made to arrive through `receive`, in arrival order per day."""
        with self._lock:
            return [m for d in sorted(self._received) for m in self._received[d]]

    def _seeded_part(self, d: date) -> tuple[SimMessage, ...]:
        """The seeded messages of a cached day `d` (its cached tuple minus those received)."""
        mine = {m.id_sms for m in self._received.get(d, ())}
        return tuple(m for m in self._days[d] if m.id_sms not in mine)

    def window(self, start: datetime, end: datetime) -> list[SimMessage]:
        """Messages with start <= local time <= end (naive local datetimes, both inclusive)."""
        # Days outside the traffic's bounds are empty anyway; skip them without generating
        # (unless messages were received, which may be on any day).
        if self.start is not None and not self._received:
            start = max(start, datetime(self.start.year, self.start.month, self.start.day))
        if self.end is not None and not self._received:
            end = min(end, datetime(self.end.year, self.end.month, self.end.day, 23, 59, 59))
        if end < start:
            return []
        low, high = _date_text(start), _date_text(end)
        found: list[SimMessage] = []
        d = start.date()
        while d <= end.date():
            messages = self.day_messages(d)
            first = bisect.bisect_left(messages, low, key=_message_date)
            last = bisect.bisect_right(messages, high, key=_message_date)
            found.extend(messages[first:last])
            d += timedelta(days=1)
        return found

    def warm(self, first: date, last: date) -> None:
        """Generate and cache every day in [first, last], e.g. before a benchmark starts timing."""
        d = first
        while d <= last:
            self.day_messages(d)
            d += timedelta(days=1)

    def _is_active(self, d: date) -> bool:
        if self.per_day == 0 or d in self.empty_days:
            return False
        if self.start is not None and d < self.start:
            return False
        return self.end is None or d <= self.end

    def _generate(self, d: date) -> tuple[SimMessage, ...]:
        if not self._is_active(d):
            return ()
        rng = random.Random(f"lightsms-sim:{self.seed}:{d.toordinal()}")
        factor = _WEEKDAY_FACTOR[d.weekday()] * rng.uniform(0.8, 1.2)
        count = min(_IDS_PER_DAY - 1, max(0, round(self.per_day * factor)))
        # Sequence numbers 1..1,000,000: the last id is the next day's base, which no day uses.
        count = self.day_volumes.get(d, count)
        seconds = sorted(self._seconds_of_day(rng, d, count))
        day_text = d.isoformat()
        base_id = (d.toordinal() - _ID_EPOCH) * _IDS_PER_DAY
        # The hot loop of the simulator (2,000 messages a day for a year in the benchmarks), so
        # everything is looked up once; four draws per message, always in the same order.
        rand = rng.random
        senders, sender_cum = self._senders, self._sender_cum
        sender_total, last_sender = sender_cum[-1], len(senders) - 1
        texts, text_count = self._texts, len(self._texts)
        missing_rate = self.missing_phone_rate
        messages = []
        for seq, second in enumerate(seconds, start=1):
            hour, rest = divmod(second, 3600)
            sender = senders[min(bisect.bisect_right(sender_cum, rand() * sender_total), last_sender)]
            route = rand()
            text = texts[int(rand() * text_count)]
            phone: str | None = DEDICATED_PHONE
            prefix = ""
            if route < 0.8:
                phone, prefix = SHARED_PHONE, SHARED_PREFIX
                # On a shared number the routing keyword may stay in the text ("51632 TEST").
                if route < 0.04:
                    text = f"{SHARED_PREFIX} {text}"
            # Always drawn, so the rate decides which phones go missing and nothing else.
            if rand() < missing_rate:
                phone = None
            messages.append(
                SimMessage(
                    str(base_id + seq),
                    f"{day_text} {hour:02d}:{rest // 60:02d}:{rest % 60:02d}",
                    sender,
                    phone,
                    prefix,
                    text,
                )
            )
        return tuple(messages)

    def _seconds_of_day(self, rng: random.Random, d: date, count: int) -> list[int]:
        weights = [w if self._hour_exists(d, h) else 0.0 for h, w in enumerate(_HOURLY_WEIGHTS)]
        cum = list(itertools.accumulate(weights))
        total = cum[-1]
        rand = rng.random
        hours = [bisect.bisect_right(cum, rand() * total) for _ in range(count)]
        return [min(hour, 23) * 3600 + int(rand() * 3600) for hour in hours]

    def _hour_exists(self, d: date, hour: int) -> bool:
        # A local time exists when it survives a round trip through UTC; the spring-forward hour
        # (03:00-03:59 in Vilnius on the last Sunday of March) does not, so nothing is sent then.
        for minute, second in ((0, 0), (59, 59)):
            local = datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=self.tz)
            back = local.astimezone(UTC).astimezone(self.tz)
            if back.replace(tzinfo=None) != local.replace(tzinfo=None):
                return False
        return True


@dataclass(frozen=True)
class LiveMix:
    """What the simulator's live traffic mode sends (`LiveArrivals`): a Poisson stream of
    `per_minute` messages, `stop_share` of them opt-outs and `help_share` HELPs, the rest the
    seeded days' texts; senders are phone numbers of the traffic's sender pool."""

    per_minute: float = 2.0
    stop_share: float = 0.1
    help_share: float = 0.05

    def __post_init__(self) -> None:
        if self.per_minute <= 0:
            raise ValueError("per_minute must be > 0")
        if min(self.stop_share, self.help_share) < 0 or self.stop_share + self.help_share > 1:
            raise ValueError("stop_share and help_share must be >= 0 and add up to at most 1")


class LiveArrivals:
    """The traffic mode of `lightsms-pipeline dev`: a thread that makes messages arrive in real
    time through `receive(sender, text)` (`SimulatorServer.receive`), so the live pick-up
    (docs/rules.md §10) has something to act on. Seeded, so the same run sends the same texts."""

    def __init__(
        self, receive: Callable[[str, str], object], traffic: Traffic, mix: LiveMix, seed: int = 0
    ) -> None:
        self._receive = receive
        self._mix = mix
        self._rng = random.Random(f"lightsms-sim:{seed}:live")
        # Phone senders only: a short code or a name cannot opt out or be answered anyway.
        self._senders = [s for s in traffic._senders if s.isdigit() and len(s) >= 8]
        self._texts = traffic._texts
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def next_message(self) -> tuple[str, str]:
        """The next (sender, text) of the stream."""
        rng, mix = self._rng, self._mix
        sender = self._senders[int(rng.random() * len(self._senders))]
        roll = rng.random()
        if roll < mix.stop_share:
            return sender, _pick(rng, OPT_OUTS)
        if roll < mix.stop_share + mix.help_share:
            return sender, _pick(rng, HELPS)
        return sender, self._texts[int(rng.random() * len(self._texts))]

    def start(self) -> LiveArrivals:
        self._thread = threading.Thread(target=self._run, name="lightsms-simulator-live", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        mean_gap = 60.0 / self._mix.per_minute
        while not self._stopped.wait(self._rng.expovariate(1.0 / mean_gap)):
            self._receive(*self.next_message())
            self.sent += 1


def _message_date(message: SimMessage) -> str:
    return message.date


def _merged(seeded: tuple[SimMessage, ...], received: Sequence[SimMessage]) -> tuple[SimMessage, ...]:
    """A day's seeded and received messages in one tuple sorted by time then id, as `window`
    bisects it."""
    return tuple(sorted((*seeded, *received), key=lambda m: (m.date, int(m.id_sms))))


def _pick(rng: random.Random, options: Sequence[str]) -> str:
    return options[int(rng.random() * len(options))]


def _text_pool(seed: int) -> tuple[str, ...]:
    """The texts a day draws from (uniformly), in the class proportions above; seed-only."""
    rng = random.Random(f"lightsms-sim:{seed}:texts")
    return tuple(_text(rng) for _ in range(_TEXT_POOL_SIZE))


def _text(rng: random.Random) -> str:
    kind = bisect.bisect_right(_CLASS_CUTS, rng.random() * 100.0)
    if kind == 0:
        return _pick(rng, OPT_OUTS)
    if kind == 1:
        return _pick(rng, OPT_INS)
    if kind == 2:
        return _pick(rng, HELPS)
    if kind == 3:
        return _pick(rng, POLL_VOTES)
    if kind == 4:
        return _pick(rng, NEAR_MISSES)
    roll = rng.random()
    if roll < 0.04:
        return _long_text(rng)
    text = _pick(rng, _FREE_TEXTS)
    if roll < 0.15:
        text += " " + _pick(rng, ("🙂", "👍", "👍🏽", "🙏", "🇱🇹", "😂", "❤️"))
    return text


def _long_text(rng: random.Random) -> str:
    """A multipart SMS of roughly 300-1200 characters."""
    target = rng.randrange(300, 1100)
    parts: list[str] = []
    length = 0
    while length < target:
        sentence = _pick(rng, _SENTENCES)
        parts.append(sentence)
        length += len(sentence) + 1
    return " ".join(parts)
