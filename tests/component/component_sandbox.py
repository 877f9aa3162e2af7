"""A user's Dagster project in a temporary folder, with one `defs.yaml` of `LightSMSComponent`,
loaded by Dagster's own component test utilities (`dagster.components.testing`), as `dg` and
`dagster dev` load a project's defs folder.

Imported by the tests of this folder by its bare name (not a conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import Definitions
from dagster.components.testing import create_defs_folder_sandbox

from lightsms_pipeline.component import LightSMSComponent

TYPE_LINE = "type: lightsms_pipeline.LightSMSComponent\n"


@contextmanager
def loaded(defs_yaml: str) -> Iterator[tuple[LightSMSComponent, Definitions, Path]]:
    """The component and definitions of `defs_yaml` (the file's text, as a user writes it), and
    the file's path."""
    with create_defs_folder_sandbox() as sandbox:
        folder = sandbox.defs_folder_path / "lightsms"
        folder.mkdir()
        (folder / "defs.yaml").write_text(defs_yaml, encoding="utf-8")
        with sandbox.load_component_and_build_defs(defs_path=folder) as (component, defs):
            assert isinstance(component, LightSMSComponent)
            yield component, defs, folder / "defs.yaml"


def load_error(defs_yaml: str) -> BaseException:
    """The error that stops `defs_yaml` from loading: ours, not Dagster's wrapper around it."""
    try:
        with loaded(defs_yaml):
            pass
    except Exception as error:  # Dagster wraps a component's error in its tree's exception
        cause: BaseException = error
        while cause.__cause__ is not None:
            cause = cause.__cause__
        return cause
    raise AssertionError("the defs.yaml loaded")
