"""The live sensor's decisions (docs/rules.md §10), one tick at a time, against the simulator over
HTTP: nothing new launches nothing, a new message launches one run for its day, the same message
never launches a second, a late one inside the overlap is still seen, and arrivals while a live
run is in flight wait for one run after it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import API_KEY, LOGIN
from dagster import DagsterInstance, RunRequest, build_sensor_context

from lightsms_pipeline.assets.live import live_names
from lightsms_pipeline.assets.schedules import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from lightsms_pipeline.contract import LIVE_JOB, LIVE_SENSOR
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.ingest.live import OVERLAP, LiveCursor
from lightsms_pipeline.resources import LightSMSResource
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic

TZ = "Europe/Vilnius"


@pytest.fixture
def quiet_today() -> Iterator[SimulatorServer]:
    """Seeded history up to yesterday and nothing today but what a test makes arrive."""
    # Two days back, so that no seeded message of the provider's today arrives during the test.
    last = datetime.now().date() - timedelta(days=2)
    with SimulatorServer(Traffic(seed=7, per_day=60, end=last), login=LOGIN, api_key=API_KEY) as server:
        yield server


@pytest.fixture
def tick(quiet_today: SimulatorServer, tmp_path: Path):
    """`tick(cursor)`: one evaluation of the live sensor, on one instance for the whole test."""
    settings = Settings(base_url=quiet_today.base_url, data_dir=str(tmp_path / "data"), timezone=TZ)
    account = LightSMSResource.from_settings(settings, login=LOGIN, api_key=API_KEY)
    defs = build_definitions(settings, resources={"lightsms": account})
    sensor = defs.resolve_sensor_def(LIVE_SENSOR)
    with DagsterInstance.ephemeral() as instance:

        def evaluate(cursor: str | None) -> Tick:
            # evaluate_tick: the path the sensor daemon takes (a direct call passes resources
            # by keyword, which a sensor reading its account's key from the context refuses).
            with build_sensor_context(
                instance=instance, cursor=cursor, resources={"lightsms": account}
            ) as context:
                data = sensor.evaluate_tick(context)
            return Tick(list(data.run_requests or []), data.cursor, data.skip_message)

        evaluate.instance = instance  # type: ignore[attr-defined]
        evaluate.job = defs.resolve_job_def(LIVE_JOB)  # type: ignore[attr-defined]
        yield evaluate


@dataclass(frozen=True)
class Tick:
    runs: list[RunRequest]
    cursor: str | None
    skipped: str | None


def arrive(server: SimulatorServer, sender: str, text: str) -> tuple[str, datetime]:
    """`server.receive`, then a moment: the client's copy of LightSMS's clock is whole seconds
    and may lag by one, and a window ending before the arrival leaves it to the next tick."""
    received = server.receive(sender, text)
    time.sleep(1.5)
    return received


def test_a_quiet_tick_launches_nothing_and_moves_the_cursor_to_lightsms_now(tick, quiet_today):
    result = tick(None)
    assert result.runs == [] and result.skipped
    cursor = LiveCursor.from_text(result.cursor)
    assert cursor is not None and cursor.seen == frozenset()
    assert abs((cursor.until - quiet_today.local_now()).total_seconds()) < 5
    again = tick(result.cursor)
    assert again.runs == []
    assert LiveCursor.from_text(again.cursor).until >= cursor.until  # type: ignore[union-attr]


def test_a_new_message_launches_one_run_of_its_day_and_the_same_message_never_a_second(tick, quiet_today):
    first = tick(None)
    id_sms, arrived = arrive(quiet_today, "37061234567", "STOP")
    found = tick(first.cursor)
    [request] = found.runs
    day = arrived.date().isoformat()
    assert request.tags[PARTITION_RANGE_START_TAG] == request.tags[PARTITION_RANGE_END_TAG] == day
    assert id_sms in request.run_key
    assert id_sms in LiveCursor.from_text(found.cursor).seen  # type: ignore[union-attr]
    assert tick(found.cursor).runs == []  # the same arrival, asked again in the overlap


def test_a_late_message_dated_inside_the_overlap_is_picked_up(tick, quiet_today):
    first = tick(None)
    cursor = LiveCursor.from_text(first.cursor)
    assert cursor is not None
    # LightSMS lists it only now, dated minutes before the sensor's last look.
    at = cursor.until - OVERLAP / 2
    late = quiet_today.login_state(LOGIN).receive(at, "37069876543", "stop", "37052000000", "")
    [request] = tick(first.cursor).runs
    assert late in request.run_key
    assert request.tags[PARTITION_RANGE_START_TAG] == at.date().isoformat()


def test_arrivals_while_a_live_run_is_in_flight_wait_for_one_run_after_it(tick, quiet_today):
    first = tick(None)
    in_flight = tick.instance.create_run_for_job(tick.job)  # not started yet: it is in flight
    arrive(quiet_today, "37061111111", "HELP")
    held = tick(first.cursor)
    assert held.runs == [] and held.skipped, "a second live run would pile up behind the first"
    assert held.cursor == first.cursor
    tick.instance.report_run_failed(in_flight)
    arrive(quiet_today, "37062222222", "STOP")
    [request] = tick(held.cursor).runs  # the cursor was kept: both arrivals in one run
    assert request.run_key.split("-")[-2] == "2"


def test_the_live_sensor_and_job_are_named_per_account_and_absent_at_interval_zero(tmp_path):
    assert live_names("acme") == ("acme_lightsms_live", "acme_lightsms_live_job")
    settings = Settings(data_dir=str(tmp_path), live_interval_seconds=0)
    defs = build_definitions(settings)
    assert [s.name for s in defs.sensors or []] == []
    assert LIVE_JOB not in {j.name for j in defs.jobs or []}
