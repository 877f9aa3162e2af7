"""Small `classified_messages` histories for the kept-state tests: real classification, real files.

A day is a list of messages (sender, text, second of the day, receiving number, id); it is
classified by the pipeline's `classify` and written with `Dataset.write_partition`, as the
`classified_messages` asset writes it. A plain module (not a conftest) so tests import it by name.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from lightsms_pipeline.contract import CLASSIFIED
from lightsms_pipeline.datasets.polls import (
    compute_poll_results,
    refresh_poll_results,
    write_poll_results_read,
)
from lightsms_pipeline.datasets.subscriptions import (
    compute_opt_out_list,
    refresh_opt_out_list,
    write_opt_out_list_read,
)
from lightsms_pipeline.normalize.schema import incoming_schema
from lightsms_pipeline.rules import Rules, classify, rules_from_mapping
from lightsms_pipeline.storage.parquet import Dataset

TZ = "Europe/Vilnius"
FIRST_DAY = dt.date(2025, 1, 10)
SHARED, DEDICATED = "5163251632", "37052000000"
# Two phone senders and one alphanumeric one (no E.164: the raw sender is the subscriber).
SENDERS = (("37061234567", "+37061234567"), ("37069999999", "+37069999999"), ("SHOP", None))
TEXTS = ("STOP", "START", "Stop.", "A", "B", "C", "hello", "please stop")
POLL = {
    "id": "lunch",
    "question": "Best lunch option?",
    "options": {"A": "Pizza", "B": "Salad"},
    "start": "2025-01-11 00:00:00",
    "end": "2025-01-12 12:00:00",
    "phone": SHARED,
}
# Two sets of rules with different fingerprints: another poll window and the per-number scope.
RULES = (
    rules_from_mapping({"polls": [POLL]}, "history-tests", timezone=TZ),
    rules_from_mapping(
        {"scope": "per_number", "polls": [{**POLL, "end": "2025-01-13 23:59:59", "count": "first"}]},
        "history-tests",
        timezone=TZ,
    ),
)


@dataclass(frozen=True)
class Message:
    sender: int  # index into SENDERS
    text: int  # index into TEXTS
    second: int  # of the day, provider-local
    dedicated: bool  # sent to the dedicated number rather than the shared one
    id_sms: int


def day_key(n: int) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=n)


def incoming_day(n: int, messages: Sequence[Message]) -> pa.Table:
    zone = ZoneInfo(TZ)
    midnight = dt.datetime.combine(day_key(n), dt.time(), zone)
    rows = sorted(messages, key=lambda m: (m.second, m.id_sms))
    return pa.table(
        {
            "id_sms": [str(m.id_sms) for m in rows],
            "received_at": [midnight + dt.timedelta(seconds=m.second) for m in rows],
            "sender": [SENDERS[m.sender][0] for m in rows],
            "sender_e164": [SENDERS[m.sender][1] for m in rows],
            "phone": [DEDICATED if m.dedicated else SHARED for m in rows],
            "prefix": ["" for _ in rows],
            "text": [TEXTS[m.text] for m in rows],
            "account": ["acc" for _ in rows],
            "fetched_at": [dt.datetime(2025, 2, 1, tzinfo=dt.UTC) for _ in rows],
        },
        schema=incoming_schema(TZ),
    )


def write_day(dataset: Dataset, n: int, messages: Sequence[Message], rules: Rules) -> None:
    """Day `n` of `classified_messages`, classified under `rules`, as the asset writes it."""
    dataset.write_partition(CLASSIFIED, day_key(n), classify(incoming_day(n, messages), rules))


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


@dataclass(frozen=True)
class Outputs:
    opt_outs: pa.Table
    polls: pa.Table
    opt_out_days_read: int
    poll_days_read: int


def materialize_both(dataset: Dataset, rules: Rules) -> Outputs:
    """Both whole-history outputs as the assets write them (kept state), read back from disk."""
    _, opt_out_read = write_opt_out_list_read(dataset, rules)
    _, _, poll_read = write_poll_results_read(dataset, rules)
    return Outputs(
        pq.read_table(dataset.file_path("opt_out_list.parquet")),
        pq.read_table(dataset.file_path("poll_results.parquet")),
        opt_out_read.days_read,
        poll_read.days_read,
    )


def assert_same_as_full_recomputation(dataset: Dataset, rules: Rules, *, write: bool = True) -> Outputs:
    """Materialize with the kept state (or only compute, without the files and the chart, when
    not `write`) and check both tables are exactly what a full rescan of every day, without any
    state, computes: same table, same Parquet bytes."""
    if write:
        outputs = materialize_both(dataset, rules)
    else:
        (opt_outs, opt_out_read), (polls, poll_read) = (
            refresh_opt_out_list(dataset, rules),
            refresh_poll_results(dataset, rules),
        )
        outputs = Outputs(opt_outs, polls, opt_out_read.days_read, poll_read.days_read)
    for kept, full in ((outputs.opt_outs, compute_opt_out_list(dataset, rules)),
                       (outputs.polls, compute_poll_results(dataset, rules))):  # fmt: skip
        assert kept.equals(full, check_metadata=True), (kept.to_pylist(), full.to_pylist())
        assert parquet_bytes(kept) == parquet_bytes(full)
    return outputs
