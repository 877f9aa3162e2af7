"""The house's folders import in the data's direction only: api -> normalize -> storage <- ingest
-> rules -> datasets -> assets -> definitions. A pure core decides without Dagster, and the
simulator stands beside the data path, never inside it (README "The house")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lightsms_pipeline"
SHARED = {"contract", "errors"}  # names and the error hierarchy: every folder may use them
# What each folder of the data path may import from the package, besides itself and SHARED.
MAY_IMPORT = {
    "api": set(),
    "normalize": {"api"},
    "storage": set(),
    "ingest": {"api", "normalize", "storage"},
    "rules": {"normalize"},
    "datasets": {"api", "normalize", "storage", "rules", "presentation"},
}
WITHOUT_DAGSTER = set(MAY_IMPORT)


def imports(path: Path) -> set[str]:
    """Top-level names imported by one module: `lightsms_pipeline.<name>` as `<name>`, others whole."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else []
        )
        for name in names:
            parts = name.split(".")
            found.add(parts[1] if parts[0] == "lightsms_pipeline" and len(parts) > 1 else parts[0])
    return found


def modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", sorted(MAY_IMPORT))
def test_a_folder_of_the_data_path_imports_only_what_comes_before_it(folder: str):
    allowed = MAY_IMPORT[folder] | SHARED | {folder}
    package_folders = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    wrong = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in modules(folder)
        for name in imports(path) & package_folders
        if name not in allowed
    }
    assert wrong == set()


@pytest.mark.parametrize("folder", sorted(WITHOUT_DAGSTER))
def test_the_core_decides_without_dagster(folder: str):
    assert [str(p.relative_to(PACKAGE)) for p in modules(folder) if "dagster" in imports(p)] == []


def test_only_the_cli_and_the_simulator_itself_import_the_simulator():
    outside = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if "simulator" in imports(p) and p.relative_to(PACKAGE).parts[0] not in ("simulator", "cli")
    ]
    assert outside == []


def test_the_scan_sees_imports_of_every_form():
    assert {"api", "normalize", "storage"} <= imports(PACKAGE / "ingest" / "engine.py")
    assert "dagster" in imports(PACKAGE / "assets" / "incoming.py")
    assert "simulator" in imports(PACKAGE / "cli" / "demo.py")
