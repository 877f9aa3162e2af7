"""A production-shaped Dagster deployment on 127.0.0.1, as deploy/docker-compose.yml runs it.

Three processes with one environment: the gRPC code server (`dagster code-server start`),
`dagster-webserver` and `dagster-daemon run`, all on deploy/dagster.yaml (PostgreSQL storage,
queued runs, the pool limit, run monitoring) and the deployment's Dagster settings from
deploy/dagster.env. Tests talk to it as a user does: GraphQL over HTTP.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from dagster import DagsterInstance
from reliability.materializer import wait_until

from lightsms_pipeline.contract import POOL
from production.postgres_server import PostgresServer, free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
START_TIMEOUT = 120
BIN = Path(sys.executable).parent


def env_file(path: Path = DEPLOY / "dagster.env") -> dict[str, str]:
    """The KEY=VALUE lines of an env file (comments and blanks skipped), as compose reads them."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def dagster_settings() -> dict[str, str]:
    """The Dagster settings deploy/dagster.env exports (event batching and the like); the
    deployment-specific ones (URL, home) are the test's own."""
    return {
        k: v
        for k, v in env_file().items()
        if k.startswith("DAGSTER_") and k not in ("DAGSTER_PG_URL", "DAGSTER_HOME")
    }


class Deployment:
    """The running processes, their logs, and the deployment's instance and GraphQL endpoint."""

    def __init__(self, root: Path, env: dict[str, str], db: PostgresServer) -> None:
        self.root = root
        self.env = env
        self.db = db
        self.home = Path(env["DAGSTER_HOME"])
        self.webserver_port = free_port()
        self.code_port = free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    def start(self) -> None:
        # As the README's deployment steps do: the pool's limit set once, explicitly. Dagster
        # 1.13 applies `default_limit` lazily, and the first dequeue that meets the pool may
        # launch two of its runs at once.
        subprocess.run(
            [str(BIN / "dagster"), "instance", "concurrency", "set", POOL, "1"],
            cwd=REPO, env=self.env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        workspace = self.root / "workspace.yaml"
        workspace.write_text(
            "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
            f"      port: {self.code_port}\n      location_name: lightsms_pipeline\n",
            encoding="utf-8",
        )
        self._spawn(
            "code_server",
            [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(self.code_port),
             "-m", "lightsms_pipeline.definitions"],
        )  # fmt: skip
        self._spawn(
            "webserver",
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(self.webserver_port),
             "-w", str(workspace)],
        )  # fmt: skip
        self._spawn("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)])
        if not wait_until(self._location_loaded, START_TIMEOUT, interval=0.5):
            raise AssertionError("the deployment did not come up\n" + self.logs_tail())

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.root / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def _location_loaded(self) -> bool:
        for name, proc in self.processes.items():
            assert proc.poll() is None, f"{name} exited early\n" + self.logs_tail()
        try:
            data = self.graphql(
                "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus "
                "locationOrLoadError { __typename } } } } }"
            )
        except (requests.RequestException, AssertionError):
            return False
        entries = data["workspaceOrError"].get("locationEntries") or []
        return bool(entries) and all(
            e["loadStatus"] == "LOADED" and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
            for e in entries
        )

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)

    def logs(self) -> dict[str, str]:
        return {p.stem: p.read_text(errors="replace") for p in self.root.glob("*.log")}

    def logs_tail(self, chars: int = 3000) -> str:
        return "\n".join(f"--- {name}\n{text[-chars:]}" for name, text in self.logs().items())

    # --- talking to it ---------------------------------------------------------------------------

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": dict(variables or {})}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return dict(body["data"])

    @contextmanager
    def instance(self) -> Iterator[DagsterInstance]:
        """The deployment's instance, opened in this process (deploy/dagster.yaml reads the URL
        from DAGSTER_PG_URL when the instance is created)."""
        previous = os.environ.get("DAGSTER_PG_URL")
        os.environ["DAGSTER_PG_URL"] = self.db.url
        try:
            with DagsterInstance.from_config(str(self.home)) as instance:
                yield instance
        finally:
            if previous is None:
                os.environ.pop("DAGSTER_PG_URL", None)
            else:
                os.environ["DAGSTER_PG_URL"] = previous


def deployment_env(base_url: str, data_dir: Path, login: str, api_key: str, **more: str) -> dict[str, str]:
    """The LIGHTSMS_* variables of a deployment test against the simulator at `base_url`."""
    return {
        "LIGHTSMS_BASE_URL": base_url,
        "LIGHTSMS_LOGIN": login,
        "LIGHTSMS_API_KEY": api_key,
        "LIGHTSMS_DATA_DIR": str(data_dir),
        "LIGHTSMS_START_DATE": "2024-01-01",
        "LIGHTSMS_PARALLELISM": "4",
        "LIGHTSMS_MAX_ATTEMPTS": "4",
        "LIGHTSMS_TIMEOUT_SECONDS": "5",
        "LIGHTSMS_RUN_RETRIES": "0",
        "LIGHTSMS_RULES_FILE": str(REPO / "rules.yaml"),
        # These tests count the runs and requests of backfills; the live pick-up, on by default,
        # would add its own (tests/cli/test_live_daemon.py tests it with the daemon).
        "LIGHTSMS_LIVE_INTERVAL_SECONDS": "0",
        **more,
    }


def deployment_home(root: Path) -> Path:
    """DAGSTER_HOME holding the deployment's own dagster.yaml, byte for byte."""
    home = root / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    return home


@contextmanager
def running_deployment(
    root: Path, db: PostgresServer, lightsms_env: Mapping[str, str]
) -> Iterator[Deployment]:
    env = {
        **os.environ,
        **dagster_settings(),
        **lightsms_env,
        "DAGSTER_HOME": str(deployment_home(root)),
        "DAGSTER_PG_URL": db.url,
    }
    deployment = Deployment(root, env, db)
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()
