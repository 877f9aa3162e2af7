"""The oldest end of the Dagster range: the lowest release pyproject.toml claims, the wheel with
its chart extra, a day materialized from the simulator, and `lightsms-pipeline demo` run from the
installed package (its local instance file comes from the wheel, not a repository).

The lowest release is read from pyproject.toml, so raising the bound moves the test with it."""

from __future__ import annotations

import pytest
from conftest import API_KEY, JAN_15, LOGIN
from wheel_venvs import (
    BATCH_FELL_BACK,
    Venv,
    constraints_without_dagster,
    day_file,
    dists,
    lowest_dagster,
)

from lightsms_pipeline.contract import INCOMING, POLL_CHART_PNG

__all__ = ["dists"]

COMPONENT_SCRIPT = """
from dagster.components.testing import create_defs_folder_sandbox
with create_defs_folder_sandbox() as sandbox:
    folder = sandbox.defs_folder_path / "lightsms"
    folder.mkdir()
    (folder / "defs.yaml").write_text(
        "type: lightsms_pipeline.LightSMSComponent\\nattributes:\\n  timezone: Europe/Riga\\n"
    )
    with sandbox.load_component_and_build_defs(defs_path=folder) as (component, defs):
        keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
        print(component.settings.timezone, "incoming_messages" in keys)
"""


@pytest.mark.slow
def test_the_wheel_on_the_lowest_dagster_claimed_materializes_a_day_and_draws_the_chart(
    dists, simulator, traffic, tmp_path
):
    lowest = lowest_dagster()
    venv = Venv.create(tmp_path / "venv")
    venv.pip_install(f"dagster=={lowest}")
    # The other packages at the versions `make test` uses: pip's cache has them.
    venv.pip_install("-c", str(constraints_without_dagster(tmp_path)), f"{dists.wheel}[chart]")
    assert venv.version("dagster") == lowest

    report, data, work = venv.materialize_simulated_day(
        simulator, traffic, JAN_15, tmp_path, lowest, login=LOGIN, api_key=API_KEY
    )
    assert report["chart"]["kind"] == "MarkdownMetadataValue"
    assert len(list(data.rglob(POLL_CHART_PNG))) == 1

    # The demo from the installed package, in a folder that is not the repository.
    demo_data = tmp_path / "demo-data"
    demo = venv.run(
        [
            str(venv.bin("lightsms-pipeline")),
            "demo",
            "--per-day",
            "20",
            "--start",
            "2025-01-15",
            "--end",
            "2025-01-15",
            "--data-dir",
            str(demo_data),
        ],
        cwd=work,
        DAGSTER_HOME=str(tmp_path / "demo-home"),
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "instance_class" in (tmp_path / "demo-home" / "dagster.yaml").read_text(encoding="utf-8")
    assert BATCH_FELL_BACK not in demo.stderr, demo.stderr[-3000:]
    assert day_file(demo_data, INCOMING, JAN_15).is_file()

    # A user's defs.yaml of LightSMSComponent, loaded by this Dagster's own component utilities.
    component = venv.run([str(venv.bin("python")), "-c", COMPONENT_SCRIPT], cwd=work)
    assert component.returncode == 0, component.stderr[-3000:]
    assert component.stdout.split() == ["Europe/Riga", "True"]
