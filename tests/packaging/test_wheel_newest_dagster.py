"""The newest end of the Dagster range: a project that already has the newest Dagster on PyPI
installs the wheel (no extras), keeps its Dagster, and materializes a day from the simulator.
No extra is installed, so this is also the core-only install: no chart, no UI, no S3, no
PostgreSQL, and the pipeline still runs."""

from __future__ import annotations

import re

import pytest
from conftest import API_KEY, JAN_15, LOGIN
from wheel_venvs import REPO, Venv, dists

from lightsms_pipeline.contract import POLL_CHART_PNG
from lightsms_pipeline.presentation.chart import CHART_NOT_DRAWN

__all__ = ["dists"]


def newest_on_pypi(venv: Venv, package: str) -> str:
    done = venv.run([str(venv.bin("python")), "-m", "pip", "index", "versions", package])
    assert done.returncode == 0, done.stderr
    match = re.search(rf"^{package} \(([^)]+)\)", done.stdout, flags=re.M)
    assert match, done.stdout
    return match.group(1)


@pytest.mark.slow
def test_the_wheel_keeps_the_newest_dagster_and_materializes_a_day_without_extras(
    dists, simulator, traffic, tmp_path
):
    venv = Venv.create(tmp_path / "venv")
    venv.pip_install("dagster")  # never constrained: whatever PyPI has newest
    dagster = venv.version("dagster")
    assert dagster == newest_on_pypi(venv, "dagster")

    venv.pip_install(str(dists.wheel))

    assert venv.version("dagster") == dagster
    extras = ["matplotlib", "s3fs", "dagster-webserver", "dagster-postgres"]
    assert {name: venv.version(name) for name in extras} == dict.fromkeys(extras)

    report, data, work = venv.materialize_simulated_day(
        simulator, traffic, JAN_15, tmp_path, dagster, login=LOGIN, api_key=API_KEY
    )
    # The declared polls are counted; their picture is skipped, and says why.
    assert report["chart"] == {"kind": "TextMetadataValue", "text": CHART_NOT_DRAWN}
    assert list(data.rglob(POLL_CHART_PNG)) == []

    # A command that needs an extra says which; the docs the messages cite are installed.
    cli = str(venv.bin("lightsms-pipeline"))
    dev = venv.run([cli, "dev", "--port", "1", "--simulator-port", "0"], cwd=work)
    assert dev.returncode == 1
    assert "pip install 'lightsms-pipeline[webserver]'" in dev.stderr
    docs = venv.run([cli, "docs", "rules"], cwd=work)
    assert docs.stdout == (REPO / "docs" / "rules.md").read_text(encoding="utf-8"), docs.stderr
