"""The rules file: loading, merging over the packaged defaults, and validating it once.

`defaults.yaml` beside this module is the single copy of the default rules (sms-rules.md); a
rules file holds only what it changes. Every problem is reported as a `RulesFileError` naming the
file and the location (`rules.yaml: polls[0].end: ...`), never as a bare pydantic traceback.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import functools
import hashlib
import json
import os
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from lightsms_pipeline.contract import API_DATETIME_FORMAT, DEFAULT_TIMEZONE
from lightsms_pipeline.errors import ConfigurationError
from lightsms_pipeline.rules.text import normalize_text

# The classes of sms-rules §2, in the order they are tried.
OPT_OUT = "opt_out"
POLL_VOTE = "poll_vote"
OPT_IN = "opt_in"
HELP = "help"
OTHER = "other"
MESSAGE_CLASSES = (OPT_OUT, POLL_VOTE, OPT_IN, HELP, OTHER)

WINDOW_FORMAT = API_DATETIME_FORMAT
_WORD_LISTS = (
    "opt_out_words",
    "extra_opt_out_words",
    "opt_in_words",
    "extra_opt_in_words",
    "help_words",
    "extra_help_words",
)
_POLL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_RECEIVING_NUMBER = re.compile(r"^[0-9A-Za-z]+$")


class RulesFileError(ConfigurationError):
    """The rules file is missing, not YAML, or breaks a rule; one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {problem}" for problem in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PollDefaults(_Strict):
    """Settings a poll takes when it does not set them itself."""

    count: Literal["last", "first"]


class Poll(_Strict):
    """A poll: a window (provider-local, inclusive at both ends), options, optional filters."""

    id: str
    question: str
    options: dict[str, str] = Field(min_length=1)
    start: dt.datetime
    end: dt.datetime
    phone: str | None = None
    prefix: str | None = None
    count: Literal["last", "first"]

    @field_validator("id")
    @classmethod
    def _id_is_a_slug(cls, value: str) -> str:
        # Poll ids end up in metadata keys and file names: keep them plain.
        if not _POLL_ID.match(value):
            raise ValueError(
                f"poll id {value!r} must start with a letter or digit and hold only letters, "
                "digits, '.', '_' and '-'"
            )
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse_local_time(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return dt.datetime.strptime(value, WINDOW_FORMAT)
            except ValueError:
                raise ValueError(f"{value!r} is not a provider-local time 'YYYY-MM-DD HH:MM:SS'") from None
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            raise ValueError("give a naive provider-local time, without an offset")
        return value

    @field_validator("end")
    @classmethod
    def _end_not_before_start(cls, end: dt.datetime, info: ValidationInfo) -> dt.datetime:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError(f"end {end} is before start {start}")
        return end

    @field_validator("options")
    @classmethod
    def _options_distinct_after_normalization(cls, options: dict[str, str]) -> dict[str, str]:
        # A reply is matched after normalization, so `A` and `a.` are the same reply: two
        # options that read the same would make a vote ambiguous.
        owner: dict[str, str] = {}
        for key, label in options.items():
            for spelling in (key, label):
                normalized = normalize_text(spelling)
                if not normalized:
                    raise ValueError(f"option {key!r}: {spelling!r} is empty after normalization")
                other = owner.setdefault(normalized, key)
                if other != key:
                    raise ValueError(
                        f"options {other!r} and {key!r} both read {normalized!r} after normalization"
                    )
        return options

    @field_validator("phone", "prefix")
    @classmethod
    def _as_lightsms_reports_it(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The filter is an exact comparison with the `phone`/`prefix` columns, so a `+` or a
        # space would silently never match. `prefix: ""` is allowed: it selects unprefixed mail.
        if value is None or (info.field_name == "prefix" and value == ""):
            return value
        if not _RECEIVING_NUMBER.match(value):
            raise ValueError(
                f"{value!r}: write it as LightSMS reports it, letters and digits only (no '+', no spaces)"
            )
        return value

    def option_lookup(self) -> dict[str, str]:
        """Normalized option key or label -> the option key as declared."""
        lookup: dict[str, str] = {}
        for key, label in self.options.items():
            lookup[normalize_text(key)] = key
            lookup[normalize_text(label)] = key
        return lookup

    def window_end_exclusive(self) -> dt.datetime:
        """`end` is inclusive to the second: a message at 23:59:59.4 is still in."""
        return self.end + dt.timedelta(seconds=1)


class Rules(_Strict):
    """The effective rules: the packaged defaults with a rules file's overrides applied."""

    opt_out_words: list[str]
    extra_opt_out_words: list[str]
    opt_in_words: list[str]
    extra_opt_in_words: list[str]
    help_words: list[str]
    extra_help_words: list[str]
    scope: Literal["account", "per_number"]
    default_region: str
    timezone: str
    poll_defaults: PollDefaults
    polls: list[Poll]

    @model_validator(mode="before")
    @classmethod
    def _apply_poll_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        defaults = data.get("poll_defaults")
        polls = data.get("polls")
        if not isinstance(defaults, Mapping) or not isinstance(polls, list):
            return data
        inherited = {key: defaults[key] for key in PollDefaults.model_fields if key in defaults}
        filled = [{**inherited, **poll} if isinstance(poll, Mapping) else poll for poll in polls]
        return {**data, "polls": filled}

    @field_validator(*_WORD_LISTS, "polls", mode="before")
    @classmethod
    def _null_list(cls, value: object) -> object:
        # `polls:` with nothing under it is YAML's null; read it as the empty list it means.
        return [] if value is None else value

    @field_validator(*_WORD_LISTS)
    @classmethod
    def _words_readable(cls, words: list[str]) -> list[str]:
        for word in words:
            if not normalize_text(word):
                raise ValueError(f"{word!r} is empty after normalization and can never match")
        return words

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region phonenumbers knows (e.g. 'LT')")
        return value

    @field_validator("polls")
    @classmethod
    def _unique_poll_ids(cls, polls: list[Poll]) -> list[Poll]:
        seen: set[str] = set()
        for poll in polls:
            if poll.id in seen:
                raise ValueError(f"poll id {poll.id!r} is declared twice")
            seen.add(poll.id)
        return polls

    @model_validator(mode="after")
    def _keywords_unambiguous(self) -> Rules:
        # Opt-out is mandatory (CTIA/FCC), and one reply must not be two keywords at once.
        if not self.opt_out_words + self.extra_opt_out_words:
            raise ValueError("opt_out_words: at least one opt-out word is required")
        owner: dict[str, str] = {}
        for word_class, words in self._words_by_class():
            for word in words:
                normalized = normalize_text(word)
                other = owner.setdefault(normalized, word_class)
                if other != word_class:
                    raise ValueError(
                        f"{word!r} (read {normalized!r}) is listed as both {other} and {word_class}"
                    )
        return self

    def _words_by_class(self) -> list[tuple[str, list[str]]]:
        return [
            (OPT_OUT, self.opt_out_words + self.extra_opt_out_words),
            (OPT_IN, self.opt_in_words + self.extra_opt_in_words),
            (HELP, self.help_words + self.extra_help_words),
        ]

    def keyword_classes(self) -> dict[str, str]:
        """Normalized keyword -> its class (opt_out, opt_in or help)."""
        return {
            normalize_text(word): word_class for word_class, words in self._words_by_class() for word in words
        }

    def opt_out_keywords(self) -> list[str]:
        """The normalized opt-out words, each once, in declared order."""
        return list(dict.fromkeys(normalize_text(w) for w in self._words_by_class()[0][1]))

    def fingerprint(self) -> str:
        """A stable short hash of the effective rules, for Dagster code versions and metadata."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


# --- reading the file -------------------------------------------------------------------------


class _RulesLoader(yaml.SafeLoader):
    """YAML where every scalar stays text except null, and duplicate keys are an error.

    The rules hold only text: `1: Red`, `prefix: 0123`, `yes: Yes please` and unquoted dates
    must reach the validator exactly as written, not as int, octal, bool or datetime.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if not isinstance(key, str | None):
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain word, not a list or mapping", key_node.start_mark
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Only `null` keeps its implicit type (`phone: null`). Assigned after the class body because the
# PyYAML stubs declare this table as an instance attribute.
_RulesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_RulesLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise RulesFileError(source, [f"invalid YAML: {where}{error.problem}"]) from None
    except yaml.YAMLError as error:
        raise RulesFileError(source, [f"invalid YAML: {error}"]) from None
    except RecursionError:
        raise RulesFileError(source, ["invalid YAML: nested too deeply"]) from None


@functools.cache
def _packaged_defaults() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("defaults.yaml").read_text(encoding="utf-8")
    parsed = _parse_yaml(text, "defaults.yaml")
    assert isinstance(parsed, dict)
    return parsed


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; a list or a scalar in the file replaces the default."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            continue
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


_MODEL_AT: dict[str, type[BaseModel]] = {"polls": Poll, "poll_defaults": PollDefaults}


def _known_keys(parent: tuple[int | str, ...]) -> list[str]:
    named = [part for part in parent if isinstance(part, str)]
    model = _MODEL_AT.get(named[-1], Rules) if named else Rules
    return list(model.model_fields)


def _describe(error: Mapping[str, Any]) -> str:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        where = _location(loc[:-1])
        close = difflib.get_close_matches(key, _known_keys(loc[:-1]), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{where + ': ' if where else ''}unknown key {key!r}{hint}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        message = "required, but not given"
    elif not kind.startswith("value_error") and isinstance(error.get("input"), str | int | float | bool):
        message += f", got {error['input']!r}"
    where = _location(loc)
    return f"{where}: {message}" if where else message


def rules_from_mapping(
    overrides: Mapping[str, Any] | None, source: str = "<rules>", *, timezone: str | None = None
) -> Rules:
    """Validate `overrides` merged over the packaged defaults; `source` names it in errors.

    `timezone`, when given, is the provider time zone the pipeline runs with (its settings): it
    replaces the packaged default, and overrides naming another zone are rejected, because
    partitions and poll windows must read the clock the same way.
    """
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        raise RulesFileError(
            source, [f"the top level must be a mapping of options, got {type(overrides).__name__}"]
        )
    defaults = copy.deepcopy(_packaged_defaults())
    defaults["timezone"] = DEFAULT_TIMEZONE
    if timezone is not None:
        stated = overrides.get("timezone", timezone)
        if stated != timezone:
            raise RulesFileError(
                source,
                [
                    f"timezone: {stated!r} differs from the provider time zone {timezone!r} "
                    "the pipeline is set to; give it in one place"
                ],
            )
        defaults["timezone"] = timezone
    try:
        return Rules.model_validate(_merge(defaults, overrides))
    except pydantic.ValidationError as error:
        problems = [_describe(e) for e in error.errors(include_url=False)]
        raise RulesFileError(source, problems) from None


def load_rules(path: str | os.PathLike[str] | None, *, timezone: str | None = None) -> Rules:
    """The effective rules: defaults only for None, else the file merged over them.

    `timezone`: the provider time zone from the settings, see `rules_from_mapping`.
    """
    if path is None:
        return rules_from_mapping(None, "defaults.yaml", timezone=timezone)
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        raise RulesFileError(source, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise RulesFileError(source, [f"cannot read the file: {error}"]) from None
    return rules_from_mapping(_parse_yaml(text, source), source, timezone=timezone)
