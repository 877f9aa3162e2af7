"""Rules-file problems in words: `RulesFileError`, and pydantic's errors as one line each.

A person fixing `rules.yaml` needs the file, the place and the problem (`rules.yaml:
polls[0].end: ...`), with a suggestion for a misspelt key, never a pydantic traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from lightsms_pipeline.errors import ConfigurationError
from lightsms_pipeline.rules.model import Poll, PollDefaults, Replies, Rules


class RulesFileError(ConfigurationError):
    """The rules file is missing, not YAML, or breaks a rule; one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {problem}" for problem in problems))


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


_MODEL_AT: dict[str, type[BaseModel]] = {"polls": Poll, "poll_defaults": PollDefaults, "replies": Replies}


def _known_keys(parent: tuple[int | str, ...]) -> list[str]:
    named = [part for part in parent if isinstance(part, str)]
    model = _MODEL_AT.get(named[-1], Rules) if named else Rules
    return list(model.model_fields)


def describe(error: Mapping[str, Any]) -> str:
    """One pydantic error as a line a person can act on: where, what, and a close key if any."""
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
