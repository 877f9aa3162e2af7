"""lightsms-pipeline: LightSMS incoming SMS to exact Parquet datasets, as Dagster assets."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

# One source of the version: pyproject.toml, as the installed package's metadata carries it.
__version__ = version("lightsms-pipeline")

# `type: lightsms_pipeline.LightSMSComponent` in a user's defs.yaml, and `dg list components`
# (which lists this module's `dir()`), find the component here; it is imported on first use
# only, because `import lightsms_pipeline` must not import Dagster (tests/test_layers.py).
_LAZY = {"LightSMSComponent": "lightsms_pipeline.component"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
