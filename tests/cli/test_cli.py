"""`lightsms-pipeline check` and `demo`: what a new user sees first."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import API_KEY, LOGIN, RULES_FILE

from lightsms_pipeline.cli.check import run_check
from lightsms_pipeline.cli.main import main
from lightsms_pipeline.settings import Settings


def check(base_url: str, login: str = LOGIN, api_key: str = API_KEY) -> int:
    env = {"LIGHTSMS_LOGIN": login, "LIGHTSMS_API_KEY": api_key}
    return run_check(Settings(base_url=base_url, timeout_seconds=2), env, days=2)


def test_check_reports_clock_offset_and_recent_counts(simulator, capsys):
    assert check(simulator.base_url) == 0
    out = capsys.readouterr().out
    assert "server clock offset" in out and "incoming messages" in out and "credentials work" in out
    assert API_KEY not in out


def test_check_names_a_wrong_login(simulator, capsys):
    assert check(simulator.base_url, login="nobody") == 1
    assert "the login is wrong (LIGHTSMS_LOGIN)" in capsys.readouterr().out


def test_check_names_a_wrong_key_without_printing_it(simulator, capsys):
    assert check(simulator.base_url, api_key="wrong-key-123") == 1
    out = capsys.readouterr().out
    assert "the API key is wrong (LIGHTSMS_API_KEY)" in out and "wrong-key-123" not in out


def test_check_names_an_unreachable_host(capsys):
    assert check("http://127.0.0.1:9") == 1
    assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().out


def test_check_without_credentials_says_what_to_set(capsys):
    assert run_check(Settings(), {}, days=1) == 1
    assert "LIGHTSMS_LOGIN and LIGHTSMS_API_KEY must be set" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_runs_the_main_job_on_the_simulator_and_prints_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # As a new user runs it: in a checkout (./rules.yaml declares the demo poll), nothing set.
    monkeypatch.chdir(tmp_path)
    shutil.copy(RULES_FILE, tmp_path / "rules.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    for name in [n for n in os.environ if n.startswith("LIGHTSMS_")]:
        monkeypatch.delenv(name)
    environ_before = dict(os.environ)
    assert main(["demo", "--per-day", "80"]) == 0
    assert dict(os.environ) == environ_before, "the demo configures its run without touching os.environ"
    out = capsys.readouterr().out
    assert "2025-01-13" in out and "2025-01-19" in out
    assert "subscribers opted out" in out and "lunch-2025-01" in out and "need a reply" in out
    assert re.search(r"stop_list_sync +[1-9]\d* numbers would be pushed \(dry run\), 0 pushed", out)
    assert (tmp_path / "data" / "opt_out_list.csv").exists()
    assert "concurrency" in (tmp_path / "home" / "dagster.yaml").read_text()
