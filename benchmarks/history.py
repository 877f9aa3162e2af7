"""A generated `classified_messages` history, and the history benchmark that reads it.

Millions of messages are drawn with numpy per day as `incoming_messages` and assembled with Arrow
`take`, never a Python loop per message, classified by the pipeline's own `classify` (one reading
per distinct text) and written as the asset writes them (`Dataset.write_partition`). The mix
follows the simulator's traffic: senders repeat with a Zipf-like popularity, most mail goes to the
shared number, a few percent are opt-outs and opt-ins, and poll votes come only inside the
declared polls' windows, to their number.

The benchmark (`run.py --only history`): `opt_out_list` and `poll_results` over 10M and 100M
messages, today's full rescan beside the kept per-day extracts (datasets/history_state.py) when
they are built, when one day changed and when nothing did. A generated history is cached under
`WORK_DIR` by its parameters (100M messages take long to generate); delete the folder to free it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.results import Table

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


def _incoming_day(
    rng: np.random.Generator,
    day: date,
    count: int,
    senders: tuple[pa.Array, pa.Array],
    sender_cum: np.ndarray,
    texts: _Texts,
    schema: pa.Schema,
) -> pa.Table:
    """One day of `incoming_messages` as the normalizer writes it: texts drawn per class (votes only
    to the poll's number inside its window), for the real classifier to classify."""
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
    }
    return pa.Table.from_pydict(columns, schema=schema)


def write_history(root: Path, messages: int, days: int, seed: int = 7) -> HistoryStats:
    """`messages` spread evenly over `days` daily `classified_messages` partitions under `root`,
    each day generated as `incoming_messages` and classified by the pipeline's own `classify`
    under `RULES_YAML` (one reading per distinct text, so a day of 274,000 messages takes a
    fraction of a second), then written with `Dataset.write_partition` as the asset does."""
    import yaml

    from lightsms_pipeline.contract import CLASSIFIED
    from lightsms_pipeline.normalize.schema import incoming_schema
    from lightsms_pipeline.rules.classify import classify
    from lightsms_pipeline.rules.loading import rules_from_mapping
    from lightsms_pipeline.storage.parquet import Dataset

    rules = rules_from_mapping(yaml.safe_load(RULES_YAML), source="benchmarks/history.py", timezone=TIMEZONE)
    rng = np.random.default_rng(seed)
    schema = incoming_schema(TIMEZONE)
    # About 20 messages a subscriber over the history, the popular ones far more.
    pool = max(1_000, messages // 20)
    senders = _sender_pool(rng, pool)
    sender_cum = np.cumsum(1.0 / (np.arange(1, pool + 1) + 10))
    texts = _Texts()
    dataset = Dataset(root)
    per_day, extra = divmod(messages, days)
    events = votes = 0
    seen = np.zeros(pool, dtype=bool)
    for n in range(days):
        day = FIRST_DAY + timedelta(days=n)
        incoming = _incoming_day(rng, day, per_day + (n < extra), senders, sender_cum, texts, schema)
        table = classify(incoming, rules)
        dataset.write_partition(CLASSIFIED, day, table)
        classes = table["class"]
        events += pc.sum(pc.is_in(classes, pa.array(["opt_out", "opt_in"]))).as_py()
        votes += pc.sum(pc.equal(classes, "poll_vote")).as_py()
        seen[pc.index_in(incoming["sender"], value_set=senders[0]).to_numpy()] = True
    return HistoryStats(messages, days, int(seen.sum()), events, votes)


GENERATOR_VERSION = 2  # bump when the generated history changes: cached copies are then rebuilt


def cached_history(
    work_dir: Path, messages: int, days: int, seed: int = 7
) -> tuple[Path, HistoryStats, float]:
    """A generated history under `work_dir`, keyed by its parameters: generated once, reused by
    later runs (100M messages take minutes to generate). Returns (data dir, stats, seconds spent
    generating, 0 when reused). A folder without its `complete.json` is half-written: rebuilt."""
    folder = work_dir / f"history-v{GENERATOR_VERSION}-{messages}-{days}-{seed}"
    marker = folder / "complete.json"
    if marker.exists():
        return folder, HistoryStats(**json.loads(marker.read_text(encoding="utf-8"))), 0.0
    if folder.exists():
        shutil.rmtree(folder)
    started = time.perf_counter()
    stats = write_history(folder, messages, days, seed)
    seconds = time.perf_counter() - started
    marker.write_text(json.dumps(asdict(stats)), encoding="utf-8")
    return folder, stats, seconds


# --- the benchmark: `opt_out_list` and `poll_results` over 10M and 100M messages ------------------

COMPUTATIONS = ("opt_out_list", "poll_results")
DAYS = 365
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 2048.0
TARGET_GROWTH = 1.1  # cost may grow by at most 1.1x the history's growth (11 for 10x)
WORK_DIR = Path("/var/tmp/lightsms-bench-history")  # kept across runs: generating 100M takes long
CHANGED_DAY = 200  # the day whose extract is dropped: what a new or re-run day costs


@dataclass(frozen=True)
class Sizes:
    small: int
    large: int
    repeats: int
    full_repeats_large: int  # today's full rescan is slow and big at the large size


FULL = Sizes(small=10_000_000, large=100_000_000, repeats=3, full_repeats_large=1)
QUICK = Sizes(small=1_000_000, large=2_000_000, repeats=2, full_repeats_large=2)

# How each measured call reads the history.
MODES = {
    "full": "full rescan, no kept state (today's code: one filtered read of every partition)",
    "cold": "first run with kept state: every day read and its extract stored",
    "changed": "one day changed (new or re-run): every day hashed, that day read, the rest reused",
    "warm": "nothing changed: every day hashed, every extract reused",
}


def measure(
    computation: str, mode: str, data_dir: str, rules_file: str, profile: bool = False
) -> dict[str, Any]:
    """Runs inside the child: one computation over the stored history in `mode` (under
    pyinstrument if `profile`, whose text then comes back instead of trustworthy timings)."""
    from benchmarks.downstream import memory_mb
    from lightsms_pipeline.contract import HISTORY_STATE_DIR
    from lightsms_pipeline.datasets.polls import compute_poll_results, refresh_poll_results
    from lightsms_pipeline.datasets.subscriptions import compute_opt_out_list, refresh_opt_out_list
    from lightsms_pipeline.rules.loading import load_rules
    from lightsms_pipeline.storage.parquet import Dataset

    rules = load_rules(rules_file)
    dataset = Dataset(data_dir)
    state = Path(data_dir) / HISTORY_STATE_DIR / computation
    if mode == "cold" and state.exists():
        shutil.rmtree(state)
    if mode == "changed":
        day = (FIRST_DAY + timedelta(days=CHANGED_DAY)).isoformat()
        for folder in state.glob(f"*/date={day}"):
            shutil.rmtree(folder)
    full = {"opt_out_list": compute_opt_out_list, "poll_results": compute_poll_results}[computation]
    refresh = {"opt_out_list": refresh_opt_out_list, "poll_results": refresh_poll_results}[computation]

    def call() -> tuple[pa.Table, int]:
        if mode == "full":
            return full(dataset, rules), -1
        table, history = refresh(dataset, rules)
        return table, history.days_read

    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
        call()
        profiler.stop()
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        return {"profile": "\n".join(line for line in text.splitlines()[:60] if line.strip())}
    before = memory_mb("VmRSS")
    started = time.perf_counter()
    table, days_read = call()
    seconds = time.perf_counter() - started
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return {
        "seconds": seconds,
        "rows": table.num_rows,
        "digest": hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:16],
        "days_read": days_read,
        "peak_mb": memory_mb("VmHWM"),
        "baseline_mb": before,
    }


def run(quick: bool, log: Any = print, work_dir: Path = WORK_DIR) -> Table:
    from benchmarks.child import run_module
    from benchmarks.machine import load_average

    sizes = QUICK if quick else FULL
    results: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    generated: dict[int, tuple[HistoryStats, float, int]] = {}
    profiles: dict[str, str] = {}
    loads: dict[tuple[str, int], str] = {}
    work_dir.mkdir(parents=True, exist_ok=True)
    rules_file = work_dir / "rules.yaml"
    rules_file.write_text(RULES_YAML, encoding="utf-8")
    for size in (sizes.small, sizes.large):
        log(f"history: {size:,} messages over {DAYS} days (generated once, cached in {work_dir})")
        data_dir, stats, seconds = cached_history(work_dir, size, DAYS)
        generated[size] = (stats, seconds, _bytes_under(data_dir / "classified_messages"))
        for computation in COMPUTATIONS:
            loads[(computation, size)] = load_average()
            for mode in MODES:
                repeats = sizes.repeats
                if mode in ("full", "cold") and size == sizes.large:
                    repeats = sizes.full_repeats_large
                for n in range(repeats):
                    log(f"history: {computation} {mode} over {size:,}, run {n + 1}/{repeats}")
                    args = ["--child", computation, mode, str(data_dir), str(rules_file)]
                    results.setdefault((computation, mode, size), []).append(run_module("history", args))
            if size == sizes.large:
                for mode in ("full", "warm"):
                    log(f"history: {computation} {mode} over {size:,} under pyinstrument")
                    args = ["--child", computation, mode, str(data_dir), str(rules_file), "--profile"]
                    profiles[f"{computation}, {mode}"] = run_module("history", args)["profile"]
    table = _table(sizes, results, generated, loads)
    for name, text in profiles.items():
        table.details[f"pyinstrument: `{name}` over {sizes.large:,} messages"] = text
    return table


def _bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.parquet"))


def _table(
    sizes: Sizes,
    results: dict[tuple[str, str, int], list[dict[str, Any]]],
    generated: dict[int, tuple[HistoryStats, float, int]],
    loads: dict[tuple[str, int], str],
) -> Table:
    from benchmarks.results import median, spread, verdict

    growth = sizes.large / sizes.small
    max_ratio = TARGET_GROWTH * growth
    table = Table(
        f"History: `opt_out_list` and `poll_results` over {sizes.small:,} and {sizes.large:,} "
        f"messages ({DAYS} days)",
        [
            "asset",
            "how the history is read",
            "messages",
            "wall s: median (min–max, n)",
            "peak RSS MB (after imports)",
            "days read",
            "rows out (same as full rescan)",
            "load at start",
            f"target: < {TARGET_SECONDS:g} s, < {TARGET_PEAK_MB:g} MB",
        ],
    )
    for computation in COMPUTATIONS:
        for mode in MODES:
            for size in (sizes.small, sizes.large):
                runs = results[(computation, mode, size)]
                reference = results[(computation, "full", size)][0]["digest"]
                same = all(r["digest"] == reference for r in runs)
                peak = max(r["peak_mb"] for r in runs)
                run_seconds = [r["seconds"] for r in runs]
                ok = median(run_seconds) < TARGET_SECONDS and peak < TARGET_PEAK_MB
                table.add(
                    f"`{computation}`",
                    mode,
                    f"{size:,}",
                    spread(run_seconds),
                    f"{peak:,.0f} ({median([r['baseline_mb'] for r in runs]):,.0f})",
                    "all" if mode == "full" else str(runs[-1]["days_read"]),
                    f"{runs[-1]['rows']:,} ({'yes' if same else '**NO**'})",
                    loads[(computation, size)],
                    verdict(ok) if size == sizes.large else "(reported)",
                )
            small = median([r["seconds"] for r in results[(computation, mode, sizes.small)]])
            large = median([r["seconds"] for r in results[(computation, mode, sizes.large)]])
            table.add(
                f"`{computation}` cost ratio",
                mode,
                f"{sizes.large // sizes.small}x",
                f"{large / small:.2f}",
                "",
                "",
                "",
                "",
                f"<= {max_ratio:g}: {verdict(large / small <= max_ratio)}",
            )
    for size, (stats, seconds, stored) in generated.items():
        made = f"generated and classified in {seconds:.0f} s" if seconds else "reused from the cache"
        table.notes.append(
            f"{size:,}-message history: {stats.subscribers:,} distinct senders, {stats.events:,} "
            f"opt-out/opt-in events, {stats.votes:,} poll votes in two poll windows, "
            f"{stored / 2**20:,.0f} MiB of `classified_messages` Parquet; {made}."
        )
    table.notes += [f"{mode}: {meaning}." for mode, meaning in MODES.items()]
    table.notes += [
        "The history: `incoming_messages`-shaped days drawn with numpy (Zipf-like senders, 3% opt-outs, "
        "1% opt-ins, 2% help, votes to the shared number inside the two polls' windows), classified by "
        "the pipeline's own `classify` under benchmarks/history.py's rules and written with "
        "`Dataset.write_partition`; cached under the benchmark work dir by its parameters.",
        "Each figure is one fresh process calling `datasets.subscriptions.compute_opt_out_list` / "
        "`datasets.polls.compute_poll_results` (full) or `refresh_opt_out_list` / `refresh_poll_results` "
        "(kept state): wall time of that call, peak RSS of the whole process (`VmHWM`, not "
        "`ru_maxrss`, which a child inherits from its parent), the RSS after imports in brackets. "
        "`changed` drops the stored extract of one day, which is the work a new or re-run day makes. "
        "`same as full rescan`: the result's Arrow IPC bytes hash equal to the full rescan's.",
    ]
    return table


def main() -> None:
    import argparse

    from benchmarks.child import report

    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=4, metavar=("COMPUTATION", "MODE", "DATA_DIR", "RULES_FILE"))
    parser.add_argument("--profile", action="store_true", help="with --child: profile instead of timing")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.child:
        computation, mode, data_dir, rules_file = args.child
        report(measure(computation, mode, data_dir, rules_file, profile=args.profile))
    else:
        print(run(args.quick).markdown())


if __name__ == "__main__":
    main()
