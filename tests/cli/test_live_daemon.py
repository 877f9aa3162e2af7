"""The live pick-up with a real daemon (docs/rules.md §10): `dagster dev` on the local instance,
the simulator over HTTP, messages made to arrive while it runs.

Pins, by the simulator's clock: every message is in today's file and every STOP on the opt-out
list and on the simulator's stop list within 60 s of its arrival; today's file is then exactly
the day LightSMS holds; and while nothing arrives the sensor looks but launches no run. Prints
the runs and events the arrivals added (docs/rules.md §10 extrapolates a busy day from them).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest
from conftest import API_KEY, LOGIN, RULES_FILE
from dagster import DagsterInstance
from test_webserver_e2e import free_port, wait_until_up

from lightsms_pipeline.contract import INCOMING, OPT_OUT_PARQUET
from lightsms_pipeline.settings import API_KEY_VARIABLE, LOGIN_VARIABLE, Settings
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic

REPO = Path(__file__).resolve().parents[2]
INTERVAL_SECONDS = 5
LATENCY_LIMIT_SECONDS = 60.0
TZ = "Europe/Vilnius"


@pytest.fixture
def simulator_today() -> Iterator[SimulatorServer]:
    """Seeded days until two days ago; today holds only what the test makes arrive."""
    now = datetime.now().astimezone()
    local = now.astimezone(ZoneInfo(TZ))
    if (local + timedelta(minutes=3)).date() != local.date():
        pytest.skip("too close to midnight in the provider's zone: the arrivals would span two days")
    traffic = Traffic(seed=11, per_day=40, end=local.date() - timedelta(days=2), timezone=TZ)
    with SimulatorServer(traffic, login=LOGIN, api_key=API_KEY) as server:
        yield server


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def looks(server: SimulatorServer) -> int:
    """The sensor's looks so far: its from/to requests (runs ask with `date`)."""
    return sum(1 for params in list(server.log) if "from" in params)


def column(path: Path, name: str) -> set[str]:
    try:
        return set(pq.read_table(path, columns=[name]).column(name).to_pylist())
    except (FileNotFoundError, OSError):
        return set()


@pytest.mark.slow
def test_messages_arriving_while_the_daemon_runs_are_acted_on_within_a_minute(
    simulator_today: SimulatorServer, tmp_path: Path
):
    sim = simulator_today
    home, data = tmp_path / "dagster_home", tmp_path / "data"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    today = sim.local_now().date()
    settings = Settings(
        base_url=sim.base_url,
        data_dir=str(data),
        timezone=TZ,
        start_date=(today - timedelta(days=3)).isoformat(),
        rules_file=str(RULES_FILE),
        stop_list_sync="on",
        live_interval_seconds=INTERVAL_SECONDS,
        run_retries=0,
        timeout_seconds=5,
    )
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTSMS_")}
    env = {
        **inherited,
        **settings.to_env(),
        LOGIN_VARIABLE: LOGIN,
        API_KEY_VARIABLE: API_KEY,
        "DAGSTER_HOME": str(home),
    }
    port = free_port()
    log_path = tmp_path / "dagster_dev.log"
    with log_path.open("wb") as log:
        command = [
            "dagster",
            "dev",
            "-m",
            "lightsms_pipeline.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ]
        dev = subprocess.Popen(
            [str(Path(sys.executable).with_name(command[0])), *command[1:]],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}", dev)
            wait_for(lambda: looks(sim) >= 1, 90, "the live sensor's first look")
            with DagsterInstance.from_config(str(home)) as instance:
                quiet_runs = instance.get_runs_count()
                seen = looks(sim)
                wait_for(lambda: looks(sim) >= seen + 3, 60, "three quiet looks")
                assert instance.get_runs_count() == quiet_runs, "a run was launched while nothing arrived"

                rng = random.Random(22)
                arrivals = [
                    ("3706" + str(rng.randrange(10**6, 10**7)), text)
                    for text in ("STOP", "Hi, where is my parcel?", "stop", "HELP", "Unsubscribe")
                ]
                day_file = data / INCOMING / f"date={today.isoformat()}" / "part-0.parquet"
                opt_outs, stop_list = data / OPT_OUT_PARQUET, sim.stop_list
                pending: dict[str, tuple[float, str, bool]] = {}
                done: dict[str, dict[str, float]] = {}
                for sender, text in arrivals:
                    id_sms, arrived = sim.receive(sender, text)
                    pending[id_sms] = (arrived.timestamp(), sender, text.lower() in ("stop", "unsubscribe"))
                    done[id_sms] = {}
                    time.sleep(2)

                def all_done() -> bool:
                    now = sim.now_epoch()
                    ids, subscribers = column(day_file, "id_sms"), column(opt_outs, "subscriber")
                    listed = set(stop_list.entries())
                    for id_sms, (arrived, sender, is_stop) in pending.items():
                        reached = {"file": id_sms in ids}
                        if is_stop:
                            reached["opt_out_list"] = "+" + sender in subscribers
                            reached["stop_list"] = sender in listed
                        for where, yes in reached.items():
                            if yes:
                                done[id_sms].setdefault(where, now - arrived)
                    return all(len(done[i]) == (3 if pending[i][2] else 1) for i in pending)

                wait_for(all_done, LATENCY_LIMIT_SECONDS + 15, "every arrival's effects")
                latencies = sorted(s for effects in done.values() for s in effects.values())
                print(f"\nlatency from arrival (s): {[round(s, 1) for s in latencies]}")
                assert latencies[-1] <= LATENCY_LIMIT_SECONDS, done

                # Exact: today's file is the day LightSMS holds, nothing missing, doubled or changed.
                table = pq.read_table(day_file, columns=["id_sms", "text"])
                got = sorted(
                    zip(table.column("id_sms").to_pylist(), table.column("text").to_pylist(), strict=True)
                )
                assert got == sorted((m.id_sms, m.text) for m in sim.traffic.day(today))

                # Settled: no live run in flight and two more looks, so the count holds any
                # run the sensor still owed to arrivals held while the first one ran.
                def settled() -> bool:
                    return all(run.is_finished for run in instance.get_runs())

                wait_for(settled, 60, "the live runs to finish")
                seen = looks(sim)
                wait_for(lambda: looks(sim) >= seen + 2, 30, "two more looks")
                wait_for(settled, 60, "the live runs to finish")
                runs = instance.get_runs()
                events = [len(instance.all_logs(run.run_id)) for run in runs]
                print(
                    f"runs while quiet: {quiet_runs}; launched by {len(arrivals)} arrivals: "
                    f"{len(runs) - quiet_runs}; events per run: {events}; sensor looks: {looks(sim)}"
                )
                assert 1 <= len(runs) - quiet_runs <= len(arrivals)
        finally:
            dev.send_signal(signal.SIGINT)
            try:
                dev.wait(timeout=40)
            except subprocess.TimeoutExpired:
                dev.kill()
                dev.wait()
