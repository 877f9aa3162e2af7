"""The exception hierarchy: every failure the pipeline reports is one of these, never a bare KeyError.

Messages name the endpoint, the date or range and the problem; they never contain the API key.
"""

from __future__ import annotations

import yaml

# The documented LightSMS error table (see docs/lightsms-api.md §4).
ERROR_MEANINGS: dict[int, str] = {
    0: "Success",
    1: "Signature not specified",
    2: "Login not specified",
    3: "Text not specified",
    4: "Phone number not specified",
    5: "Sender not specified",
    6: "Invalid signature",
    7: "Invalid login",
    8: "Invalid sender name",
    9: "Sender name not registered",
    10: "Sender name not approved",
    11: "Text contains forbidden words",
    12: "Error sending SMS",
    13: "Phone number is blacklisted",
    14: "Request contains more than 50 numbers",
    15: "List not specified",
    16: "Invalid phone number",
    17: "SMS ID not specified",
    18: "Status not obtained",
    19: "Empty response",
    20: "Phone number already exists",
    21: "Name not specified",
    22: "Template already exists",
    23: "Month not specified (YYYY-MM)",
    24: "Timestamp not specified",
    25: "Error accessing the list",
    26: "No numbers in the list",
    27: "No valid numbers",
    28: "Start date not specified (YYYY-MM-DD)",
    29: "End date not specified (YYYY-MM-DD)",
    30: "Date not specified (YYYY-MM-DD)",
    31: "Direction to the user is closed",
    32: "Insufficient funds",
    33: "Phone number not set",
    34: "Phone number is in the stop list",
    35: "Insufficient funds",
    36: "Cannot obtain phone information",
    37: "Base ID not set",
    38: "Phone number already exists in this base",
    39: "Phone number does not exist in this base",
}

AUTH_ERROR_CODES = frozenset({1, 2, 6, 7, 24})


def describe_code(code: int) -> str:
    return ERROR_MEANINGS.get(code, "Unknown error code")


class LightSMSError(Exception):
    """Base of every error raised by lightsms-pipeline."""


class ConfigurationError(LightSMSError):
    """Settings or the rules file are missing or invalid; fix the configuration, retrying won't help."""


class StorageError(LightSMSError):
    """The data directory refused a write: a missing bucket, denied access. Names the URI."""


class MissingExtraError(LightSMSError, ImportError):
    """A feature whose library is an optional extra that is not installed: names the extra and
    the pip command, instead of a bare `No module named …` (pyproject.toml's extras)."""

    def __init__(self, extra: str, feature: str) -> None:
        self.extra = extra
        super().__init__(
            f"{feature} needs the `{extra}` extra, which is not installed: "
            f"pip install 'lightsms-pipeline[{extra}]'"
        )


class ApiError(LightSMSError):
    """LightSMS answered, but not with data. Carries where it happened so the message is actionable."""

    def __init__(
        self, problem: str, *, endpoint: str, window: str | None = None, code: int | None = None
    ) -> None:
        self.problem = problem
        self.endpoint = endpoint
        self.window = window
        self.code = code
        where = f"{endpoint}" + (f" for {window}" if window else "")
        coded = f"error {code} ({describe_code(code)}): " if code is not None else ""
        super().__init__(f"LightSMS {where}: {coded}{problem}")


class AuthenticationError(ApiError):
    """Login, key or timestamp refused (codes 1, 2, 6 after a fresh-timestamp retry, 7, 24)."""


class BadRequestError(ApiError):
    """The request itself was wrong (codes 28, 29, 30, or any other non-auth API code)."""


class MalformedResponseError(ApiError):
    """The body can't be read exactly: not JSON/XML, an HTML page, the wrong shape, a bad record."""


class UnavailableError(ApiError):
    """Transport failures (connection errors, timeouts, 429, 5xx) outlasted the retry budget."""


def describe_yaml_error(error: yaml.YAMLError) -> str:
    """How a YAML reading problem is worded, for the rules file and the accounts file alike:
    `invalid YAML: line L, column C: <problem>` where PyYAML knows the place, else its message."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return f"invalid YAML: {where}{error.problem}"
    return f"invalid YAML: {error}"
