"""`dg`, as a user runs it in their own project, with this package installed in the project's
environment: the component is listed (the entry point), scaffolded, and `dg check defs` loads
it. Each `dg` call starts Python and imports Dagster (about 4-20 s), hence `slow`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from lightsms_pipeline.component import TYPE_NAME

BIN = Path(sys.executable).parent
PROJECT = "sms_project"
PYPROJECT = f"""\
[project]
name = "{PROJECT}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["lightsms-pipeline"]

[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "{PROJECT}"

[tool.dg.cli.telemetry]
enabled = false
"""
# What `dg scaffold project` writes: the code location is the defs folder, loaded by Dagster.
DEFINITIONS = """\
from pathlib import Path

from dagster import definitions, load_from_defs_folder


@definitions
def defs():
    return load_from_defs_folder(path_within_project=Path(__file__).parent)
"""

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's empty Dagster project (as `dg scaffold project` lays it out, without `uv`)."""
    root = tmp_path / "project"
    package = root / "src" / PROJECT
    (package / "defs").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "defs" / "__init__.py").write_text("", encoding="utf-8")
    (package / "definitions.py").write_text(DEFINITIONS, encoding="utf-8")
    return root


def dg(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`dg ARGS` in `project`, with this interpreter's environment as the project's (the
    package's entry point is read from its installed metadata), offline, no LIGHTSMS_* set."""
    home = project / ".dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTSMS_")}
    env.update(
        VIRTUAL_ENV=sys.prefix,
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        DAGSTER_HOME=str(home),
        NO_COLOR="1",
        COLUMNS="200",
    )
    return subprocess.run(
        [str(BIN / "dg"), *args], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_package_registers_its_module_for_dg() -> None:
    registered = {e.name: e.value for e in entry_points(group="dagster_dg_cli.registry_modules")}
    assert registered.get("lightsms_pipeline") == "lightsms_pipeline", (
        "the entry point is read from the installed metadata: reinstall (pip install -e .)"
    )


def test_dg_lists_the_component(project: Path) -> None:
    done = dg(project, "list", "components", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(done.stdout)
    items = listed["items"] if isinstance(listed, dict) else listed
    (ours,) = [item for item in items if item["key"] == TYPE_NAME]
    assert ours["summary"].startswith("LightSMS incoming SMS")


def test_dg_scaffolds_a_defs_yaml_that_dg_check_defs_passes(project: Path) -> None:
    done = dg(project, "scaffold", "defs", TYPE_NAME, "lightsms")
    assert done.returncode == 0, done.stderr[-3000:]
    defs_yaml = project / "src" / PROJECT / "defs" / "lightsms" / "defs.yaml"
    assert f"type: {TYPE_NAME}" in defs_yaml.read_text(encoding="utf-8")
    checked = dg(project, "check", "defs", "--use-active-venv")
    assert checked.returncode == 0, (checked.stdout + checked.stderr)[-3000:]
    assert "All definitions loaded successfully" in checked.stdout


def test_dg_check_defs_names_the_attribute_a_misspelt_one_meant(project: Path) -> None:
    folder = project / "src" / PROJECT / "defs" / "lightsms"
    folder.mkdir()
    (folder / "defs.yaml").write_text(
        f"type: {TYPE_NAME}\nattributes:\n  timezon: Europe/Vilnius\n", encoding="utf-8"
    )
    checked = dg(project, "check", "defs", "--use-active-venv")
    assert checked.returncode == 1
    assert "timezon is not an attribute of lightsms_pipeline.LightSMSComponent (did you mean timezone?)" in (
        checked.stdout + checked.stderr
    )
