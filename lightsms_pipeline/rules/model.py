"""The rules model: what a valid rules file means, as frozen pydantic models (docs/rules.md).

Only the shape and the invariants live here (word lists readable after normalization, one class
per keyword, poll windows and options, known time zone and region); reading YAML and merging over
the packaged defaults is `loading`, and turning validation errors into readable lines is `errors`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from lightsms_pipeline.contract import API_DATETIME_FORMAT, is_iana_zone
from lightsms_pipeline.rules.lookalikes import LookAlikes
from lightsms_pipeline.rules.text import normalize_text

# The classes of docs/rules.md §2, in the order they are tried.
OPT_OUT = "opt_out"
POLL_VOTE = "poll_vote"
OPT_IN = "opt_in"
HELP = "help"
OTHER = "other"

# Bumped whenever the same rules file comes to classify differently. 2: invisible characters
# removed, the minus sign a dash, look-alike opt-outs and `keyword_match`, ids of any size.
RULES_ENGINE_VERSION = 2

# How a keyword matched (the `keyword_match` column): the whole normalized message equals it,
# or the message is a look-alike of an opt-out keyword (docs/rules.md §2).
EXACT = "exact"
LOOK_ALIKE = "look_alike"

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
                return dt.datetime.strptime(value, API_DATETIME_FORMAT)
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


# A sender name LightSMS accepts: up to 11 letters/digits (the GSM alphanumeric originator), or a
# number of up to 15 digits (E.164's length). The account must also have it registered (send.php
# errors 8-10), which only LightSMS knows.
_SENDER_NAME = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ._&-]{1,11}$|^\+?[0-9]{1,15}$")
# The replies' texts by class (docs/rules.md §9), in the order a person reads them.
REPLY_CLASSES = (OPT_OUT, OPT_IN, HELP, OTHER, POLL_VOTE)


class Replies(_Strict):
    """The `replies:` section (docs/rules.md §9): what is answered, by whom, and the limits.

    A class whose text is null gets no reply. Every default errs towards sending less: texts for
    opt_out and opt_in only, and no `sender`, without which nothing is sent at all.
    """

    sender: str | None
    opt_out: str | None
    opt_in: str | None
    help: str | None
    other: str | None
    poll_vote: str | None
    by_keyword: dict[str, str]
    confirm_within_minutes: Annotated[int, Field(ge=1)]
    reply_within_minutes: Annotated[int, Field(ge=1)]
    min_hours_between: Annotated[float, Field(ge=0)]
    max_per_day: Annotated[int, Field(ge=0)]

    @field_validator("by_keyword", mode="before")
    @classmethod
    def _null_mapping(cls, value: object) -> object:
        return {} if value is None else value

    @field_validator("sender")
    @classmethod
    def _sender_name(cls, value: str | None) -> str | None:
        if value is not None and not _SENDER_NAME.match(value):
            raise ValueError(
                f"{value!r} is no sender name LightSMS accepts: up to 11 letters and digits "
                "(registered on the account), or a number of up to 15 digits"
            )
        return value

    @field_validator(*REPLY_CLASSES)
    @classmethod
    def _text_not_blank(cls, value: str | None) -> str | None:
        # An empty text would be sent as an empty SMS (send.php error 3): say null for no reply.
        if value is not None and not value.strip():
            raise ValueError("an empty text cannot be sent; write null for no reply")
        return value

    @field_validator("by_keyword")
    @classmethod
    def _keyword_texts(cls, texts: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for keyword, text in texts.items():
            if not text.strip():
                raise ValueError(f"{keyword!r}: an empty text cannot be sent; leave the keyword out")
            normalized = normalize_text(keyword)
            other = seen.setdefault(normalized, keyword)
            if other != keyword:
                raise ValueError(f"{other!r} and {keyword!r} are the same keyword after normalization")
        return texts

    def text_for(self, message_class: str, keyword: str | None) -> str | None:
        """The reply to a message of `message_class` that matched `keyword` (normalized), if any:
        the keyword's own text first, else the class's."""
        if keyword is not None:
            by_keyword = {normalize_text(k): text for k, text in self.by_keyword.items()}
            if keyword in by_keyword:
                return by_keyword[keyword]
        text: str | None = getattr(self, message_class, None) if message_class in REPLY_CLASSES else None
        return text

    def texts(self) -> list[tuple[str, str]]:
        """(what it answers, text) of every configured reply: `opt_out`, `keyword стоп`, ..."""
        found = [(name, text) for name in REPLY_CLASSES if (text := getattr(self, name)) is not None]
        return found + [(f"keyword {k}", text) for k, text in self.by_keyword.items()]


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
    replies: Replies

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
        if not is_iana_zone(value):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)")
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
        # A look-alike of an opt-out word opts out (docs/rules.md §2), so a word of another class
        # that looks like one would be both: refuse it rather than pick.
        look_alikes = LookAlikes(self.opt_out_keywords())
        for word_class, words in self._words_by_class()[1:]:
            for word in words:
                imitated = look_alikes.imitated(word)
                if imitated is not None:
                    raise ValueError(
                        f"{word!r} ({word_class}) looks like the opt-out word {imitated!r}, "
                        "and a look-alike of an opt-out word opts out"
                    )
        self._reply_keywords_known()
        return self

    def _reply_keywords_known(self) -> None:
        # A text for a keyword the rules never match would silently never be sent.
        known = self.keyword_classes()
        for keyword in self.replies.by_keyword:
            if normalize_text(keyword) not in known:
                close = difflib.get_close_matches(normalize_text(keyword), list(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"replies.by_keyword: {keyword!r} is no keyword of the rules (opt_out, opt_in or "
                    f"help words), so its text could never be sent{hint}"
                )

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
        """A stable short hash of the effective rules (but `replies`) and of
        `RULES_ENGINE_VERSION`, for Dagster code versions and metadata: datasets built under other
        rules, or under an engine that read the same rules differently, show as changed."""
        # `replies` decides no dataset but `replies` itself: a new reply text must not mark every
        # derived asset changed nor make the kept history extracts be read again.
        canonical = json.dumps(
            {"engine": RULES_ENGINE_VERSION, "rules": self.model_dump(mode="json", exclude={"replies"})},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def replies_fingerprint(self) -> str:
        """`fingerprint` with the `replies` section: the code version of the `replies` asset."""
        canonical = json.dumps(
            {"rules": self.fingerprint(), "replies": self.replies.model_dump(mode="json")},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
