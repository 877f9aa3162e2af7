"""Live: the deployment with its daemon over minutes of simulated live traffic (issue 22).

`dagster dev` runs on the local SQLite instance (deploy/dagster.local.yaml) with the live sensor
(LIGHTSMS_LIVE_INTERVAL_SECONDS), the stop-list sync and the replies on, against the simulator
over HTTP. Messages are made to arrive at a steady rate with `server.receive()` (STOP, HELP and
other texts from distinct numbers). Every time is the simulator's own clock: when a message
arrived, when add2stop.php put its number on the stop list, when send.php sent its reply; a
latency is the effect's time minus the arrival's. Then the runs and event-log entries the
traffic added, and the CPU the dagster processes used over a quiet period after the last run
ended, when nothing arrived and the sensor only looked (docs/rules.md §10; figures in
docs/performance.md, "Live").
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results import Table, verdict

REPO = Path(__file__).resolve().parents[1]
TZ = "Europe/Vilnius"
LOGIN = "bench-live"
API_KEY = "sk-bench-live-5e4d3c2b1a0f9e8d7c6b5a49"
TARGET_P95_SECONDS = 60.0
SENDER = "MyBrand"  # registered on every simulated account (simulator/send.py)
RULES_YAML = f"""replies:
  sender: {SENDER}
  opt_out: "{SENDER}: you are unsubscribed. Reply START to resubscribe."
  help: "{SENDER}: help at support@mybrand.example."
"""
# Six arrivals a cycle: two STOPs, one HELP, three others (none answered: `other` has no text).
MIX = ("STOP", "Hi, where is my parcel?", "HELP", "Thanks, got it", "stop", "What time do you open?")
ANSWERED = {"stop": "opt_out", "help": "help"}


@dataclass
class Arrival:
    sender: str
    text: str
    id_sms: str
    at: float  # the simulator's clock, Unix seconds

    @property
    def kind(self) -> str:
        return ANSWERED.get(self.text.lower(), "other")


@dataclass
class Measured:
    arrivals: list[Arrival] = field(default_factory=list)
    push: dict[str, float] = field(default_factory=dict)  # id_sms -> seconds to the stop list
    reply: dict[str, float] = field(default_factory=dict)  # id_sms -> seconds to the reply
    runs_added: int = 0
    events_added: int = 0
    looks: int = 0
    traffic_seconds: float = 0.0
    quiet_seconds: float = 0.0
    quiet_cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU s over the quiet
    quiet_runs: int = 0
    quiet_looks: int = 0
    simulator_cpu: float = 0.0


def log_line(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(
    minutes: float = 10,
    per_minute: float = 6,
    interval_seconds: int = 30,
    quiet_minutes: float = 2,
    log: Callable[[str], None] = log_line,
) -> tuple[Table, bool]:
    """Measure once; the table and whether both p95 latencies are within the target."""
    measured = measure(minutes, per_minute, interval_seconds, quiet_minutes, log)
    return table(measured, minutes, per_minute, interval_seconds)


def measure(
    minutes: float, per_minute: float, interval_seconds: int, quiet_minutes: float, log: Callable[[str], None]
) -> Measured:
    from dagster import DagsterInstance

    from lightsms_pipeline.settings import API_KEY_VARIABLE, LOGIN_VARIABLE, Settings

    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp_name, simulator(minutes) as sim:
        tmp = Path(tmp_name)
        home, data, rules = tmp / "dagster_home", tmp / "data", tmp / "rules.yaml"
        home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
        rules.write_text(RULES_YAML, encoding="utf-8")
        today = sim.local_now().date()
        settings = Settings(
            base_url=sim.base_url,
            data_dir=str(data),
            timezone=TZ,
            start_date=(today - timedelta(days=3)).isoformat(),
            rules_file=str(rules),
            stop_list_sync="on",
            replies="on",
            live_interval_seconds=interval_seconds,
        )
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTSMS_")}
        env = {
            **inherited,
            **settings.to_env(),
            LOGIN_VARIABLE: LOGIN,
            API_KEY_VARIABLE: API_KEY,
            "DAGSTER_HOME": str(home),
        }
        with dagster_dev(tmp, env, log) as dev:
            wait_for(lambda: looks(sim) >= 1, 120, "the live sensor's first look")
            with DagsterInstance.from_config(str(home)) as instance:
                settle(instance, sim, interval_seconds)
                runs_before, events_before = run_and_event_counts(instance)
                looks_before = looks(sim)
                result = Measured()
                log(f"live: {minutes:g} min of arrivals at {per_minute:g}/min")
                started = time.monotonic()
                result.arrivals = drive(sim, minutes, per_minute)
                result.traffic_seconds = time.monotonic() - started
                log("live: traffic over, waiting for the stop-list pushes and replies")
                wait_for_effects(sim, result, deadline_seconds=4 * 60)
                settle(instance, sim, interval_seconds)
                runs_after, events_after = run_and_event_counts(instance)
                result.runs_added = runs_after - runs_before
                result.events_added = events_after - events_before
                result.looks = looks(sim) - looks_before
                log(f"live: {result.runs_added} runs added; quiet for {quiet_minutes:g} min")
                quiet_looks, sim_cpu = looks(sim), own_cpu_seconds()
                cpu_before, started = tree_cpu(dev.pid), time.monotonic()
                time.sleep(quiet_minutes * 60)
                cpu_after, result.quiet_seconds = tree_cpu(dev.pid), time.monotonic() - started
                result.simulator_cpu = own_cpu_seconds() - sim_cpu
                result.quiet_looks = looks(sim) - quiet_looks
                result.quiet_runs = instance.get_runs_count() - runs_after
                for label, seconds in cpu_after.items():
                    result.quiet_cpu[label] = seconds - cpu_before.get(label, 0.0)
        return result


@contextmanager
def simulator(minutes: float) -> Iterator[Any]:
    """Seeded days until two days ago; today holds only what the benchmark makes arrive."""
    from lightsms_pipeline.simulator.server import SimulatorServer
    from lightsms_pipeline.simulator.traffic import Traffic

    local = datetime.now(ZoneInfo(TZ))
    if (local + timedelta(minutes=minutes + 15)).date() != local.date():
        raise SystemExit(
            "live: too close to midnight in the provider's zone; the arrivals would span two days"
        )
    traffic = Traffic(seed=22, per_day=40, end=local.date() - timedelta(days=2), timezone=TZ)
    with SimulatorServer(traffic, login=LOGIN, api_key=API_KEY) as server:
        yield server


@contextmanager
def dagster_dev(
    cwd: Path, env: dict[str, str], log: Callable[[str], None]
) -> Iterator[subprocess.Popen[bytes]]:
    """`dagster dev` (webserver, daemon, code server) until the block ends, then stopped as a
    user would (SIGINT), killed only if it hangs."""
    import requests

    port = free_port()
    binary = Path(sys.executable).with_name("dagster")
    command = [str(binary), "dev", "-m", "lightsms_pipeline.definitions", "-h", "127.0.0.1", "-p", str(port)]
    with (cwd / "dagster_dev.log").open("wb") as out:
        dev = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            log("live: starting dagster dev")

            def up() -> bool:
                if dev.poll() is not None:
                    raise RuntimeError(f"dagster dev exited: {(cwd / 'dagster_dev.log').read_text()[-2000:]}")
                try:
                    return requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok
                except requests.RequestException:
                    return False

            wait_for(up, 180, "dagster dev")
            yield dev
        finally:
            dev.send_signal(signal.SIGINT)
            try:
                dev.wait(timeout=40)
            except subprocess.TimeoutExpired:
                dev.kill()
                dev.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"live: timed out waiting for {what}")
        time.sleep(0.25)


def looks(sim: Any) -> int:
    """The sensor's looks so far: its from/to requests to incoming.php (runs ask with `date`)."""
    return sum(1 for params in list(sim.log) if "from" in params)


def settle(instance: Any, sim: Any, interval_seconds: int) -> None:
    """No run in flight, and none launched over two more looks: whatever the sensor owed to
    arrivals held while a run went is done."""
    deadline = time.monotonic() + 10 * 60
    while time.monotonic() < deadline:
        wait_for(lambda: all(run.is_finished for run in instance.get_runs()), 10 * 60, "the runs to finish")
        runs = instance.get_runs_count()
        wait_for_looks(sim, 2, 3 * interval_seconds + 60)
        if instance.get_runs_count() == runs and all(run.is_finished for run in instance.get_runs()):
            return
    raise RuntimeError("live: the runs never settled")


def wait_for_looks(sim: Any, more: int, seconds: float) -> None:
    wanted = looks(sim) + more
    wait_for(lambda: looks(sim) >= wanted, seconds, f"{more} more looks")


def run_and_event_counts(instance: Any) -> tuple[int, int]:
    """Runs in the instance and event-log entries across them."""
    runs = instance.get_runs()
    return len(runs), sum(len(instance.all_logs(run.run_id)) for run in runs)


def drive(sim: Any, minutes: float, per_minute: float) -> list[Arrival]:
    """Arrivals at a steady rate from distinct valid Lithuanian mobile numbers."""
    rng = random.Random(22)
    numbers = rng.sample(range(10**6, 10**7), k=max(1, math.ceil(minutes * per_minute)))
    gap = 60.0 / per_minute
    start = time.monotonic()
    arrivals: list[Arrival] = []
    for n, number in enumerate(numbers):
        time.sleep(max(0.0, start + n * gap - time.monotonic()))
        sender, text = f"3706{number}", MIX[n % len(MIX)]
        id_sms, arrived = sim.receive(sender, text)
        arrivals.append(Arrival(sender, text, id_sms, arrived.timestamp()))
    time.sleep(max(0.0, start + len(numbers) * gap - time.monotonic()))
    return arrivals


def collect(sim: Any, result: Measured) -> None:
    """The effects seen so far, from the simulator's own records."""
    listed = sim.stop_list.entries()
    sent: dict[str, float] = {}
    for message in sim.sent_messages():
        sent.setdefault(message.phone.lstrip("+"), message.sent_at.timestamp())
    for arrival in result.arrivals:
        entry = listed.get(arrival.sender)
        if arrival.kind == "opt_out" and entry is not None and entry.added_epoch is not None:
            result.push[arrival.id_sms] = entry.added_epoch - arrival.at
        if arrival.kind != "other" and arrival.sender in sent:
            result.reply[arrival.id_sms] = sent[arrival.sender] - arrival.at


def wait_for_effects(sim: Any, result: Measured, deadline_seconds: float) -> None:
    """Until every STOP is on the stop list and every STOP and HELP answered, or the deadline."""
    stops = sum(a.kind == "opt_out" for a in result.arrivals)
    answered = sum(a.kind != "other" for a in result.arrivals)
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        collect(sim, result)
        if len(result.push) == stops and len(result.reply) == answered:
            return
        time.sleep(0.5)


def tree_cpu(root: int) -> dict[str, float]:
    """CPU seconds (user + system, with reaped children's) of `root` and its descendants, summed
    per kind of process, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        stats[int(entry)] = fields
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    totals: dict[str, float] = {}
    for pid in tree:
        if pid not in stats:
            continue
        fields = stats[pid]  # after the name: state ppid ... utime(11) stime(12) cutime(13) cstime(14)
        seconds = sum(int(fields[i]) for i in (11, 12, 13, 14)) / tick
        label = process_label(pid)
        totals[label] = totals.get(label, 0.0) + seconds
    return totals


def process_label(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            words = fh.read().decode(errors="replace").split("\0")
    except OSError:
        return "gone"
    line = " ".join(words)
    for needle, label in (
        ("dagster_webserver", "webserver"),
        ("dagster-webserver", "webserver"),
        ("dagster._daemon", "daemon"),
        ("dagster-daemon", "daemon"),
        ("code-server start", "code server"),
        ("api grpc", "code server"),
        ("resource_tracker", "code server"),
        ("execute_run", "run worker"),
        (" dev ", "dagster dev"),
    ):
        if needle in f"{line} ":
            return label
    return Path(words[0]).name if words and words[0] else "other"


def own_cpu_seconds() -> float:
    """This process's CPU: the simulator's HTTP threads (and this loop's sleeps)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def latency_cells(seconds: dict[str, float], expected: int) -> tuple[str, str, str, str, bool]:
    if not seconds:
        return "-", "-", "-", f"0 of {expected}", expected == 0
    values = list(seconds.values())
    p95 = percentile(values, 95)
    ok = p95 <= TARGET_P95_SECONDS and len(values) == expected
    return (
        f"{statistics.median(values):.1f}",
        f"{p95:.1f}",
        f"{max(values):.1f}",
        f"{len(values)} of {expected}",
        ok,
    )


def table(m: Measured, minutes: float, per_minute: float, interval_seconds: int) -> tuple[Table, bool]:
    stops = [a for a in m.arrivals if a.kind == "opt_out"]
    answered = [a for a in m.arrivals if a.kind != "other"]
    out = Table(
        f"Live: {minutes:g} min of arrivals at {per_minute:g}/min, the daemon on the local SQLite instance, "
        f"live interval {interval_seconds} s",
        ["from a message's arrival (simulator's clock)", "p50 s", "p95 s", "max s", "seen", "target"],
    )
    push = latency_cells(m.push, len(stops))
    reply = latency_cells(m.reply, len(answered))
    target = f"p95 <= {TARGET_P95_SECONDS:g} s, none missing"
    out.add("to its number on the stop list (add2stop.php)", *push[:4], f"{target}: {verdict(push[4])}")
    out.add("to its reply (send.php)", *reply[:4], f"{target}: {verdict(reply[4])}")
    quiet_minutes = m.quiet_seconds / 60 or 1.0
    dagster_cpu = sum(m.quiet_cpu.values())
    per_process = ", ".join(
        f"{label} {seconds / quiet_minutes:.2f}"
        for label, seconds in sorted(m.quiet_cpu.items(), key=lambda x: -x[1])
    )
    kinds = {k: sum(a.kind == k for a in m.arrivals) for k in ("opt_out", "help", "other")}
    out.notes += [
        f"Arrivals: {len(m.arrivals)} over {m.traffic_seconds / 60:.1f} min ({kinds['opt_out']} STOP, "
        f"{kinds['help']} HELP, {kinds['other']} other), each from its own number; replies: the rules' "
        f"opt_out and help texts from sender {SENDER}. p95 is the nearest rank (with few samples, "
        "near the max).",
        f"Runs added: {m.runs_added} ({m.runs_added / max(1, len(m.arrivals)):.2f} per arrival); event-log "
        f"entries added: {m.events_added:,} ({m.events_added / max(1, m.runs_added):,.0f} per run); the "
        f"sensor looked {m.looks} times (incoming.php from/to).",
        f"While nothing arrived ({m.quiet_seconds / 60:.1f} min after the last run ended): dagster's "
        f"processes used {dagster_cpu / quiet_minutes:.2f} CPU-s per minute ({per_process}); runs "
        f"launched: {m.quiet_runs}; sensor looks: {m.quiet_looks}; the in-process simulator "
        f"{m.simulator_cpu / quiet_minutes:.2f} CPU-s per minute.",
        "`dagster dev -m lightsms_pipeline.definitions` on deploy/dagster.local.yaml with "
        "LIGHTSMS_STOP_LIST_SYNC=on, LIGHTSMS_REPLIES=on; arrivals made with the simulator's `receive()`; "
        "the push time is the simulator's clock when add2stop.php added the number, the reply's when "
        "send.php sent it. CPU from /proc (user + system of dagster dev and every process under it).",
    ]
    lines = []
    for a in m.arrivals:
        push_s = (
            f"{m.push[a.id_sms]:.1f}" if a.id_sms in m.push else ("missing" if a.kind == "opt_out" else "")
        )
        reply_s = (
            f"{m.reply[a.id_sms]:.1f}" if a.id_sms in m.reply else ("missing" if a.kind != "other" else "")
        )
        lines.append(f"{a.id_sms:>10}  {a.text[:24]:<24}  push {push_s:>7}  reply {reply_s:>7}".rstrip())
    out.details["every arrival: seconds to its stop-list push and its reply"] = "\n".join(lines)
    return out, push[4] and reply[4]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--live-minutes", type=float, default=10, help="live: minutes of arrivals (default 10)"
    )
    parser.add_argument(
        "--live-per-minute", type=float, default=6, help="live: arrivals per minute (default 6)"
    )
    parser.add_argument(
        "--live-interval", type=int, default=30, help="live: LIGHTSMS_LIVE_INTERVAL_SECONDS (default 30)"
    )
    parser.add_argument(
        "--live-quiet-minutes",
        type=float,
        default=2,
        help="live: minutes of no arrivals for the CPU (default 2)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    out, ok = run(args.live_minutes, args.live_per_minute, args.live_interval, args.live_quiet_minutes)
    print(out.markdown())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
