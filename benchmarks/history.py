"""A generated `classified_messages` history for the downstream benchmark, vectorised.

Millions of messages are drawn with numpy per day and assembled with Arrow `take`, never a
Python loop per message, then written as the pipeline writes them (`Dataset.write_partition`).
The mix follows the simulator's traffic: senders repeat with a Zipf-like popularity, most mail
goes to the shared number, a few percent are opt-outs and opt-ins, and poll votes come only
inside the declared polls' windows, to their number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TIMEZONE = "Europe/Vilnius"
FIRST_DAY = date(2024, 1, 1)
SHARED_PHONE, SHARED_PREFIX = "5163251632", "51632"
DEDICATED_PHONE = "37052000000"
_ID_EPOCH = date(2000, 1, 1).toordinal()

# The rules the history is classified under: two polls on the shared number, one in June, one in
# November, so `poll_results` has votes, superseded votes and invalid replies to count.
RULES_YAML = f"""\
polls:
  - id: lunch-2024-06
    question: Best lunch option?
    options: {{A: Pizza, B: Salad, C: Soup, D: Sushi}}
    start: "2024-06-03 00:00:00"
    end: "2024-06-16 23:59:59"
    phone: "{SHARED_PHONE}"
  - id: delivery-2024-11
    question: Preferred delivery slot?
    options: {{"1": Morning, "2": Afternoon, "3": Evening}}
    start: "2024-11-04 08:00:00"
    end: "2024-11-10 20:00:00"
    phone: "{SHARED_PHONE}"
    count: first
"""
POLLS = (
    ("lunch-2024-06", datetime(2024, 6, 3), datetime(2024, 6, 16, 23, 59, 59), ("A", "B", "C", "D")),
    ("delivery-2024-11", datetime(2024, 11, 4, 8), datetime(2024, 11, 10, 20), ("1", "2", "3")),
)

# (text, normalized text) per class; the share of each class among messages outside a poll.
_OPT_OUTS = (
    ("STOP", "stop"),
    ("stop", "stop"),
    ("Stop.", "stop"),
    ("Unsubscribe", "unsubscribe"),
    ("END", "end"),
)
_OPT_INS = (("START", "start"), ("Yes", "yes"), ("unstop", "unstop"))
_HELPS = (("HELP", "help"), ("info", "info"))
_OTHERS = tuple(
    (text, text.lower().strip(" !?."))
    for text in (
        "Hi, when does my order arrive?", "Thanks!", "Can you call me back after 5pm?", "Ok",
        "Labas, kada atvažiuos kurjeris?", "Ačiū už priminimą!", "Спасибо!", "Dziękuję, wszystko działa 😊",
        "I did not receive the code", "Is the 20% discount still valid?", "please stop texting me",
        "Cancel my order", "The bus stop is closed", "Great service, thanks 🙂", "Where is my parcel?",
    )
)  # fmt: skip
_SHARES = {"opt_out": 0.03, "opt_in": 0.01, "help": 0.02}
_VOTE_SHARE_IN_POLL = 0.25  # of the mail to the poll's number while the poll runs


@dataclass(frozen=True)
class HistoryStats:
    messages: int
    days: int
    subscribers: int
    events: int  # opt_out + opt_in messages
    votes: int


def _sender_pool(rng: np.random.Generator, size: int) -> tuple[pa.Array, pa.Array]:
    """(sender, sender_e164): mostly Lithuanian mobiles, 2% alphanumeric senders (no E.164)."""
    numbers = 37060000000 + rng.choice(10_000_000, size=size, replace=False)
    senders = pc.cast(pa.array(numbers), pa.string())
    e164 = pc.binary_join_element_wise("+", senders, "")
    alpha = rng.random(size) < 0.02
    names = pa.array([f"SHOP{i}" for i in range(int(alpha.sum()))], pa.string())
    senders = pc.replace_with_mask(senders, pa.array(alpha), names)
    e164 = pc.if_else(pa.array(alpha), pa.scalar(None, pa.string()), e164)
    return senders, e164


class _Texts:
    """Every text the history uses, with the row range of each class in the pool."""

    def __init__(self) -> None:
        groups = {"opt_out": _OPT_OUTS, "opt_in": _OPT_INS, "help": _HELPS, "other": _OTHERS}
        votes = [(label, label.lower()) for _, _, _, options in POLLS for label in options]
        self.ranges: dict[str, tuple[int, int]] = {}
        texts: list[tuple[str, str]] = []
        for name, pairs in [*groups.items(), ("poll_vote", tuple(votes))]:
            self.ranges[name] = (len(texts), len(pairs))
            texts.extend(pairs)
        self.text = pa.array([t for t, _ in texts], pa.string())
        self.normalized = pa.array([n for _, n in texts], pa.string())


def _day(
    rng: np.random.Generator,
    day: date,
    count: int,
    senders: tuple[pa.Array, pa.Array],
    sender_cum: np.ndarray,
    texts: _Texts,
    schema: pa.Schema,
) -> pa.Table:
    zone = ZoneInfo(TIMEZONE)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    length = int(
        (datetime.combine(day + timedelta(days=1), datetime.min.time(), zone) - start).total_seconds()
    )
    seconds = np.sort(rng.integers(0, length, count))
    micros = (int(start.timestamp()) + seconds) * 1_000_000
    received_at = pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz=TIMEZONE))
    local = np.array([start.replace(tzinfo=None)], dtype="datetime64[s]") + seconds.astype("timedelta64[s]")

    ids = pc.cast(pa.array((day.toordinal() - _ID_EPOCH) * 1_000_000 + np.arange(1, count + 1)), pa.string())
    who = np.minimum(np.searchsorted(sender_cum, rng.random(count) * sender_cum[-1]), len(sender_cum) - 1)
    shared = rng.random(count) < 0.8

    # Classes: votes first (only to the poll's number inside its window), then keywords, else other.
    kind = np.full(count, 3, dtype=np.int8)  # 0 opt_out, 1 opt_in, 2 help, 3 other, 4 poll_vote
    draw = rng.random(count)
    kind[draw < _SHARES["opt_out"] + _SHARES["opt_in"] + _SHARES["help"]] = 2
    kind[draw < _SHARES["opt_out"] + _SHARES["opt_in"]] = 1
    kind[draw < _SHARES["opt_out"]] = 0
    poll_of = np.full(count, -1, dtype=np.int8)
    for p, (_, poll_start, poll_end, _) in enumerate(POLLS):
        inside = (local >= np.datetime64(poll_start)) & (local <= np.datetime64(poll_end)) & shared
        voting = inside & (kind == 3) & (rng.random(count) < _VOTE_SHARE_IN_POLL / 0.94)
        kind[voting] = 4
        poll_of[voting] = p

    pick = np.zeros(count, dtype=np.int64)
    for k, name in enumerate(("opt_out", "opt_in", "help", "other")):
        first, size = texts.ranges[name]
        rows = kind == k
        pick[rows] = first + rng.integers(0, size, int(rows.sum()))
    vote_first = texts.ranges["poll_vote"][0]
    option_offset = 0
    for p, (_, _, _, options) in enumerate(POLLS):
        rows = poll_of == p
        pick[rows] = vote_first + option_offset + rng.integers(0, len(options), int(rows.sum()))
        option_offset += len(options)

    names = np.array(["opt_out", "opt_in", "help", "other", "poll_vote"])
    message_class = pa.array(names[kind], pa.string())
    normalized = texts.normalized.take(pick)
    is_keyword = pa.array(kind <= 2)
    is_vote = pa.array(kind == 4)
    poll_ids = np.array([poll_id for poll_id, _, _, _ in POLLS] + [None], dtype=object)
    possible = pa.array((kind == 3) & (rng.random(count) < 0.01))
    columns = {
        "id_sms": ids,
        "received_at": received_at,
        "sender": senders[0].take(who),
        "sender_e164": senders[1].take(who),
        "phone": pa.array(np.where(shared, SHARED_PHONE, DEDICATED_PHONE), pa.string()),
        "prefix": pa.array(np.where(shared, SHARED_PREFIX, ""), pa.string()),
        "text": texts.text.take(pick),
        "account": pa.repeat(pa.scalar("bench"), count),
        "fetched_at": pa.repeat(
            pa.scalar(datetime(2025, 1, 1, tzinfo=UTC), pa.timestamp("us", tz="UTC")), count
        ),
        "normalized_text": normalized,
        "class": message_class,
        "keyword": pc.if_else(is_keyword, normalized, pa.scalar(None, pa.string())),
        "poll_id": pa.array(poll_ids[poll_of], pa.string()),
        "poll_option": pc.if_else(is_vote, texts.text.take(pick), pa.scalar(None, pa.string())),
        "possible_opt_out": possible,
        "keyword_match": pc.if_else(is_keyword, "exact", pa.scalar(None, pa.string())),
    }
    return pa.Table.from_pydict(columns, schema=schema)


def write_history(root: Path, messages: int, days: int, seed: int = 7) -> HistoryStats:
    """`messages` spread evenly over `days` daily `classified_messages` partitions under `root`."""
    from lightsms_pipeline.contract import CLASSIFIED
    from lightsms_pipeline.rules.classify import classified_schema
    from lightsms_pipeline.storage import Dataset

    rng = np.random.default_rng(seed)
    schema = classified_schema(TIMEZONE)
    # About 20 messages a subscriber over the history, the popular ones far more.
    pool = max(1_000, messages // 20)
    senders = _sender_pool(rng, pool)
    sender_cum = np.cumsum(1.0 / (np.arange(1, pool + 1) + 10))
    texts = _Texts()
    dataset = Dataset(root)
    per_day, extra = divmod(messages, days)
    events = votes = 0
    for n in range(days):
        day = FIRST_DAY + timedelta(days=n)
        table = _day(rng, day, per_day + (n < extra), senders, sender_cum, texts, schema)
        dataset.write_partition(CLASSIFIED, day, table)
        classes = table["class"]
        events += pc.sum(pc.is_in(classes, pa.array(["opt_out", "opt_in"]))).as_py()
        votes += pc.sum(pc.equal(classes, "poll_vote")).as_py()
    subscribers = pc.count_distinct(dataset.read_asset(CLASSIFIED, schema, ["sender"])["sender"]).as_py()
    return HistoryStats(messages, days, subscribers, events, votes)
