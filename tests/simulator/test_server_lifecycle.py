"""stop() leaves no thread of the simulator behind: not the server loop, not a connection's.

A connection thread still running when the interpreter shuts down is a daemon thread frozen
mid-work (possibly holding a lock stdout or stderr needs); stop() must be the end of all of them.
"""

from __future__ import annotations

import threading
import time

import requests

from lightsms_pipeline.simulator.faults import FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic

LATENCY_MS = 800


def test_stop_returns_only_after_every_connection_thread_has_ended():
    before = set(threading.enumerate())
    sim = SimulatorServer(Traffic(seed=3, per_day=10), faults=FaultPlan(latency_ms=LATENCY_MS)).start()
    idle = requests.Session()  # a keep-alive connection, its server thread waiting for the next request
    assert idle.get(f"{sim.base_url}/nothing-here", timeout=10).status_code == 404

    outcome: list[object] = []

    def in_flight() -> None:
        try:
            outcome.append(requests.get(f"{sim.base_url}/nothing-here", timeout=10).status_code)
        except requests.RequestException as exc:
            outcome.append(exc)

    client = threading.Thread(target=in_flight)
    client.start()
    deadline = time.monotonic() + 10
    while sim.stats.requests < 2:  # the second request is being answered (sleeping in its latency)
        assert time.monotonic() < deadline, "the second request never reached the simulator"
        time.sleep(0.01)

    sim.stop()
    left = [t.name for t in threading.enumerate() if t not in before and t is not client and t.is_alive()]
    client.join(timeout=10)
    idle.close()
    print(f"threads of the simulator alive after stop(): {len(left)}; in-flight request: {outcome}")
    assert left == []
    assert len(outcome) == 1
