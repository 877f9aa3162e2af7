"""Only Dagster's public API: no private `dagster` module (a name after `dagster.` that starts
with an underscore) in the package, the tests or pyproject.toml.

Code that must extend Dagster's instance itself may live in `lightsms_pipeline/dagster_ext/`,
pinned by `tests/test_dagster_ext*.py`; nowhere else, so an upgrade breaks in one known place.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Spelt in two parts so that this file, which must name the pattern, does not match it.
PRIVATE = re.compile(r"\bdagster" + r"\._")
ALLOWED = (ROOT / "lightsms_pipeline" / "dagster_ext",)


def scanned_files() -> list[Path]:
    files = [*ROOT.joinpath("lightsms_pipeline").rglob("*.py"), *ROOT.joinpath("tests").rglob("*.py")]
    files.append(ROOT / "pyproject.toml")
    return [
        f
        for f in files
        if not any(f.is_relative_to(a) for a in ALLOWED) and not f.name.startswith("test_dagster_ext")
    ]


def test_no_private_dagster_name_outside_the_extension_package() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in scanned_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert offenders == []


def test_the_scan_sees_the_package_and_would_catch_an_import() -> None:
    assert len(scanned_files()) > 50
    assert PRIVATE.search("from dagster" + "._core.storage.tags import X")
    assert not PRIVATE.search("from dagster import BetaWarning")
