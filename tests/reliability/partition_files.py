"""Reading `incoming_messages` partition files back and comparing them with the simulator's truth."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
from sender_truth import expected_e164

from lightsms_pipeline.simulator.traffic import SimMessage, Traffic

VILNIUS = ZoneInfo("Europe/Vilnius")
# (id_sms, local date as the API wrote it, sender, sender_e164, phone, prefix, text)
Row = tuple[str, str, str, str | None, str | None, str | None, str]


def day_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def part_path(data_dir: Path, day: date) -> Path:
    return data_dir / "incoming_messages" / f"date={day.isoformat()}" / "part-0.parquet"


def message_rows(messages: Iterable[SimMessage]) -> list[Row]:
    """The rows a file must hold; `sender_e164` from how the simulator built the sender."""
    return [
        (m.id_sms, m.date, m.sender, expected_e164(m.sender), m.phone, m.prefix, m.text) for m in messages
    ]


def expected_rows(traffic: Traffic, day: date) -> list[Row]:
    return message_rows(traffic.day(day))


def file_rows(path: Path) -> list[Row]:
    table = pq.read_table(path)
    local = [t.astimezone(VILNIUS).strftime("%Y-%m-%d %H:%M:%S") for t in table["received_at"].to_pylist()]
    columns = [table[c].to_pylist() for c in ("id_sms", "sender", "sender_e164", "phone", "prefix", "text")]
    ids, senders, e164s, phones, prefixes, texts = columns
    return list(zip(ids, local, senders, e164s, phones, prefixes, texts, strict=True))


def temp_files(data_dir: Path) -> list[Path]:
    """Hidden temporary files the atomic writer left behind (`.part-0.parquet.<uuid>.tmp`)."""
    return sorted(p for p in data_dir.rglob(".*.tmp") if p.is_file())


@dataclass
class Comparison:
    """One partition file against the messages it should hold, message for message."""

    expected: int
    lost: int
    duplicated: int
    unexpected: int
    exact: bool


def compare(path: Path, expected: list[Row]) -> Comparison:
    got = file_rows(path)
    got_ids = [r[0] for r in got]
    expected_set, got_set = set(expected), set(got)
    return Comparison(
        expected=len(expected),
        lost=len(expected_set - got_set),
        duplicated=len(got_ids) - len(set(got_ids)),
        unexpected=len(got_set - expected_set),
        exact=got == expected,
    )
