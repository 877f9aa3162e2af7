"""Reading the rules: YAML with every scalar as text and duplicate keys refused, merged over
the packaged defaults, validated once into a `Rules`.

`defaults.yaml` beside this module is the single copy of the default rules (docs/rules.md); a
rules file holds only what it changes. Every problem is a `RulesFileError` naming the file and
the location, never a bare pydantic or PyYAML traceback.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping
from importlib import resources
from typing import Any

import pydantic
import yaml

from lightsms_pipeline.contract import DEFAULT_TIMEZONE
from lightsms_pipeline.errors import describe_yaml_error
from lightsms_pipeline.rules.errors import RulesFileError, describe
from lightsms_pipeline.rules.model import Rules


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
    except yaml.YAMLError as error:
        raise RulesFileError(source, [describe_yaml_error(error)]) from None
    except RecursionError:
        raise RulesFileError(source, ["invalid YAML: nested too deeply"]) from None


@functools.cache
def _packaged_defaults() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("defaults.yaml").read_text(encoding="utf-8")
    parsed = _parse_yaml(text, "defaults.yaml")
    assert isinstance(parsed, dict)
    return parsed


# Sections a file may leave empty (`replies:` with its lines commented out, YAML's null): read as
# an empty mapping, which changes nothing. Elsewhere a null stays a mistake the model names
# (`poll_defaults: null` is refused, as it always was).
EMPTY_MEANS_DEFAULTS = frozenset({"replies"})


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; a list or a scalar in the file replaces the default."""
    merged = dict(base)
    for key, value in overrides.items():
        if value is None and key in EMPTY_MEANS_DEFAULTS and isinstance(merged.get(key), dict):
            continue
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


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
        problems = [describe(e) for e in error.errors(include_url=False)]
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
