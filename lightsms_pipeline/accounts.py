"""Several LightSMS accounts in one deployment: the accounts file, read and validated once.

`LIGHTSMS_ACCOUNTS_FILE` names a YAML file listing the accounts; without it the deployment is
today's single account (`LIGHTSMS_LOGIN` / `LIGHTSMS_API_KEY`). The file holds the NAME of the
variable with each key, never a key, so it can be committed and reviewed like the rules file.

A file that cannot work (not YAML, unknown keys, a bad slug, time zone or date, a duplicate name
or login, no account) is refused when the code location loads, with the file, the place (the
account's index, name and line) and the fix. A key variable that is unset is NOT refused here: it
is one account's problem, so `lightsms-pipeline check` reports it and that account's runs fail
naming the account and the variable, while the other accounts keep running.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lightsms_pipeline.contract import (
    ACCOUNT_NAME_PATTERN,
    PARTITION_DATE_FORMAT,
    account_data_dir,
    is_iana_zone,
)
from lightsms_pipeline.errors import ConfigurationError, describe_yaml_error
from lightsms_pipeline.settings import API_KEY_VARIABLE, ENV_PREFIX, Settings

_VARIABLE_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"


class AccountsFileError(ConfigurationError):
    """The accounts file is missing, not YAML, or breaks a rule; one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {problem}" for problem in problems))


class AccountEntry(BaseModel):
    """One account as written in the file; the optional fields default to the global settings."""

    # `login: 12345` is a login, not a number
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    name: str = Field(pattern=f"^{ACCOUNT_NAME_PATTERN}$")
    login: str = Field(min_length=1)
    api_key_env: str = Field(pattern=f"^{_VARIABLE_PATTERN}$")
    timezone: str | None = None
    start_date: str | None = None
    rules: str | None = None

    @field_validator("api_key_env")
    @classmethod
    def _not_a_setting(cls, value: str) -> str:
        # Settings.from_env refuses unknown LIGHTSMS_* names (a typo must not fall back to a
        # default), so an account's key cannot hide among them.
        if value.startswith(ENV_PREFIX) and value != API_KEY_VARIABLE:
            raise ValueError(
                f"{value!r} starts with {ENV_PREFIX}, which is reserved for settings; "
                "name the variable e.g. ACME_LIGHTSMS_API_KEY"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str | None) -> str | None:
        if value is not None and not is_iana_zone(value):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Vilnius)")
        return value

    @field_validator("start_date")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return date.fromisoformat(value).strftime(PARTITION_DATE_FORMAT)
        except ValueError:
            raise ValueError(f"{value!r} is not a date written YYYY-MM-DD") from None


class AccountsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    accounts: list[AccountEntry] = Field(min_length=1)


@dataclass(frozen=True)
class Account:
    """One account as the pipeline runs it: its entry and its effective settings (the global
    ones with the account's time zone, start date, rules file and data root)."""

    name: str
    login: str
    api_key_env: str
    settings: Settings

    def key_is_set(self, environ: Mapping[str, str]) -> bool:
        return bool(environ.get(self.api_key_env, ""))


_FIXES = {
    "name": f"a slug: a lowercase letter, then lowercase letters, digits or _ ({ACCOUNT_NAME_PATTERN})",
    "login": "the account's LightSMS login",
    "api_key_env": "the NAME of the environment variable holding the key (the key itself never goes here)",
}


def load_accounts(path: str | os.PathLike[str], settings: Settings) -> list[Account]:
    """The accounts of the file at `path`, each with its effective settings; `AccountsFileError`
    names the file, the place and the fix of every problem found."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AccountsFileError(source, ["file not found (LIGHTSMS_ACCOUNTS_FILE)"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise AccountsFileError(source, [f"cannot read the file: {error}"]) from None
    data, lines = _parse(text, source)
    if not isinstance(data, Mapping) or "accounts" not in data:
        raise AccountsFileError(
            source,
            ["the top level must be a mapping with an `accounts:` list (see docs/accounts.md)"],
        )
    return accounts_from_data(data, settings, source=source, base=Path(source).parent, lines=lines)


def accounts_from_data(
    data: Mapping[str, Any], settings: Settings, *, source: str, base: Path, lines: list[int] | None = None
) -> list[Account]:
    """The accounts of `data` (`{"accounts": [...]}`, as parsed from an accounts file or a
    component's `defs.yaml`), with the file's validation and messages; `source` names where they
    were written, `base` is the folder their relative `rules:` paths start from, and `lines`
    the line of each entry, when known."""
    lines = lines or []
    try:
        parsed = AccountsFile.model_validate(data)
    except pydantic.ValidationError as error:
        raise AccountsFileError(
            source, [_describe(e, data, lines) for e in error.errors(include_url=False)]
        ) from None
    _refuse_duplicates(parsed.accounts, source, lines)
    return [_account(entry, settings, base) for entry in parsed.accounts]


def _account(entry: AccountEntry, settings: Settings, base: Path) -> Account:
    rules = entry.rules if entry.rules is None or os.path.isabs(entry.rules) else str(base / entry.rules)
    overrides: dict[str, Any] = {"data_dir": account_data_dir(settings.data_dir, entry.name)}
    if entry.timezone is not None:
        overrides["timezone"] = entry.timezone
    if entry.start_date is not None:
        overrides["start_date"] = entry.start_date
    if rules is not None:
        overrides["rules_file"] = rules
    return Account(entry.name, entry.login, entry.api_key_env, settings.replace(**overrides))


class _AccountsLoader(yaml.SafeLoader):
    """Safe YAML where an unquoted date stays text: the validator reads it (and words a bad one)."""


_AccountsLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse(text: str, source: str) -> tuple[Any, list[int]]:
    """The YAML's data, and the line of each item of its `accounts` list (for the messages)."""
    try:
        node = yaml.compose(text, Loader=_AccountsLoader)
        data = yaml.load(text, Loader=_AccountsLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as error:
        raise AccountsFileError(source, [describe_yaml_error(error)]) from None
    lines: list[int] = []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "accounts" and isinstance(value, yaml.SequenceNode):
                lines = [item.start_mark.line + 1 for item in value.value]
    return data, lines


def _place(index: int, data: Any, lines: list[int]) -> str:
    """`accounts[1] (beta, line 7)`: the index, the account's name when it has one, the line."""
    details = []
    try:
        name = data["accounts"][index].get("name")
    except (KeyError, IndexError, TypeError, AttributeError):
        name = None
    if isinstance(name, str) and name:
        details.append(repr(name))
    if index < len(lines):
        details.append(f"line {lines[index]}")
    return f"accounts[{index}]" + (f" ({', '.join(details)})" if details else "")


def _describe(error: Mapping[str, Any], data: Any, lines: list[int]) -> str:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    if len(loc) < 2 or not isinstance(loc[1], int):
        if kind == "too_short":
            return "accounts: the list is empty; list at least one account (name, login, api_key_env)"
        if kind == "extra_forbidden":
            return f"unknown top-level key {loc[-1]!r}; the file holds only `accounts:`"
        return f"{'.'.join(map(str, loc)) or 'top level'}: {message}"
    place = _place(loc[1], data, lines)
    if len(loc) == 2:
        return f"{place}: each account is a mapping with name, login and api_key_env"
    field = str(loc[2])
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(field, list(AccountEntry.model_fields), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(AccountEntry.model_fields)}"
        return f"{place}: unknown key {field!r} ({hint})"
    if kind == "missing":
        return f"{place}: {field} is missing; give {_FIXES.get(field, 'a value')}"
    if kind == "string_pattern_mismatch" and field == "api_key_env":
        # Never echoed: the likeliest mistake here is the key itself pasted instead of its name.
        return f"{place}: api_key_env is not a variable name (the value is not shown); give {_FIXES[field]}"
    if kind == "string_pattern_mismatch":
        return f"{place}: {field}={error['input']!r} is not valid; give {_FIXES.get(field, 'a valid value')}"
    return f"{place}: {field}: {message}"


def _refuse_duplicates(entries: list[AccountEntry], source: str, lines: list[int]) -> None:
    problems: list[str] = []
    for attribute, what in (("name", "name"), ("login", "login")):
        first: dict[str, int] = {}
        for index, entry in enumerate(entries):
            value = getattr(entry, attribute)
            if value in first:
                problems.append(
                    f"accounts[{index}] (line {lines[index] if index < len(lines) else '?'}): duplicate "
                    f"{what} {value!r}, already used by accounts[{first[value]}]; each account needs its "
                    f"own {what}"
                    + (" (one login is one account: list it once)" if attribute == "login" else "")
                )
            else:
                first[value] = index
    if problems:
        raise AccountsFileError(source, problems)


def missing_key_variables(accounts: list[Account], environ: Mapping[str, str]) -> list[Account]:
    """The accounts whose key variable is unset or empty (`check` refuses them)."""
    return [a for a in accounts if not a.key_is_set(environ)]


__all__ = [
    "Account",
    "AccountEntry",
    "AccountsFileError",
    "accounts_from_data",
    "load_accounts",
    "missing_key_variables",
]
