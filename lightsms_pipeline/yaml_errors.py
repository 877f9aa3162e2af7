"""How a YAML reading problem is worded, for the rules file and the accounts file alike."""

from __future__ import annotations

import yaml


def describe_yaml_error(error: yaml.YAMLError) -> str:
    """`invalid YAML: line L, column C: <problem>` where PyYAML knows the place, else its message."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return f"invalid YAML: {where}{error.problem}"
    return f"invalid YAML: {error}"
