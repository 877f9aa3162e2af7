"""`lightsms-pipeline` returns only once every thread it started has ended, and says so if not."""

from __future__ import annotations

import threading

import pytest
from conftest import API_KEY, LOGIN

from lightsms_pipeline.cli import main as cli
from lightsms_pipeline.simulator.server import SimulatorServer


@pytest.fixture
def account(simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTSMS_BASE_URL", simulator.base_url)
    monkeypatch.setenv("LIGHTSMS_LOGIN", LOGIN)
    monkeypatch.setenv("LIGHTSMS_API_KEY", API_KEY)


def test_a_command_that_leaves_a_thread_of_ours_running_fails_and_names_it(account, capsys, monkeypatch):
    release = threading.Event()
    lingering = threading.Thread(target=release.wait, name="lightsms-lingering", daemon=True)
    real_check = cli.run_check

    def check_that_forgets_a_thread(*args, **kwargs):  # type: ignore[no-untyped-def]
        lingering.start()
        return real_check(*args, **kwargs)

    monkeypatch.setattr(cli, "run_check", check_that_forgets_a_thread)
    try:
        code = cli.main(["check", "--days", "1"])
    finally:
        release.set()
        lingering.join()
    err = capsys.readouterr().err
    assert code == 1
    assert "threads still running at exit: lightsms-lingering" in err


def test_a_command_that_stops_what_it_started_succeeds(account, capsys):
    assert cli.main(["check", "--days", "1"]) == 0
    # The simulator's own threads (started before main) are not the command's and do not count.
    assert "threads still running" not in capsys.readouterr().err
