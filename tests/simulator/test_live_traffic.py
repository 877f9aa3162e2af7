"""Messages made to arrive now (`SimulatorServer.receive`) and the live traffic mode of `dev`:
listed by incoming.php from the moment they arrive, for `date` and `from`/`to`, with ids of
their own, and never changing a seeded day."""

from __future__ import annotations

import time
from datetime import date, timedelta

from conftest import API_KEY, LOGIN

from lightsms_pipeline.api.client import LightSMSClient
from lightsms_pipeline.api.windows import Window
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import OPT_OUTS, LiveArrivals, LiveMix, Traffic


def test_a_received_message_is_listed_at_once_by_date_and_by_from_to_with_a_new_id():
    traffic = Traffic(seed=3, per_day=80)
    with SimulatorServer(traffic, login=LOGIN, api_key=API_KEY) as server:
        today = server.local_now().date()
        seeded_ids = {m.id_sms for m in traffic.day(today)}
        id_sms, arrived = server.receive("37061234567", "STOP")
        assert id_sms not in seeded_ids and arrived.date() == today
        with LightSMSClient(server.base_url, LOGIN, API_KEY) as client:
            day = client.fetch_day(today)
            start = arrived.replace(tzinfo=None, microsecond=0) - timedelta(seconds=5)
            window = client.fetch_window(Window(start, start + timedelta(seconds=10)))
        assert id_sms in day.id_sms.to_pylist()
        assert id_sms in window.id_sms.to_pylist()
        assert window.text.to_pylist()[window.id_sms.to_pylist().index(id_sms)] == "STOP"


def test_receiving_never_changes_a_seeded_day_or_its_ids():
    traffic, untouched = Traffic(seed=3, per_day=80), Traffic(seed=3, per_day=80)
    with SimulatorServer(traffic, login=LOGIN, api_key=API_KEY) as server:
        today = server.local_now().date()
        for n in range(5):
            server.receive(f"3706123456{n}", "hello")
        assert traffic.day(date(2025, 1, 15)) == untouched.day(date(2025, 1, 15))
        seeded = set(untouched.day(today))
        assert seeded <= set(traffic.day(today))
        assert len(traffic.day(today)) == len(seeded) + 5
        assert len({m.id_sms for m in traffic.day(today)}) == len(seeded) + 5


def test_the_live_traffic_mode_adds_messages_in_real_time_with_its_share_of_stops():
    with SimulatorServer(Traffic(seed=3, per_day=0), login=LOGIN, api_key=API_KEY) as server:
        live = LiveArrivals(server.receive, server.traffic, LiveMix(per_minute=1200, stop_share=0.5), seed=1)
        live.start()
        time.sleep(2)
        live.stop()
        received = server.traffic.received()
        assert len(received) == live.sent >= 10
        stops = sum(m.text in OPT_OUTS for m in received)
        assert 0.2 < stops / len(received) < 0.8
        assert all(m.sender.isdigit() for m in received)
