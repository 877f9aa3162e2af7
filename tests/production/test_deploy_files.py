"""deploy/ checked without Docker (no daemon on these machines): the files parse, the commands
they run exist in the installed package, the variables they set are the pipeline's settings, and
deploy/dagster.yaml is a Dagster instance that runs on a real PostgreSQL."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from dagster import DagsterInstance

from lightsms_pipeline.settings import Settings
from production.deployment import DEPLOY, REPO, env_file
from production.postgres_server import PostgresServer, free_port

BIN = Path(sys.executable).parent
SERVICES = {"postgresql", "lightsms_code", "webserver", "daemon"}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


def documented_settings() -> set[str]:
    """The LIGHTSMS_* variables of the README's configuration table."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `(LIGHTSMS_[A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))


def test_every_deploy_yaml_parses_and_compose_runs_the_four_services_of_the_docker_example() -> None:
    for path in DEPLOY.glob("*.y*ml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8")), path
    services = compose()["services"]
    assert set(services) == SERVICES
    commands = {name: service.get("command", []) for name, service in services.items()}
    assert commands["lightsms_code"][:3] == ["dagster", "code-server", "start"]
    assert commands["webserver"][0] == "dagster-webserver"
    assert commands["daemon"][:2] == ["dagster-daemon", "run"]
    for name in SERVICES - {"postgresql"}:
        assert services[name]["env_file"] == "dagster.env", name
        assert services[name]["image"] == services["lightsms_code"]["image"], name
    # The webserver and the daemon load the code from the code server, on its port.
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text(encoding="utf-8"))
    grpc = workspace["load_from"][0]["grpc_server"]
    code_command = commands["lightsms_code"]
    assert grpc["host"] == "lightsms_code" and str(grpc["port"]) == code_command[code_command.index("-p") + 1]
    for name in ("webserver", "daemon"):
        assert commands[name][commands[name].index("-w") + 1] == "/opt/lightsms/deploy/workspace.yaml"


def test_the_image_entry_points_exist_as_installed_console_scripts_and_modules() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, flags=re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert cmd == compose()["services"]["lightsms_code"]["command"]
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE):
        for item in source.split():
            assert (REPO / item).exists(), f"Dockerfile copies {item}, which is not in the repository"
    assert "deploy/workspace.yaml" in dockerfile and "deploy/dagster.yaml" in dockerfile
    commands = [s["command"] for s in compose()["services"].values() if s.get("command")]
    commands = [c for c in commands if c[0].startswith("dagster")]
    assert len(commands) == 3
    for command in commands:
        assert (BIN / command[0]).exists(), command[0]
        if "-m" in command:
            module = command[command.index("-m") + 1]
            assert importlib.util.find_spec(module) is not None, module
    # Each `--help` imports Dagster for a few seconds: the three run side by side.
    helps = [
        subprocess.Popen(
            [str(BIN / c[0]), *[a for a in c[1:3] if not a.startswith("-")], "--help"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in commands
    ]
    for command, process in zip(commands, helps, strict=True):
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, (command, stderr[-2000:])
    helm = yaml.safe_load((DEPLOY / "helm-values.yaml").read_text(encoding="utf-8"))
    deployment = helm["dagster-user-deployments"]["deployments"][0]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[0] == "-m" and importlib.util.find_spec(args[1]) is not None
    assert helm["postgresql"]["enabled"] is False


def test_the_env_names_of_the_deployment_are_the_pipelines_settings() -> None:
    documented = documented_settings()
    assert {"LIGHTSMS_LOGIN", "LIGHTSMS_API_KEY", "LIGHTSMS_DATA_DIR"} <= documented
    env = env_file()
    lightsms = {k for k in env if k.startswith("LIGHTSMS_")}
    assert lightsms <= documented, lightsms - documented
    assert {"LIGHTSMS_LOGIN", "LIGHTSMS_API_KEY"} <= lightsms
    assert env["LIGHTSMS_API_KEY"] == "CHANGE_ME" and env["POSTGRES_PASSWORD"] == "CHANGE_ME"
    Settings.from_env(env)  # the shipped values are valid settings
    helm = yaml.safe_load((DEPLOY / "helm-values.yaml").read_text(encoding="utf-8"))
    helm_names = {e["name"] for e in helm["dagster-user-deployments"]["deployments"][0]["env"]}
    assert {n for n in helm_names if n.startswith("LIGHTSMS_")} <= documented
    # The instance's URL names the database the compose file's PostgreSQL creates.
    url = urlsplit(env["DAGSTER_PG_URL"])
    assert url.scheme == "postgresql+psycopg2"
    assert (url.username, url.password, url.path.lstrip("/")) == (
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
        env["POSTGRES_DB"],
    )
    assert url.hostname == "postgresql" and url.hostname in compose()["services"]


def test_deploy_dagster_yaml_loads_as_a_postgres_instance_with_queue_pool_and_monitoring(
    postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = postgres.with_database("instance_config")
    shutil.copyfile(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_URL", db.url)
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        # dagster-postgres's event log, with the batch writer of lightsms_pipeline/dagster_ext/.
        assert [c.__name__ for c in type(instance.event_log_storage).__mro__[:2]] == [
            "BatchingPostgresEventLogStorage",
            "PostgresEventLogStorage",
        ]
        assert type(instance).__name__ == "BatchingInstance"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_resume_run_attempts == 0
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1 and pools.pool_granularity.value == "run"  # type: ignore[union-attr]
        assert not instance.get_run_records()  # it reads and writes the database
    conn = db.connect()
    with conn.cursor() as cur:
        cur.execute("SHOW timezone")
        assert cur.fetchone()[0] == "UTC"
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'runs'")
        assert cur.fetchone()[0] == 1
    conn.close()


def test_the_local_instance_config_keeps_sqlite_and_the_pool_limit(tmp_path: Path) -> None:
    shutil.copyfile(DEPLOY / "dagster.local.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert type(instance.event_log_storage).__name__ == "BatchingSqliteEventLogStorage"
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1
    assert (tmp_path / "history").is_dir()  # the storage lives in DAGSTER_HOME, not a temp folder


# --- bad input: the instance's database ----------------------------------------------------------


def production_home(home: Path) -> Path:
    """A DAGSTER_HOME holding deploy/dagster.yaml."""
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    return home


def materialize_command() -> list[str]:
    return [
        str(BIN / "dagster"), "asset", "materialize", "-m", "lightsms_pipeline.definitions",
        "--select", "incoming_messages", "--partition", "2025-01-15",
    ]  # fmt: skip


def test_a_bad_instance_database_fails_before_any_partition_naming_what_to_fix(
    postgres: PostgresServer,
    pipeline_env: dict[str, str],
    data_dir: Path,
    tmp_path: Path,
) -> None:
    wrong = "Wr0ng-pa55word-for-the-test"
    env = {k: v for k, v in pipeline_env.items() if k != "DAGSTER_PG_URL"}
    # problem -> (DAGSTER_PG_URL or None for unset, what the output must say)
    problems: dict[str, tuple[str | None, list[str]]] = {
        "wrong password": (
            postgres.url.replace(postgres.password, wrong),
            ['password authentication failed for user "dagster"'],
        ),
        "unreachable server": (
            f"postgresql+psycopg2://dagster:{wrong}@127.0.0.1:{free_port()}/lightsms",
            ["127.0.0.1", "Connection refused"],
        ),
        "unset variable": (None, ["DAGSTER_PG_URL", "not set"]),
    }
    # Side by side: dagster-postgres spends about ten seconds retrying a refused connection,
    # most of it asleep.
    running = {
        problem: subprocess.Popen(
            materialize_command(),
            cwd=REPO,
            env={**env, "DAGSTER_HOME": str(production_home(tmp_path / problem.replace(" ", "_")))}
            | ({} if url is None else {"DAGSTER_PG_URL": url}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for problem, (url, _) in problems.items()
    }
    for problem, process in running.items():
        output, _ = process.communicate(timeout=300)
        assert process.returncode != 0, problem
        for words in problems[problem][1]:
            assert words in output, (problem, output[-3000:])
        assert wrong not in output and postgres.password not in output, problem
    assert not any(p.is_file() for p in data_dir.rglob("*")), "a partition was written"
