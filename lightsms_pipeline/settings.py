"""The pipeline's settings, read from `LIGHTSMS_*` environment variables in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lightsms_pipeline.contract import DEFAULT_BASE_URL, DEFAULT_TIMEZONE
from lightsms_pipeline.errors import ConfigurationError

DEFAULT_RULES_FILE = "rules.yaml"


@dataclass(frozen=True)
class Settings:
    """Everything configurable but the secrets (login and key reach Dagster through `EnvVar`)."""

    base_url: str = DEFAULT_BASE_URL
    data_dir: str = "data"
    timezone: str = DEFAULT_TIMEZONE
    start_date: str = "2025-01-01"
    rules_file: str = ""
    response_format: str = "json"
    parallelism: int = 8
    lookback_days: int = 2
    daily_cron: str = "15 0 * * *"
    intraday_cron: str = "0 * * * *"
    max_attempts: int = 6
    run_retries: int = 2
    run_retry_delay_seconds: float = 20.0
    timeout_seconds: float = 30.0
    sender_hash_salt: str = field(default="", repr=False)

    def rules_path(self) -> str | None:
        """The rules file: `LIGHTSMS_RULES_FILE`, else `./rules.yaml` when present, else none
        (the packaged defaults alone)."""
        if self.rules_file:
            return self.rules_file
        return DEFAULT_RULES_FILE if os.path.exists(DEFAULT_RULES_FILE) else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"LIGHTSMS_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = _convert(f.default, raw)
            except ValueError:
                raise ConfigurationError(
                    f"LIGHTSMS_{f.name.upper()}={raw!r} is not a valid {type(f.default).__name__}"
                ) from None
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a directory
            raise ConfigurationError(
                f"LIGHTSMS_TIMEZONE={self.timezone!r} is not an IANA time zone"
            ) from None
        try:
            date.fromisoformat(self.start_date)
        except ValueError:
            raise ConfigurationError(f"LIGHTSMS_START_DATE={self.start_date!r} is not YYYY-MM-DD") from None
        if self.response_format not in ("json", "xml"):
            raise ConfigurationError(
                f"LIGHTSMS_RESPONSE_FORMAT must be json or xml, not {self.response_format!r}"
            )
        if not 1 <= self.parallelism <= 64:
            raise ConfigurationError(f"LIGHTSMS_PARALLELISM must be 1..64, not {self.parallelism}")
        if self.lookback_days < 0:
            raise ConfigurationError("LIGHTSMS_LOOKBACK_DAYS must be >= 0")
        if self.run_retries < 0 or self.run_retry_delay_seconds < 0:
            raise ConfigurationError("LIGHTSMS_RUN_RETRIES and LIGHTSMS_RUN_RETRY_DELAY_SECONDS must be >= 0")
        if self.max_attempts < 1:
            raise ConfigurationError("LIGHTSMS_MAX_ATTEMPTS must be >= 1")


def _convert(default: object, raw: str) -> object:
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw
