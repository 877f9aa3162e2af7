"""Fetching days from LightSMS into `incoming_messages` partitions: concurrent, per-day isolated.

No Dagster here: the asset, the CLI and the benchmarks all call `ingest_days`. A day that fails
keeps its previous file and is reported; the other days still land.

One scheduler: a thread pool of `parallelism` over runs of consecutive days (`days_per_request`
of them asked for in one request, `ingest_span`); a day too large for one answer is fetched by
the client in `from`/`to` windows, a few at a time (client.WindowPolicy). Worker processes were
tried and removed in 0.2.0: parsing holds the GIL, but a second process measured 0.81x-1.26x of
one at double the memory (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.api.client import INCOMING_ENDPOINT, LightSMSClient, SpanRefused
from lightsms_pipeline.api.responses import RawMessages
from lightsms_pipeline.contract import DEFAULT_REGION, DEFAULT_TIMEZONE, INCOMING
from lightsms_pipeline.errors import LightSMSError
from lightsms_pipeline.normalize.incoming import to_incoming_table
from lightsms_pipeline.normalize.privacy import pseudonymize_senders
from lightsms_pipeline.normalize.schema import REQUIRED_INCOMING_COLUMNS
from lightsms_pipeline.storage.parquet import Dataset

log = logging.getLogger(__name__)

RUN_ID_KEY = "lightsms.run_id"
# Columns of `incoming_messages` whose values (nearly) never repeat within a day: no dictionary
# (a smaller file, see `Dataset.write_parquet`).
UNIQUE_COLUMNS = ("id_sms", "received_at")


@dataclass(frozen=True)
class PartitionFindings:
    """What the asset checks report for one written partition (empty tuples: all good)."""

    duplicate_ids: tuple[str, ...] = ()
    outside_day_ids: tuple[str, ...] = ()
    null_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class DayResult:
    day: date
    rows: int = 0
    distinct_senders: int = 0
    path: str | None = None
    error: Exception | None = None
    findings: PartitionFindings = field(default_factory=PartitionFindings)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class IngestOptions:
    account: str
    timezone: str = DEFAULT_TIMEZONE
    region: str = DEFAULT_REGION
    parallelism: int = 8
    # A secret (README "Personal data"): kept out of repr, so no log line or error shows it.
    sender_hash_salt: str = field(default="", repr=False)
    run_id: str = ""
    # On a retry of the same run, days whose file this run already wrote are kept, not re-fetched.
    resume: bool = False
    # Consecutive days asked for in one request (LIGHTSMS_DAYS_PER_REQUEST, `ingest_span`).
    days_per_request: int = 1


def check_partition(table: pa.Table, day: date, tz: str) -> PartitionFindings:
    """The partition invariants: ids unique, every message inside the day, required values set."""
    ids = table["id_sms"]
    dupes = [] if ids_ascending(ids) else duplicate_ids(ids)
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = datetime.fromordinal(day.toordinal() + 1).replace(tzinfo=zone)
    received = table["received_at"]
    inside = pc.and_(
        pc.greater_equal(received, pa.scalar(start, received.type)),
        pc.less(received, pa.scalar(end, received.type)),
    )
    outside = table.filter(pc.invert(pc.fill_null(inside, False)))["id_sms"].to_pylist()
    nulls = tuple(c for c in REQUIRED_INCOMING_COLUMNS if table[c].null_count)
    return PartitionFindings(tuple(dupes), tuple(outside), nulls)


def ids_ascending(ids: pa.ChunkedArray | pa.Array) -> bool:
    """Whether each id is a greater number than the one before it, compared as (length,
    digits): then none repeats. LightSMS lists a day by id, mostly in time order, so this
    linear check (35 ms for a million ids) spares the hash aggregation of `duplicate_ids`
    (0.4-1 s) on nearly every day."""
    if len(ids) < 2:
        return True
    lengths = pc.utf8_length(ids)
    before, after = ids[:-1], ids[1:]
    longer = pc.less(lengths[:-1], lengths[1:])
    greater = pc.and_(pc.equal(lengths[:-1], lengths[1:]), pc.less(before, after))
    return bool(pc.all(pc.or_(longer, greater)).as_py())


def duplicate_ids(ids: pa.ChunkedArray | pa.Array) -> list[str]:
    """The ids that appear more than once."""
    counts = pa.table({"id_sms": ids}).group_by("id_sms", use_threads=False).aggregate([("id_sms", "count")])
    return counts.filter(pc.greater(counts["id_sms_count"], 1))["id_sms"].to_pylist()  # type: ignore[no-any-return]


def ingest_day(
    client: LightSMSClient,
    dataset: Dataset,
    day: date,
    options: IngestOptions,
    fetched_at: datetime,
) -> DayResult:
    """Fetch, normalize and atomically write one day; raises the client's typed errors.

    A day too large for one answer comes from the client in `from`/`to` windows, all of them or
    an error: a window that fails fails the day here, before anything is written, so the day's
    previous file stays (never a day short of that window's messages, nor an empty one)."""
    raw = client.fetch_day(day)
    return write_day(dataset, day, normalize_answer(raw, options, fetched_at, day.isoformat()), options)


def day_spans(days: Sequence[date], size: int) -> list[tuple[date, ...]]:
    """`days` in order, cut into runs of at most `size` consecutive days: what one request
    each can ask for (`ingest_span`). A gap starts a new run."""
    spans: list[list[date]] = []
    for day in days:
        if spans and len(spans[-1]) < size and day.toordinal() - spans[-1][-1].toordinal() == 1:
            spans[-1].append(day)
        else:
            spans.append([day])
    return [tuple(span) for span in spans]


def ingest_span(
    client: LightSMSClient,
    dataset: Dataset,
    days: Sequence[date],
    options: IngestOptions,
    fetched_at: datetime,
) -> list[DayResult] | None:
    """Consecutive `days` from one `from`/`to` answer, each written as `ingest_day` writes it;
    None when they are to be fetched day by day instead.

    Each day's table is `to_incoming_table` of exactly the messages whose `date` names that day,
    which is what a `date=` request for the day answers: the same rows, order and checks. Any
    doubt sends the days back to one request each, where a real problem is worded for its own
    day: the span refused or failing (`SpanRefused`), a message dated outside the span (or not
    dated as a day at all), a day of this run already written (a retried run resumes day by
    day). Days are written one after the other; a day that fails to write fails alone."""
    if any(written_by_this_run(dataset, day, options) for day in days):
        return None
    try:
        raw = client.fetch_span(days[0], days[-1])
    except SpanRefused as exc:
        log.info(
            "LightSMS %s for %s: %s; fetching its days one by one", INCOMING_ENDPOINT, exc.window, exc.reason
        )
        return None
    per_day = _messages_by_day(raw, days)
    if per_day is None:
        log.info("LightSMS %s for %s..%s: a message is dated outside the days asked for; fetching "
                 "them one by one", INCOMING_ENDPOINT, days[0], days[-1])  # fmt: skip
        return None

    def write(day: date, messages: RawMessages) -> DayResult:
        return write_day(
            dataset, day, normalize_answer(messages, options, fetched_at, day.isoformat()), options
        )

    return [day_failing_alone(day, partial(write, day, m)) for day, m in zip(days, per_day, strict=True)]


def day_failing_alone(day: date, work: Callable[[], DayResult]) -> DayResult:
    """What `work` gives for `day`, or the day failed with the error it raised: a day's failure
    (a LightSMS error, or anything unexpected, logged) is reported in its result, never raised."""
    try:
        return work()
    except LightSMSError as exc:
        return DayResult(day=day, error=exc)
    except Exception as exc:
        log.exception("unexpected error ingesting %s", day)
        return DayResult(day=day, error=exc)


def _messages_by_day(raw: RawMessages, days: Sequence[date]) -> list[RawMessages] | None:
    """`raw` cut by the day its `date` text names, one part per day of `days`; None when some
    message names none of them."""
    named = pc.utf8_slice_codeunits(raw.date, 0, 10)
    parts = [raw.filter(pc.equal(named, day.isoformat())) for day in days]
    return parts if sum(map(len, parts)) == len(raw) else None


def normalize_answer(raw: RawMessages, options: IngestOptions, fetched_at: datetime, window: str) -> pa.Table:
    """One answer (a day, or the days of a span one by one) as `incoming_messages` rows: the
    run's account, zone and region."""
    return to_incoming_table(
        raw,
        account=options.account,
        timezone=options.timezone,
        region=options.region,
        fetched_at=fetched_at,
        endpoint=INCOMING_ENDPOINT,
        window=window,
    )


def write_day(dataset: Dataset, day: date, table: pa.Table, options: IngestOptions) -> DayResult:
    """Pseudonymize (with a salt), tag with the run, write atomically and check one day's table."""
    if options.sender_hash_salt:
        table = pseudonymize_senders(table, options.sender_hash_salt)
    if options.run_id:
        table = table.replace_schema_metadata({RUN_ID_KEY: options.run_id})
    path = dataset.write_partition(INCOMING, day, table, unique_columns=UNIQUE_COLUMNS)
    return _result(day, table, path, options)


def _result(day: date, table: pa.Table, path: str, options: IngestOptions) -> DayResult:
    return DayResult(
        day=day,
        rows=table.num_rows,
        distinct_senders=pc.count_distinct(table["sender"]).as_py() if table.num_rows else 0,
        path=path,
        findings=check_partition(table, day, options.timezone),
    )


def written_by_this_run(dataset: Dataset, day: date, options: IngestOptions) -> DayResult | None:
    if not (options.resume and options.run_id and dataset.has_partition(INCOMING, day)):
        return None
    table = dataset.read_partition(INCOMING, day)
    if (table.schema.metadata or {}).get(RUN_ID_KEY.encode()) != options.run_id.encode():
        return None
    return _result(day, table, dataset.partition_path(INCOMING, day), options)


def ingest_days(
    client: LightSMSClient,
    dataset: Dataset,
    days: Sequence[date],
    options: IngestOptions,
    *,
    on_done: Callable[[DayResult], None] | None = None,
) -> list[DayResult]:
    """Ingest `days` with at most `options.parallelism` requests in flight; results in day order.

    Errors are per day: a LightSMS failure (or any other exception) of one day is returned in
    its `DayResult`, never raised, so the caller decides how the whole run ends.
    """
    fetched_at = datetime.now(UTC)

    def one(day: date) -> DayResult:
        result = day_failing_alone(
            day,
            lambda: (
                written_by_this_run(dataset, day, options)
                or ingest_day(client, dataset, day, options, fetched_at)
            ),
        )
        if on_done is not None:
            on_done(result)
        return result

    def span(days_of_span: tuple[date, ...]) -> list[DayResult]:
        results = None
        if len(days_of_span) > 1:
            try:
                results = ingest_span(client, dataset, days_of_span, options, fetched_at)
            except Exception:
                log.exception("unexpected error ingesting %s..%s", days_of_span[0], days_of_span[-1])
        if results is None:
            return [one(d) for d in days_of_span]
        if on_done is not None:
            for result in results:
                on_done(result)
        return results

    spans = day_spans(days, options.days_per_request)
    if len(spans) <= 1 or options.parallelism <= 1:
        done = [r for s in spans for r in span(s)]
    else:
        with ThreadPoolExecutor(max_workers=options.parallelism, thread_name_prefix="lightsms") as pool:
            done = [r for results in pool.map(span, spans) for r in results]
    by_day = {r.day: r for r in done}
    return [by_day[d] for d in days]
