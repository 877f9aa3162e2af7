"""Run inside a test virtualenv (not collected by pytest): what a user of the installed wheel does.

Loads `lightsms_pipeline.definitions:defs` from the virtualenv's site-packages (the test starts
it without PYTHONPATH, in a folder without the repository), materializes the main job for one day
against the simulator named by the LIGHTSMS_* variables, on an instance configured with the
package's own local instance file, and prints one JSON line for the test to check.

usage: python venv_materialize_day.py DAY DAGSTER_HOME
"""

from __future__ import annotations

import json
import sys
import warnings
from datetime import date
from importlib import metadata
from pathlib import Path

warnings.filterwarnings("ignore")  # Dagster's beta/preview notices


def main(day: date, home: Path) -> dict[str, object]:
    from dagster import AssetKey, DagsterInstance

    import lightsms_pipeline
    from lightsms_pipeline.assets.schedules import range_run_request
    from lightsms_pipeline.cli.demo import ensure_instance_config
    from lightsms_pipeline.contract import MAIN_JOB, POLL_RESULTS
    from lightsms_pipeline.definitions import defs

    ensure_instance_config(home)  # the wheel's cli/dagster.local.yaml
    job = defs.resolve_job_def(MAIN_JOB)
    with DagsterInstance.from_config(str(home)) as instance:
        result = job.execute_in_process(
            instance=instance, tags=range_run_request(day, day, run_key="wheel").tags, raise_on_error=False
        )
        polls = instance.get_latest_materialization_event(AssetKey(POLL_RESULTS))
    chart = None
    if polls is not None and polls.asset_materialization is not None:
        value = polls.asset_materialization.metadata.get("chart")
        if value is not None:
            chart = {"kind": type(value).__name__, "text": str(getattr(value, "value", ""))[:300]}
    return {
        "package_file": lightsms_pipeline.__file__,
        "dagster_version": metadata.version("dagster"),
        "instance_class": type(instance).__name__,
        "success": result.success,
        "failures": [str(e.message) for e in result.all_events if e.is_failure],
        "chart": chart,
    }


if __name__ == "__main__":
    print(json.dumps(main(date.fromisoformat(sys.argv[1]), Path(sys.argv[2]))))
