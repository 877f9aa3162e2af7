"""The pipeline's settings: the `LIGHTSMS_*` variables, read and validated once, in this one place.

`Settings.from_env()` is the only reader of the environment. Everything downstream takes a
`Settings` object, so tests, `demo` and `dev` configure a run by building one, never by changing
`os.environ`. The secrets `LIGHTSMS_LOGIN` and `LIGHTSMS_API_KEY` are not settings: they reach
Dagster through `EnvVar`, so Dagster stores the variables' names, never their values.

pydantic does the parsing and validation. pydantic-settings was considered: its sources read
`os.environ` itself, while we need an explicit mapping (a child process's environment, a test's)
and a refusal of misspelt `LIGHTSMS_*` names, which a silent default would turn into data read
in the wrong time zone.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from lightsms_pipeline.contract import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEZONE,
    PARTITION_DATE_FORMAT,
    is_iana_zone,
)
from lightsms_pipeline.errors import ConfigurationError

ENV_PREFIX = "LIGHTSMS_"
DEFAULT_RULES_FILE = "rules.yaml"
LOGIN_VARIABLE = "LIGHTSMS_LOGIN"
API_KEY_VARIABLE = "LIGHTSMS_API_KEY"
# Read by Dagster's EnvVar at run time, not by Settings; known here so they are not "misspelt".
SECRET_VARIABLES = (LOGIN_VARIABLE, API_KEY_VARIABLE)
# Settings that were removed: variable -> (why, what to do). A deployment still setting one is
# told so by name, rather than "not a setting" (which reads as a typo) or silence (which would
# let someone believe a cache of phone numbers is still kept, or off, where they asked).
REMOVED_VARIABLES = {
    "LIGHTSMS_WORKER_PROCESSES": (
        "worker processes measured 0.81x-1.26x the speed of one process at double the memory, so "
        "every run now fetches its days on threads in one process (LIGHTSMS_PARALLELISM)",
        "Unset it.",
    ),
    "LIGHTSMS_CACHE_DIR": (
        "the on-disk sender cache saved 1.17x on a cold micro-benchmark only, and was a second "
        "store of phone numbers that every erasure request had to cover; senders are now parsed "
        "once per run, in memory",
        "Unset it, and delete the folder it named (by default <LIGHTSMS_DATA_DIR>/_cache): it "
        "holds phone numbers.",
    ),
}
REMOVED_IN = "0.2.0"


def variable_name(field_name: str) -> str:
    """`timezone` -> `LIGHTSMS_TIMEZONE`: the one rule from a setting to its variable."""
    return ENV_PREFIX + field_name.upper()


class Settings(BaseModel):
    """Everything configurable but the credentials; each field is `LIGHTSMS_<FIELD>`."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    base_url: str = DEFAULT_BASE_URL
    data_dir: str = "data"
    timezone: str = DEFAULT_TIMEZONE
    start_date: str = "2025-01-01"
    rules_file: str = ""
    response_format: Literal["json", "xml"] = "json"
    parallelism: Annotated[int, Field(ge=1, le=64)] = 8
    lookback_days: Annotated[int, Field(ge=0)] = 2
    daily_cron: str = "15 0 * * *"
    intraday_cron: str = "0 * * * *"
    max_attempts: Annotated[int, Field(ge=1)] = 6
    run_retries: Annotated[int, Field(ge=0)] = 2
    run_retry_delay_seconds: Annotated[float, Field(ge=0)] = 20.0
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    sender_hash_salt: SecretStr = SecretStr("")  # never shown by repr(), str() or an error
    # Pushing opt-outs to LightSMS's stop list changes the real account: a dry run until turned on.
    stop_list_sync: Literal["off", "dry-run", "on"] = "dry-run"
    opt_out_max_delay_hours: Annotated[float, Field(gt=0)] = 24.0
    # Replies are SMS to real people, billed: recorded as a dry run until turned on.
    replies: Literal["off", "dry-run", "on"] = "dry-run"
    # A day whose answer is longer than this (bytes), or that times out or gets HTTP 500/502/504
    # this many times in a row, is fetched in from/to windows instead (client.WindowPolicy).
    window_max_bytes: Annotated[int, Field(ge=1)] = 64 * 1024 * 1024
    window_split_after_attempts: Annotated[int, Field(ge=1)] = 3
    # Consecutive days of a backfill asked for in one from/to request (client.fetch_span); 1 is
    # one request a day. A span that fails or is too large is fetched day by day instead.
    days_per_request: Annotated[int, Field(ge=1, le=31)] = 1
    # Days of a backfill per run (BackfillPolicy.multi_run), so that a run launcher spreads a long
    # backfill over machines; 0: one run per backfill. The pool still bounds the runs at LightSMS.
    backfill_run_days: int = 0
    # Seconds between two looks for new messages while a deployment runs (assets/live.py, a
    # sensor per account); 0: no live pick-up, the intraday schedule alone refreshes today.
    live_interval_seconds: Annotated[int, Field(ge=0)] = 30
    # Several LightSMS accounts (lightsms_pipeline/accounts.py); empty: the one account of
    # LIGHTSMS_LOGIN / LIGHTSMS_API_KEY, with today's asset keys and layout.
    accounts_file: str = ""

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        if not is_iana_zone(value):
            raise ValueError("is not an IANA time zone (e.g. Europe/Vilnius)")
        return value

    @field_validator("start_date")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise ValueError("is not a date written YYYY-MM-DD") from None
        return parsed.strftime(PARTITION_DATE_FORMAT)

    @field_validator("daily_cron", "intraday_cron")
    @classmethod
    def _five_field_cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("is not a cron expression of five fields (e.g. '15 0 * * *')")
        return value

    @field_validator("backfill_run_days")
    @classmethod
    def _days_or_zero(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (a backfill is one run) or the number of days in each of its runs")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def salt(self) -> str:
        """The hash salt's value, for the code that hashes; empty when hashing is off."""
        return self.sender_hash_salt.get_secret_value()

    def rules_path(self) -> str | None:
        """The rules file: `LIGHTSMS_RULES_FILE`, else `./rules.yaml` when present, else none
        (the packaged defaults alone)."""
        if self.rules_file:
            return self.rules_file
        return DEFAULT_RULES_FILE if os.path.exists(DEFAULT_RULES_FILE) else None

    def to_env(self) -> dict[str, str]:
        """The `LIGHTSMS_*` variables that give these settings to a child process (`dagster dev`,
        a test's subprocess), the salt included: hand it only to processes you start."""
        values = self.model_dump()
        values["sender_hash_salt"] = self.salt
        return {variable_name(k): str(v) for k, v in values.items() if v != ""}

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes` applied and validated (a test's or the demo's variant)."""
        return type(self).validated({**self.model_dump(), "sender_hash_salt": self.salt, **changes})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `LIGHTSMS_*` from `environ` (default: this process's environment), once.

        An empty variable counts as unset. A removed setting, even empty (as an unknown name is),
        is refused saying why it went and what to do; an unknown `LIGHTSMS_*` name is refused
        with the nearest known one, so a typo cannot silently fall back to a default.
        """
        env = os.environ if environ is None else environ
        _refuse_removed(key for key in env if key in REMOVED_VARIABLES)
        by_variable = {variable_name(name): name for name in cls.model_fields}
        unknown = [
            key
            for key in env
            if key.startswith(ENV_PREFIX) and key not in by_variable and key not in SECRET_VARIABLES
        ]
        if unknown:
            known = [*by_variable, *SECRET_VARIABLES]
            raise ConfigurationError(
                "; ".join(f"{key} is not a setting{did_you_mean(key, known)}" for key in sorted(unknown))
            )
        values = {name: env[var] for var, name in by_variable.items() if env.get(var, "") != ""}
        return cls.validated(values)

    @classmethod
    def validated(cls, values: Mapping[str, Any]) -> Settings:
        """`Settings(**values)`, with every problem in one `ConfigurationError` that names the
        variable, the value (never the salt's) and what is expected."""
        _refuse_removed(variable_name(name) for name in values if variable_name(name) in REMOVED_VARIABLES)
        try:
            return cls.model_validate(dict(values))
        except pydantic.ValidationError as error:
            raise ConfigurationError("; ".join(_describe(e) for e in error.errors())) from None


def _refuse_removed(variables: Iterable[str]) -> None:
    """Raise a `ConfigurationError` naming each removed variable of `variables`, if any."""
    removed = sorted(variables)
    if removed:
        raise ConfigurationError(
            " ".join(
                f"{key} was removed in {REMOVED_IN}: {REMOVED_VARIABLES[key][0]}. {REMOVED_VARIABLES[key][1]}"
                for key in removed
            )
        )


def did_you_mean(key: str, known: list[str]) -> str:
    """` (did you mean X?)`, or the names known: how a refused setting or attribute ends."""
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(known))})"


def _describe(error: Any) -> str:
    field_name = str(error["loc"][0]) if error["loc"] else "?"
    variable = variable_name(field_name)
    message = str(error["msg"]).removeprefix("Value error, ")
    if field_name == "sender_hash_salt":
        return f"{variable}: {message}"
    return f"{variable}={error['input']!r}: {message}"
