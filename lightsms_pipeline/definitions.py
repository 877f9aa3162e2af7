"""The Dagster code location (`dagster dev -w workspace.yaml` loads `defs`): the definitions of
the `LIGHTSMS_*` variables, built on import. The wiring itself is in `wiring.py`."""

from __future__ import annotations

from lightsms_pipeline.settings import Settings
from lightsms_pipeline.wiring import account_definitions, build_definitions, several_accounts, single_account

__all__ = ["account_definitions", "build_definitions", "defs", "several_accounts", "single_account"]

defs = build_definitions(Settings.from_env())
