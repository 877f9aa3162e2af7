"""Shared fixtures: a running simulator on a free port, a temporary data dir, a Dagster instance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pipeline import Pipeline

from lightsms_pipeline.api.client import LightSMSClient, RetryPolicy
from lightsms_pipeline.settings import API_KEY_VARIABLE, LOGIN_VARIABLE, Settings
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic

LOGIN = "test-login"
# Distinctive so a leak is easy to grep for; never a real key.
API_KEY = "sk-test-0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c"

# Days whose traffic the tests read; the simulator serves any past day deterministically.
JAN_15 = date(2025, 1, 15)

FAST_RETRY = RetryPolicy(
    attempts=4, backoff_initial=0.01, backoff_max=0.05, total_seconds=10, read_timeout=2.0
)


@pytest.fixture
def traffic() -> Traffic:
    return Traffic(seed=7, per_day=60)


@pytest.fixture
def simulator(traffic: Traffic) -> Iterator[SimulatorServer]:
    server = SimulatorServer(traffic, login=LOGIN, api_key=API_KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(simulator: SimulatorServer) -> Iterator[LightSMSClient]:
    with LightSMSClient(simulator.base_url, LOGIN, API_KEY, retry=FAST_RETRY) as c:
        yield c


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


RULES_FILE = Path(__file__).resolve().parents[1] / "rules.yaml"


@pytest.fixture
def pipeline(
    simulator: SimulatorServer, data_dir: Path, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Pipeline:
    """The pipeline of a user pointing it at the simulator: settings as an object; only the
    credentials are variables, which Dagster's `EnvVar` reads when the run starts."""
    credentials = {LOGIN_VARIABLE: LOGIN, API_KEY_VARIABLE: API_KEY}
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    settings = Settings(
        base_url=simulator.base_url,
        data_dir=str(data_dir),
        start_date="2024-10-01",
        parallelism=4,
        max_attempts=4,
        timeout_seconds=5,
        run_retries=0,
        rules_file=str(RULES_FILE),
    )
    return Pipeline(settings, credentials)


@pytest.fixture
def pipeline_env(pipeline: Pipeline) -> dict[str, str]:
    """The environment of a child process running `pipeline` (it reads `Settings.from_env()`)."""
    return pipeline.env()


# --- session-wide: no key in temporary files, one summary line per reliability suite ------------

SUITE_SUMMARY = "suite_summary"  # a user property: (suite, [(label, count), ...])
LEAK_SCAN_MAX_BYTES = 50 * 1024 * 1024
_suite_totals: dict[str, dict[str, int]] = {}


@pytest.fixture(scope="session", autouse=True)
def api_key_never_written_to_temp_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After this worker's last test: no file under its basetemp (Dagster homes, data dirs,
    captured logs) holds the API key."""
    yield
    needle = API_KEY.encode()
    leaks = []
    for path in tmp_path_factory.getbasetemp().rglob("*"):
        try:
            if path.is_file() and path.stat().st_size <= LEAK_SCAN_MAX_BYTES and needle in path.read_bytes():
                leaks.append(str(path))
        except OSError:
            continue  # removed while we walked
    if leaks:
        pytest.fail(f"the API key was written to {len(leaks)} temporary file(s): {leaks[:10]}", pytrace=False)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # With xdist the reports of the workers arrive here, in the controller, with their properties.
    if report.when != "teardown":
        return
    for name, value in report.user_properties:
        if name == SUITE_SUMMARY:
            suite, counts = value
            totals = _suite_totals.setdefault(suite, {})
            for label, count in counts:
                totals[label] = totals.get(label, 0) + count


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if not _suite_totals or hasattr(config, "workerinput"):
        return
    terminalreporter.section("suite summaries")
    for suite, totals in sorted(_suite_totals.items()):
        if totals:
            counts = ", ".join(f"{n:,} {label}" for label, n in totals.items())
            terminalreporter.write_line(f"{suite}: {counts}")
