"""Bad bodies in real materializations: a refused day keeps its file whole, odd data lands exactly."""

from __future__ import annotations

import gzip
import json
from datetime import date, timedelta
from pathlib import Path

from sender_truth import expected_e164

from lightsms_pipeline.simulator.server import SimulatorServer
from reliability.conftest import SuiteSummary
from reliability.partition_files import Row, day_range, file_rows, part_path, temp_files
from reliability.response_bodies import HOSTILE_XML

SUITE = "reliability/bad-input"


def record(day: date, text: str = "STOP", **fields: object) -> dict[str, object]:
    return {
        "date": f"{day} 10:00:00",
        "sender": "37061234567",
        "phone": "5163251632",
        "prefix": "",
        "text": text,
        **fields,
    }


def body(**records: dict[str, object]) -> bytes:
    return json.dumps(records).encode()


def refused_bodies(first: date) -> dict[date, tuple[bytes, str, tuple[tuple[str, str], ...]]]:
    """A refused body per day, with what its line of the run's failure must say."""
    d = [first + timedelta(days=n) for n in range(10)]
    gz = (("Content-Encoding", "gzip"),)
    return {
        d[0]: (
            b'{"5": {"date": "%s 10:00:00", "sender": "1", "text": "\xff"}}' % str(d[0]).encode(),
            "UTF-8",
            (),
        ),
        d[1]: (
            f'{{"5": {json.dumps(record(d[1]))}, "5": {json.dumps(record(d[1], "hello"))}}}'.encode(),
            "twice with different content",
            (),
        ),
        d[2]: (body(**{"5": record(d[2], date="2025-02-30 10:00:00")}), "not a valid", ()),
        d[3]: (HOSTILE_XML[0], "forbidden", ()),
        d[4]: (body(**{"5x": record(d[4])}), "not a decimal number", ()),
        d[5]: (body(**{"5": record(d[5], text=5)}), "not a text value", ()),
        d[6]: (
            b'<response><error>19</error><sms id_sms="5" date="x" sender="1" text="STOP" /></response>',
            "beside",
            (),
        ),
        d[7]: (b"[" * 100_000, "nested too deeply", ()),
        d[8]: (body(**{"5": record(d[8])})[:-7], "not valid JSON", ()),  # cut off, every attempt
        d[9]: (gzip.compress(body(**{"5": record(d[9])}))[:7], "decoded to nothing", gz),
    }


def test_a_refused_body_fails_its_day_only_and_leaves_the_previous_file_byte_for_byte(
    pipeline, simulator: SimulatorServer, data_dir: Path, summary: SuiteSummary
) -> None:
    first, clean = date(2025, 1, 13), date(2025, 1, 23)
    days = day_range(first, clean)
    assert pipeline.materialize(first, clean).success
    before = {d: part_path(data_dir, d).read_bytes() for d in days}
    bodies = refused_bodies(first)
    for day, (payload, _, headers) in bodies.items():
        simulator.serve_body(payload, day=day.isoformat(), headers=headers)

    result = pipeline.materialize(first, clean, raise_on_error=False)

    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error is not None
    lines = {line.split(":", 1)[0]: line for line in (error.cause or error).message.splitlines()[1:]}
    assert set(lines) == {d.isoformat() for d in bodies}
    refused = [d for d, (_, hint, _) in bodies.items() if hint in lines[d.isoformat()]]
    kept = [d for d in bodies if part_path(data_dir, d).read_bytes() == before[d]]
    for day, (_, hint, _) in bodies.items():
        assert hint in lines[day.isoformat()] and f"incoming.php for {day}" in lines[day.isoformat()]
    assert kept == list(bodies), f"previous files changed: {sorted(set(bodies) - set(kept))}"
    assert part_path(data_dir, clean).read_bytes() != before[clean]  # the clean day landed
    assert temp_files(data_dir) == []
    summary.add("refused bodies materialized", len(refused))
    summary.add("previous files kept byte for byte", len(kept))


def test_records_outside_the_day_and_ids_repeated_across_days_land_exactly_and_are_flagged(
    pipeline, simulator: SimulatorServer, data_dir: Path, summary: SuiteSummary
) -> None:
    d1, d2 = date(2025, 1, 15), date(2025, 1, 16)
    huge = "😀 STOP\x00 " * 150_000
    stop = record(d1, "STOP\x00")  # NUL is legal JSON (\u0000) and must survive byte for byte
    late = {**record(d2), "date": f"{d2} 00:00:00"}
    day_one = {
        "100": stop,
        "101": {**record(d1, "yesterday's"), "date": f"{d1 - timedelta(days=1)} 23:59:59"},
        "102": late,
        "103": record(d1, huge, date=f"{d1} 11:00:00"),
        "104": {**record(d1, ""), "date": f"{d1} 12:00:00", "status": "read", "cost": 0.01},
    }
    del day_one["104"]["phone"]
    day_two = {"102": late, "100": stop}  # both also in day one's answer
    simulator.serve_body(json.dumps(day_one).encode(), day=d1.isoformat())
    simulator.serve_body(json.dumps(day_two, ensure_ascii=False).encode(), day=d2.isoformat())

    result = pipeline.materialize(d1, d2)

    assert result.success

    def rows(*ids: str, records: dict[str, dict[str, object]]) -> list[Row]:
        return [
            (
                i,
                str(r["date"]),
                str(r["sender"]),
                expected_e164(str(r["sender"])),
                r.get("phone"),  # type: ignore[misc]
                r.get("prefix"),  # type: ignore[misc]
                str(r["text"]),
            )
            for i, r in ((i, records[i]) for i in ids)
        ]

    landed = {d1: file_rows(part_path(data_dir, d1)), d2: file_rows(part_path(data_dir, d2))}
    assert landed[d1] == rows("101", "100", "103", "104", "102", records=day_one)
    assert landed[d2] == rows("100", "102", records=day_two)
    outside_seen = {day: [r[0] for r in got if not r[1].startswith(str(day))] for day, got in landed.items()}
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    outside = checks["received_at_inside_partition_day"]
    assert not outside.passed
    assert outside.metadata["id_sms_outside_day"].value == "; ".join(
        f"{day}: {', '.join(sorted(ids))}" for day, ids in outside_seen.items() if ids
    )
    assert outside.metadata["id_sms_outside_day"].value == f"{d1}: 101, 102; {d2}: 100"
    assert checks["id_sms_unique"].passed and checks["required_columns_not_null"].passed
    summary.add("messages compared", sum(len(r) for r in landed.values()))
    summary.add("flagged outside their day", sum(len(ids) for ids in outside_seen.values()))
