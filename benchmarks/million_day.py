"""A million-message day (a TV poll): fetch, normalize, check and write ONE day, end to end.

The simulator serves the day from its own process, its answers encoded before the clock starts,
and refuses any answer listing more than `answer_limit` messages with HTTP 504 (our assumption of
what LightSMS would do; README, "What the real API may do differently"). The pipeline's own path,
`ingest_days` for that one day with the client's default `WindowPolicy`, runs in a fresh process:
the whole-day request is refused, the day comes in hourly `from`/`to` windows, four at a time, and
lands as one Parquet file. Its wall time gives messages a second; `ru_maxrss` of that process is
the peak memory. The file is then read back and compared with a digest of the simulator's truth.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from benchmarks.child import REPO, child_env, report, run_module
from benchmarks.machine import load_average
from benchmarks.results import Table, verdict

DAY = date(2024, 6, 12)
TARGET_PER_SECOND = 150_000  # issue 11, target 3
TARGET_PEAK_MB = 1536
LOGIN, API_KEY = "bench", "bench-key"


@dataclass(frozen=True)
class Sizes:
    messages: int
    answer_limit: int


FULL = Sizes(messages=1_000_000, answer_limit=100_000)
QUICK = Sizes(messages=100_000, answer_limit=10_000)


def truth_digest(rows: Any) -> str:
    """sha256 of (id, local date, sender, phone, prefix, text) rows in id order."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update("\x1f".join("" if v is None else v for v in row).encode("utf-8") + b"\x1e")
    return digest.hexdigest()


def serve(sizes: Sizes) -> None:
    """The simulator's process: generate and encode the day, print the port, serve until stdin
    closes."""
    from lightsms_pipeline.simulator.server import SimulatorServer
    from lightsms_pipeline.simulator.traffic import Traffic

    traffic = Traffic(seed=42, per_day=500, day_volumes={DAY: sizes.messages})
    messages = traffic.day_messages(DAY)
    digest = truth_digest(
        (m.id_sms, m.date, m.sender, m.phone, m.prefix, m.text) for m in sorted(messages, key=_id_key)
    )
    senders = len({m.sender for m in messages})
    server = SimulatorServer(
        traffic, login=LOGIN, api_key=API_KEY, max_messages_per_answer=sizes.answer_limit
    )
    start = datetime(DAY.year, DAY.month, DAY.day)
    hours = [(start + timedelta(hours=h), start + timedelta(hours=h + 1, seconds=-1)) for h in range(24)]
    server.warm_windows(hours)
    with server:
        print(f"READY {server.port} {digest} {len(messages)} {senders}", flush=True)
        sys.stdin.read()


def _id_key(m: Any) -> tuple[int, str]:
    return (len(m.id_sms), m.id_sms)


def measure(port: int) -> dict[str, Any]:
    """The pipeline's process: one day through `ingest_days`, timed, then read back."""
    import pyarrow.parquet as pq

    from lightsms_pipeline.client import LightSMSClient
    from lightsms_pipeline.contract import INCOMING
    from lightsms_pipeline.ingest import IngestOptions, ingest_days
    from lightsms_pipeline.storage import Dataset

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory(prefix="bench-million-") as root:
        dataset = Dataset(root)
        options = IngestOptions(account=LOGIN, parallelism=1)
        with LightSMSClient(f"http://127.0.0.1:{port}", LOGIN, API_KEY) as client:
            started, cpu = time.perf_counter(), time.process_time()
            (result,) = ingest_days(client, dataset, [DAY], options)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            stats = client.stats.snapshot()
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if result.error is not None:
            raise result.error
        table = pq.read_table(dataset.partition_path(INCOMING, DAY))
    local = [t.strftime("%Y-%m-%d %H:%M:%S") for t in table["received_at"].to_pylist()]
    columns = [table[c].to_pylist() for c in ("id_sms", "sender", "phone", "prefix", "text")]
    rows = sorted(
        zip(columns[0], local, columns[1], columns[2], columns[3], columns[4], strict=True),
        key=lambda r: (len(r[0]), r[0]),
    )
    return {
        "rows": result.rows,
        "wall": wall,
        "cpu": cpu,
        "peak_mb": peak_kb / 1024,
        "rss_after_imports_mb": rss_before / 1024,
        "requests": stats.requests,
        "retries": stats.retries,
        "digest": truth_digest(rows),
        "findings_ok": result.findings == type(result.findings)(),
    }


def run(quick: bool) -> Table:
    sizes = QUICK if quick else FULL
    cmd = [sys.executable, "-m", "benchmarks.million_day", "--serve", *(["--quick"] if quick else [])]
    server = subprocess.Popen(
        cmd, env=child_env(), cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        ready = server.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise RuntimeError(f"the simulator process did not start: {ready}")
        port, digest, count, senders = int(ready[1]), ready[2], int(ready[3]), int(ready[4])
        load = load_average()
        result = run_module("million_day", ["--child", "--port", str(port)])
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=60)
    per_second = result["rows"] / result["wall"]
    table = Table(
        f"A {count:,}-message day: fetch, normalize, check and write one day, end to end",
        ["figure", "value", f"target: >= {TARGET_PER_SECOND:,} msg/s, peak < {TARGET_PEAK_MB} MB"],
    )
    exact = result["digest"] == digest and result["rows"] == count and result["findings_ok"]
    table.add(
        "messages written (file read back equals the simulator's truth)",
        f"{result['rows']:,}",
        verdict(exact),
    )
    table.add("wall s (fetch + normalize + check + write)", f"{result['wall']:.2f}", "")
    table.add("messages a second, end to end", f"{per_second:,.0f}", verdict(per_second >= TARGET_PER_SECOND))
    table.add("CPU s of the pipeline's process", f"{result['cpu']:.2f}", "")
    table.add(
        "peak RSS MB of the pipeline's process (after imports)",
        f"{result['peak_mb']:,.0f} ({result['rss_after_imports_mb']:,.0f})",
        verdict(result["peak_mb"] < TARGET_PEAK_MB),
    )
    table.add(
        "requests (incoming.php + timestamp.php), retries", f"{result['requests']}, {result['retries']}", ""
    )
    table.notes += [
        f"The simulator refuses answers over {sizes.answer_limit:,} messages (HTTP 504); the client asks for "
        f"the day {3} times (LIGHTSMS_WINDOW_SPLIT_AFTER_ATTEMPTS), then in hourly windows, {4} at a time. "
        f"{senders:,} distinct senders, all new to the process (a cold sender cache).",
        "The simulator runs in its own process on the other core, with the day's windows encoded "
        f"before the clock starts; load average when the measurement started: {load}.",
    ]
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true", help="run the simulator for the day")
    parser.add_argument("--child", action="store_true", help="measure in this process and report")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(QUICK if args.quick else FULL)
    elif args.child:
        report(measure(args.port))
    else:
        print(run(args.quick).markdown())


if __name__ == "__main__":
    main()
