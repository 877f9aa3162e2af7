"""The sender hash salt is a secret: no repr, log line, Dagster event or data file shows it.

README "Personal data": the salt keys the published hashes; whoever has it can hash every
possible number and undo the pseudonymization.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import date
from pathlib import Path

import pytest
from conftest import JAN_15
from dagster import DagsterInstance
from pipeline import Pipeline

from lightsms_pipeline.ingest.engine import IngestOptions
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.simulator.faults import FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer

SALT = "salt-Qx7/vR2+pepper-9kLm"


def salt_forms(salt: str) -> list[bytes]:
    """The bytes a leaked salt would show up as."""
    return [
        salt.encode(),
        json.dumps(salt)[1:-1].encode(),
        repr(salt)[1:-1].encode(),
        base64.b64encode(salt.encode()),
    ]


def test_no_repr_of_what_holds_the_salt_shows_it() -> None:
    options = IngestOptions(account="acc", sender_hash_salt=SALT)
    settings = Settings(sender_hash_salt=SALT)
    texts = [repr(options), str(options), repr(settings), str(settings), f"{options!r} {settings}"]
    assert options.sender_hash_salt == settings.salt == SALT  # held, only not shown
    assert [t for t in texts if SALT in t] == []


def test_a_salted_run_leaves_the_salt_in_no_event_log_or_file(
    pipeline: Pipeline,
    simulator: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    pipeline = pipeline.with_settings(sender_hash_salt=SALT)
    assert pipeline.materialize(JAN_15, assets=None).success
    simulator.faults = FaultPlan(fail_dates={"2025-01-16"})  # an error path too
    assert not pipeline.materialize(JAN_15, date(2025, 1, 16), raise_on_error=False).success

    texts: list[str] = []
    with DagsterInstance.get() as instance:
        records = instance.get_run_records()
        for record in records:
            for entry in instance.all_logs(record.dagster_run.run_id):
                texts.append(entry.user_message)
                texts.append(repr(entry.dagster_event))  # metadata, errors, everything it carries
    captured = capfd.readouterr()
    texts.extend([caplog.text, captured.out, captured.err])
    files = [p for p in tmp_path.rglob("*") if p.is_file()]  # DAGSTER_HOME, compute logs, data
    assert len(records) == 2 and len(texts) > 100
    assert any(p.suffix == ".parquet" for p in files) and any(p.suffix == ".db" for p in files)
    needles = salt_forms(SALT)
    leaks = [str(p.relative_to(tmp_path)) for p in files if any(n in p.read_bytes() for n in needles)]
    leaks += [t[:200] for t in texts if any(n in t.encode("utf-8", "surrogatepass") for n in needles)]
    assert leaks == []
