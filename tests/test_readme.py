"""The README's reading snippets (pandas, pyarrow, DuckDB) run as written on real output."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(section: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)


def test_readme_starts_with_the_two_commands():
    head = README.read_text(encoding="utf-8").splitlines()[:40]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)


@pytest.mark.slow
def test_reading_snippets_work_on_a_materialized_week(pipeline, data_dir, monkeypatch, capsys):
    assert pipeline.materialize(date(2025, 1, 14), date(2025, 1, 16), assets=None).success
    monkeypatch.chdir(data_dir.parent)
    (code,) = python_blocks("Reading the data")
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert len(namespace["df"]) > 0 and "date" in namespace["df"].columns  # type: ignore[union-attr]
    assert namespace["t"].num_rows > 0  # type: ignore[union-attr]
    assert len(namespace["stops"]) > 0  # type: ignore[arg-type]
    assert "2025-01-16" in capsys.readouterr().out  # DuckDB printed its per-day table


def test_configuration_snippet_builds_the_code_location_from_a_settings_object():
    (code,) = python_blocks("Configuration")
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    defs = namespace["defs"]
    assert defs.resources["dataset"].data_dir == "s3://bucket/lightsms"  # type: ignore[attr-defined]
    assert defs.resolve_assets_def("incoming_messages").partitions_def.timezone == "Europe/Riga"  # type: ignore[attr-defined]
