"""The package as a user gets it: a wheel and an sdist built once per test session, and fresh
virtualenvs that install them with pip (from PyPI, through pip's own cache).

The distributions are built once for all xdist workers (under a lock in the folder they share),
so the slow tests that install them need not share a worker: each virtualenv is its own.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from lightsms_pipeline.contract import INCOMING
from lightsms_pipeline.dagster_ext import VERIFIED_DAGSTER

REPO = Path(__file__).resolve().parents[2]
DAY_SCRIPT = Path(__file__).with_name("venv_materialize_day.py")
# What the wheel must carry for an installed package to work, as paths inside it.
PACKAGE_DATA = (
    "lightsms_pipeline/py.typed",
    "lightsms_pipeline/rules/defaults.yaml",
    "lightsms_pipeline/cli/dagster.local.yaml",
    *(f"lightsms_pipeline/docs/{p.name}" for p in sorted((REPO / "docs").glob("*.md"))),
)
BATCH_FELL_BACK = "Falling back to storing multiple single-event storage requests"
# The instance extension's one warning on a Dagster it was not verified with (dagster_ext/).
EXT_UNVERIFIED = "lightsms_pipeline.dagster_ext was verified with Dagster"
PIP_SECONDS = 300
# What a distribution is built from (MANIFEST.in and the package data name nothing else). A copy
# of only these: the tests would carry the test API key into the temporary folders, and a build's
# leftovers (*.egg-info, build/) would be read back by setuptools.
SOURCE = (
    "pyproject.toml",
    "README.md",
    "MANIFEST.in",
    "constraints.txt",
    "lightsms_pipeline",
    "docs",
    "deploy",
)


@dataclass(frozen=True)
class Dists:
    """`wheel` built from `sdist` (what pip does with an sdist), and `tree_wheel` from the tree."""

    sdist: Path
    wheel: Path
    tree_wheel: Path

    def wheel_names(self, wheel: Path) -> set[str]:
        with zipfile.ZipFile(wheel) as zf:
            return set(zf.namelist())

    def sdist_names(self) -> set[str]:
        with tarfile.open(self.sdist) as tf:
            return {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """`python -m build` of the repository: the sdist, then the wheel built from that sdist; and a
    wheel built from the tree directly. Once per session, whichever worker asks first."""
    out = shared_folder(tmp_path_factory) / "dists"
    with open(shared_folder(tmp_path_factory) / "dists.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "done").exists():
            # From a copy of the sources alone: setuptools reads an old *.egg-info/SOURCES.txt
            # back, so files dropped from the package data would still ship.
            source = shared_folder(tmp_path_factory) / "source"
            shutil.rmtree(source, ignore_errors=True)
            source.mkdir()
            for name in SOURCE:
                if (REPO / name).is_dir():
                    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
                    shutil.copytree(REPO / name, source / name, symlinks=True, ignore=skip)
                else:
                    shutil.copy2(REPO / name, source / name)
            build = [sys.executable, "-m", "build", str(source)]
            subprocess.run([*build, "--outdir", str(out)], check=True, capture_output=True, env=clean_env())
            tree = out / "from-tree"
            subprocess.run(
                [*build, "--wheel", "--outdir", str(tree)], check=True, capture_output=True, env=clean_env()
            )
            (out / "done").touch()
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    (tree_wheel,) = (out / "from-tree").glob("*.whl")
    return Dists(sdist, wheel, tree_wheel)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without PYTHONPATH (the tests run with the repository on it: a child on
    it would import the repository's package instead of the installed one) and pip's noise."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def lowest_dagster() -> str:
    """The lower end of pyproject.toml's `dagster>=…` range: the release the oldest-end test installs."""
    with open(REPO / "pyproject.toml", "rb") as fh:
        deps = tomllib.load(fh)["project"]["dependencies"]
    (spec,) = [d for d in deps if d.startswith("dagster>=")]
    return spec.removeprefix("dagster>=").split(",")[0]


def constraints_without_dagster(folder: Path) -> Path:
    """constraints.txt without the Dagster packages: the versions `make test` uses for the rest
    (pip's cache has them), while Dagster itself is what the test chose."""
    lines = (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines()
    path = folder / "constraints-no-dagster.txt"
    path.write_text("\n".join(line for line in lines if not line.startswith("dagster")) + "\n")
    return path


@dataclass(frozen=True)
class Venv:
    root: Path

    @classmethod
    def create(cls, root: Path) -> Venv:
        # The base interpreter, not this virtualenv's packages (no --system-site-packages).
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        return cls(root)

    def bin(self, name: str) -> Path:
        return self.root / "bin" / name

    def pip_install(self, *args: str) -> None:
        # --no-compile: pip would byte-compile all of Dagster (~15 s); imports compile what they use.
        cmd = [str(self.bin("python")), "-m", "pip", "install", "-q", "--no-compile", *args]
        done = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), timeout=PIP_SECONDS)
        assert done.returncode == 0, done.stderr[-3000:]

    def version(self, package: str) -> str | None:
        code = (
            "import importlib.metadata as m, sys\n"
            "try: print(m.version(sys.argv[1]))\n"
            "except m.PackageNotFoundError: print('')"
        )
        out = self.run([str(self.bin("python")), "-c", code, package]).stdout.strip()
        return out or None

    def run(
        self, cmd: Sequence[str], cwd: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(cmd), capture_output=True, text=True, cwd=cwd, env=clean_env(**env), timeout=180
        )

    def materialize_day(self, day: date, cwd: Path, **env: str) -> dict[str, object]:
        """The main job over `day` in this virtualenv (venv_materialize_day.py), from `cwd`."""
        home = cwd / "dagster_home"
        done = self.run(
            [str(self.bin("python")), str(DAY_SCRIPT), day.isoformat(), str(home)], cwd=cwd, **env
        )
        assert done.returncode == 0, done.stderr[-3000:]
        # Dagster's words when the instance extension's batch write failed (an API it calls is
        # missing in this Dagster): the run still succeeds, one write per event, so look for them.
        assert BATCH_FELL_BACK not in done.stderr, done.stderr[-3000:]
        report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        report["ext_warnings"] = done.stderr.count(EXT_UNVERIFIED)
        assert str(report["package_file"]).startswith(str(self.root)), report  # the installed wheel
        return report

    def materialize_simulated_day(
        self, simulator: Any, traffic: Any, day: date, root: Path, dagster: str, *, login: str, api_key: str
    ) -> tuple[dict[str, object], Path, Path]:
        """`day` from `simulator` materialized in this virtualenv as a user would, and checked as
        at either end of the Dagster range: the run succeeded on `dagster`, on the wheel's local
        instance, with the instance extension's one warning where `dagster` is not the version
        it was verified with, and the day's file holds `traffic`'s messages of the day. Returns
        the run's report, the data folder and the working folder."""
        work, data = root / "work", root / "data"
        work.mkdir()
        env = simulator_env(
            simulator.base_url, login, api_key, data, LIGHTSMS_RULES_FILE=str(REPO / "rules.yaml")
        )
        report = self.materialize_day(day, work, **env)
        assert report["success"], report["failures"]
        assert report["dagster_version"] == dagster
        assert report["instance_class"] == "BatchingInstance"  # the wheel's dagster.local.yaml
        # Batching only on the Dagster it was verified with; on any other, one warning, and Dagster's own.
        assert report["ext_warnings"] == (0 if dagster in VERIFIED_DAGSTER else 1)
        table = pq.read_table(day_file(data, INCOMING, day))
        assert sorted(table["id_sms"].to_pylist()) == sorted(m.id_sms for m in traffic.day(day))
        return report, data, work


def day_file(data_dir: Path, asset: str, day: date) -> Path:
    (found,) = data_dir.rglob(f"{asset}/date={day.isoformat()}/part-0.parquet")
    return found


def simulator_env(base_url: str, login: str, api_key: str, data_dir: Path, **more: str) -> dict[str, str]:
    """The variables a user sets to point the installed pipeline at the simulator."""
    return {
        "LIGHTSMS_BASE_URL": base_url,
        "LIGHTSMS_LOGIN": login,
        "LIGHTSMS_API_KEY": api_key,
        "LIGHTSMS_DATA_DIR": str(data_dir),
        "LIGHTSMS_START_DATE": "2024-10-01",
        **more,
    }
