"""What the wheel and the sdist carry: the rules defaults, `py.typed`, the documents the package's
messages cite, the local instance configuration; and ranges, not pins, in their metadata. The
repository keeps one copy of each document: the package links to it."""

from __future__ import annotations

import os
import zipfile

import pytest
from packaging.requirements import Requirement
from wheel_venvs import PACKAGE_DATA, REPO, dists

__all__ = ["dists"]  # the session fixture, imported for pytest


def test_the_package_links_to_the_single_copy_of_the_docs_and_the_local_instance():
    package = REPO / "lightsms_pipeline"
    assert os.readlink(package / "docs") == "../docs"
    assert os.readlink(package / "cli" / "dagster.local.yaml") == "../../deploy/dagster.local.yaml"


@pytest.mark.slow
@pytest.mark.parametrize("which", ["wheel", "tree_wheel"], ids=["wheel_from_sdist", "wheel_from_tree"])
def test_the_wheel_carries_rules_defaults_typing_marker_cited_docs_and_local_instance(dists, which):
    wheel = getattr(dists, which)
    assert set(PACKAGE_DATA) - dists.wheel_names(wheel) == set()
    with zipfile.ZipFile(wheel) as zf:
        for name in PACKAGE_DATA:
            source = REPO / name
            if name.startswith("lightsms_pipeline/docs/"):
                source = REPO / "docs" / source.name
            elif name.endswith("dagster.local.yaml"):
                source = REPO / "deploy" / "dagster.local.yaml"
            assert zf.read(name) == source.read_bytes(), name


@pytest.mark.slow
def test_the_sdist_carries_what_the_package_links_to(dists):
    names = dists.sdist_names()
    docs = {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}
    assert docs | {"deploy/dagster.local.yaml", "lightsms_pipeline/rules/defaults.yaml"} <= names


@pytest.mark.slow
def test_the_wheel_metadata_asks_for_ranges_never_exact_versions(dists):
    with zipfile.ZipFile(dists.wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        requires = [
            Requirement(line.removeprefix("Requires-Dist:").strip())
            for line in zf.read(meta).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    pinned = [str(r) for r in requires if any(s.operator in ("==", "===") for s in r.specifier)]
    assert pinned == []
    (dagster,) = [r for r in requires if r.name == "dagster"]
    assert {s.operator for s in dagster.specifier} == {">=", "<"}
