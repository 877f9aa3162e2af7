"""The API key never leaves the process: not in Dagster's storage, logs, data files or error texts.

A realistic mix runs in its own DAGSTER_HOME and data dir (good runs, faults, a failing day, a
wrong key, the `check` CLI), then every byte written and every text shown is searched for the key
in each form a leak could take.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import traceback
from datetime import date
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from conftest import API_KEY, LOGIN
from dagster import DagsterInstance
from pipeline import Pipeline

from lightsms_pipeline.api.client import LightSMSClient, RetryPolicy
from lightsms_pipeline.errors import LightSMSError
from lightsms_pipeline.resources import LightSMSResource
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic
from reliability.conftest import SuiteSummary

SUITE = "reliability/secrets"
# Characters that URL, form, JSON and shell encodings all change, so each encoded form differs.
SECRET = "sk-live/+=?&%#Ünï 7c1e5f0a9b"
WRONG_KEY = "sk-wrong/+=?&%#Ünï 00000000"
QUICK = RetryPolicy(attempts=2, backoff_initial=0.01, backoff_max=0.02, total_seconds=10, read_timeout=2)


def leak_forms(key: str) -> set[bytes]:
    """The bytes a leaked key would show up as."""
    return {
        key.encode(),
        quote(key).encode(),
        quote(key, safe="").encode(),
        quote_plus(key).encode(),
        json.dumps(key)[1:-1].encode(),
        json.dumps(key, ensure_ascii=False)[1:-1].encode(),
        repr(key)[1:-1].encode(),
        key.encode("unicode_escape"),
        base64.b64encode(key.encode()),
    }


NEEDLES = sorted(leak_forms(SECRET) | leak_forms(WRONG_KEY) | leak_forms(API_KEY))


def exception_texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def dagster_texts() -> list[str]:
    """Every event message and error (with its causes and stacks) of every run."""
    texts = []
    with DagsterInstance.get() as instance:
        for record in instance.get_run_records():
            for entry in instance.all_logs(record.dagster_run.run_id):
                texts.append(entry.user_message)
                event = entry.dagster_event
                error = getattr(event.event_specific_data, "error", None) if event else None
                if error is not None:
                    texts.append(error.to_string())
    return texts


@pytest.mark.slow
def test_the_api_key_never_reaches_storage_logs_data_or_error_texts(
    pipeline: Pipeline,
    subprocess_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    summary: SuiteSummary,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's request lines included
    texts: list[str] = []
    start, end = date(2025, 1, 13), date(2025, 1, 15)
    with SimulatorServer(Traffic(seed=5, per_day=40), login=LOGIN, api_key=SECRET) as sim:
        monkeypatch.setenv("LIGHTSMS_API_KEY", SECRET)
        pipeline = pipeline.with_settings(base_url=sim.base_url, max_attempts=3)
        assert pipeline.materialize(start, end).success
        sim.faults = FaultPlan(
            rates={
                FaultKind.HTTP_500: 0.2,
                FaultKind.RESET: 0.1,
                FaultKind.HTML: 0.1,
                FaultKind.TRUNCATED: 0.1,
            },
            script=[FaultKind.STALE_TIMESTAMP],
            seed=3,
        )
        pipeline.materialize(start, end, raise_on_error=False)
        sim.faults = FaultPlan(fail_dates={"2025-01-14"})
        assert not pipeline.materialize(start, end, raise_on_error=False).success
        sim.faults = None
        monkeypatch.setenv("LIGHTSMS_API_KEY", WRONG_KEY)
        refused = pipeline.materialize(start, end, raise_on_error=False)
        assert not refused.success
        assert "LIGHTSMS_API_KEY" in refused.get_step_failure_events()[0].step_failure_data.error.to_string()
        monkeypatch.setenv("LIGHTSMS_API_KEY", SECRET)

        failing = [
            (WRONG_KEY, None),
            (SECRET, FaultPlan(fail_dates={"2025-01-14"})),
            (SECRET, FaultPlan(script=[FaultKind.HTML] * 2)),
            (SECRET, FaultPlan(script=[FaultKind.STALE_TIMESTAMP] * 2)),
        ]
        for key, plan in failing:
            sim.faults = plan
            with LightSMSClient(sim.base_url, LOGIN, key, retry=QUICK) as client:
                texts.append(repr(client))
                with pytest.raises(LightSMSError) as caught:
                    client.fetch_day(date(2025, 1, 14))
                texts.extend(exception_texts(caught.value))
        sim.faults = None
        resource = LightSMSResource(login=LOGIN, api_key=SECRET, base_url=sim.base_url)
        texts.extend([repr(resource), str(resource)])

        # `check` with the right and the wrong key, side by side (each a fresh Python).
        checks = {
            code: subprocess.Popen(
                [sys.executable, "-m", "lightsms_pipeline.cli.main", "check", "--days", "2"],
                env={**subprocess_env, "LIGHTSMS_BASE_URL": sim.base_url, "LIGHTSMS_API_KEY": key},
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for key, code in ((SECRET, 0), (WRONG_KEY, 1))
        }
        for code, cli in checks.items():
            stdout, stderr = cli.communicate(timeout=120)
            assert cli.returncode == code, stdout + stderr
            texts.extend([stdout.decode(errors="replace"), stderr.decode(errors="replace")])

    texts.extend(dagster_texts())
    captured = capfd.readouterr()
    texts.extend([caplog.text, captured.out, captured.err])
    assert "credentials refused" in " ".join(texts)  # the wrong key's CLI run said so, without the key

    files = [p for p in tmp_path.rglob("*") if p.is_file()]  # DAGSTER_HOME, data dir, everything
    assert any(p.suffix == ".parquet" for p in files) and any(p.suffix == ".db" for p in files)
    assert any("compute_logs" in p.parts for p in files)
    scanned_bytes = 0
    file_leaks = []
    for path in files:
        data = path.read_bytes()
        scanned_bytes += len(data)
        file_leaks.extend(f"{path.relative_to(tmp_path)}: {needle!r}" for needle in NEEDLES if needle in data)
    text_leaks = [
        f"{needle!r} in {text[:200]!r}"
        for text in texts
        for needle in NEEDLES
        if needle in text.encode("utf-8", "surrogatepass")
    ]
    assert file_leaks == []
    assert text_leaks == []
    summary.add("files scanned", len(files))
    summary.add("KiB scanned", scanned_bytes // 1024)
    summary.add("texts scanned", len(texts))
    summary.add("key forms searched", len(NEEDLES))
    summary.add("leaks", len(file_leaks) + len(text_leaks))
