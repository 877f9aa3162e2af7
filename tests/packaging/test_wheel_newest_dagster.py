"""The newest end of the Dagster range: a project that already has the newest Dagster on PyPI
installs the wheel (no extras), keeps its Dagster, and materializes a day from the simulator.
No extra is installed, so this is also the core-only install: no chart, no UI, no S3, no
PostgreSQL, and the pipeline still runs."""

from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest
from conftest import API_KEY, JAN_15, LOGIN
from wheel_venvs import REPO, Venv, day_file, dists, simulator_env

from lightsms_pipeline.contract import INCOMING, POLL_CHART_PNG
from lightsms_pipeline.dagster_ext import VERIFIED_DAGSTER
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

    work, data = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    env = simulator_env(
        simulator.base_url, LOGIN, API_KEY, data, LIGHTSMS_RULES_FILE=str(REPO / "rules.yaml")
    )
    report = venv.materialize_day(JAN_15, work, **env)

    assert report["success"], report["failures"]
    assert report["dagster_version"] == dagster
    assert report["instance_class"] == "BatchingInstance"  # the wheel's dagster.local.yaml
    # Batching only on the Dagster it was verified with; on any other, one warning, and Dagster's own.
    assert report["ext_warnings"] == (0 if dagster in VERIFIED_DAGSTER else 1)
    table = pq.read_table(day_file(data, INCOMING, JAN_15))
    assert sorted(table["id_sms"].to_pylist()) == sorted(m.id_sms for m in traffic.day(JAN_15))
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
