"""`lightsms-pipeline simulate`: serve the simulator alone until Ctrl-C."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lightsms_pipeline.contract import DEFAULT_TIMEZONE
from lightsms_pipeline.errors import ConfigurationError
from lightsms_pipeline.simulator.faults import FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import LiveArrivals, LiveMix, Traffic


def run_simulator_cli(
    days: int,
    per_day: int,
    port: int,
    faults: str | None,
    seed: int,
    login: str,
    api_key: str,
    host: str = "127.0.0.1",
    accounts: Sequence[str] = (),
    live_per_minute: float = 0.0,
) -> None:
    """Serve until Ctrl-C: `days` days of history ending today (all history when days <= 0).

    `accounts` are more logins to serve, each `LOGIN:API_KEY`, each with its own key, stop list
    and traffic (seed `seed + n` for the n-th, so their messages differ). `live_per_minute`
    messages arrive a minute on the first login while it serves (`live_arrivals`)."""
    extra = [parse_account(text) for text in accounts]
    timezone = DEFAULT_TIMEZONE
    today = datetime.now(ZoneInfo(timezone)).date()
    start = today - timedelta(days=days - 1) if days > 0 else None
    traffic = Traffic(seed=seed, per_day=per_day, start=start, timezone=timezone)
    plan = FaultPlan.parse(faults) if faults else None
    server = SimulatorServer(traffic, login=login, api_key=api_key, host=host, port=port, faults=plan)
    for n, (extra_login, extra_key) in enumerate(extra, 1):
        server.add_login(
            extra_login,
            extra_key,
            Traffic(seed=seed + n, per_day=per_day, start=start, timezone=timezone),
        )
    server.start()
    live = live_arrivals(server, live_per_minute, seed)
    try:
        # The key is the user's own, but keys are never printed: a placeholder stands in for it.
        print(
            f"LightSMS simulator on {server.base_url} (login {login}); Ctrl-C stops it.\n"
            f"export LIGHTSMS_BASE_URL={server.base_url} LIGHTSMS_LOGIN={login} "
            "LIGHTSMS_API_KEY=<the key you passed with --api-key>",
            flush=True,
        )
        if live is not None:
            print(f"{live_per_minute:g} messages a minute arrive live (10% STOP, 5% HELP)", flush=True)
        for n, (extra_login, _) in enumerate(extra, 1):
            note = f"also serving login {extra_login} (seed {seed + n}; key: the one after its colon)"
            print(note, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if live is not None:
            live.stop()
        server.stop()


def live_arrivals(server: SimulatorServer, per_minute: float, seed: int) -> LiveArrivals | None:
    """The traffic mode: `per_minute` messages (10% STOP, 5% HELP) received in real time by the
    first login, for the live pick-up to act on (docs/rules.md §10); None at 0."""
    if per_minute <= 0:
        return None
    return LiveArrivals(server.receive, server.traffic, LiveMix(per_minute=per_minute), seed=seed).start()


def parse_account(text: str) -> tuple[str, str]:
    """`LOGIN:API_KEY` of `--account`; the message never repeats the key."""
    login, sep, api_key = text.partition(":")
    if not sep or not login or not api_key:
        raise ConfigurationError("--account takes LOGIN:API_KEY (both non-empty)")
    return login, api_key
