"""`python -m lightsms_pipeline.simulator`: run the simulator without the project's CLI."""

from __future__ import annotations

import argparse

from lightsms_pipeline.simulator.server import run_simulator_cli


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m lightsms_pipeline.simulator",
        description="Serve a simulated LightSMS API on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--days", type=int, default=30, help="days of history (<= 0: unbounded)")
    parser.add_argument("--per-day", type=int, default=500, help="messages per day, on average")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--faults", default=None, help='e.g. "http_500=0.1,latency_ms=100"')
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--login", default="demo")
    parser.add_argument("--api-key", default="demo-key")
    args = parser.parse_args(argv)
    run_simulator_cli(
        days=args.days,
        per_day=args.per_day,
        port=args.port,
        faults=args.faults,
        seed=args.seed,
        login=args.login,
        api_key=args.api_key,
        host=args.host,
    )


if __name__ == "__main__":
    main()
