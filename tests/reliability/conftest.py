"""Fixtures of the reliability suites: a summary line per suite, subprocess environments."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SUITE_SUMMARY

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS_DIR = REPO_ROOT / "tests"


class SuiteSummary:
    """Counts one test adds to its suite's summary line; the controller sums them over tests."""

    def __init__(self, suite: str) -> None:
        self.suite = suite
        self.counts: dict[str, int] = {}

    def add(self, label: str, count: int = 1) -> None:
        self.counts[label] = self.counts.get(label, 0) + count

    def ensure(self, *labels: str) -> None:
        """Show `labels` even when nothing was counted (`0 lost` is the point of the line)."""
        for label in labels:
            self.counts.setdefault(label, 0)


@pytest.fixture
def summary(request: pytest.FixtureRequest) -> Iterator[SuiteSummary]:
    recorder = SuiteSummary(request.module.SUITE)
    yield recorder
    request.node.user_properties.append((SUITE_SUMMARY, (recorder.suite, list(recorder.counts.items()))))


@pytest.fixture
def subprocess_env(pipeline_env: dict[str, str]) -> dict[str, str]:
    """`pipeline_env` for a child process: the package and tests/pipeline.py importable."""
    paths = [str(REPO_ROOT), str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]
    return {**pipeline_env, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
