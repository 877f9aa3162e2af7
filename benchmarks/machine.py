"""What the figures were measured on: cores, CPU model, versions, load, and the exact command."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata


@dataclass(frozen=True)
class Machine:
    when: str
    cores: int
    cpu: str
    memory_gb: float
    python: str
    pyarrow: str
    dagster: str
    load_average: str
    command: str

    def markdown(self) -> str:
        return "\n".join(
            [
                f"- date: {self.when}",
                f"- machine: {self.cores} cores ({self.cpu}), {self.memory_gb:.0f} GiB RAM",
                f"- Python {self.python}, pyarrow {self.pyarrow}, dagster {self.dagster}",
                f"- load average when the run started (1, 5, 15 min): {self.load_average}",
                f"- command: `{self.command}`",
            ]
        )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return 0.0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def describe(argv: list[str]) -> Machine:
    return Machine(
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cores=os.cpu_count() or 0,
        cpu=_cpu_model(),
        memory_gb=_memory_gb(),
        python=platform.python_version(),
        pyarrow=_version("pyarrow"),
        dagster=_version("dagster"),
        load_average=load_average(),
        command=shlex.join([sys.executable, *argv]),
    )
