"""Classifying messages (docs/rules.md §2): one class per message, first matching rule wins.

Also the `classified_messages` schema the downstream tables take their columns from, and a poll's
scope, which decides votes here and invalid replies in `polls`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.normalize.schema import incoming_schema
from lightsms_pipeline.rules.lookalikes import LookAlikes
from lightsms_pipeline.rules.model import EXACT, LOOK_ALIKE, OPT_OUT, OTHER, POLL_VOTE, Poll, Rules
from lightsms_pipeline.rules.tables import Column, provider_local_time
from lightsms_pipeline.rules.text import map_distinct, normalize_text, visible_text


def classified_schema(timezone: str) -> pa.Schema:
    """`incoming_messages` plus what classification adds; `classify` returns exactly this.

    `keyword` is the normalized keyword matched (for a look-alike opt-out, the keyword it
    imitates: `stop` for `ЅТОР`); `keyword_match` says how: `exact` or `look_alike`, null when
    no keyword matched (poll votes and `other`).
    """
    added = [
        pa.field("normalized_text", pa.string(), nullable=False),
        pa.field("class", pa.string(), nullable=False),
        pa.field("keyword", pa.string()),
        pa.field("poll_id", pa.string()),
        pa.field("poll_option", pa.string()),
        pa.field("possible_opt_out", pa.bool_(), nullable=False),
        # Appended last: the column contract is add-only.
        pa.field("keyword_match", pa.string()),
    ]
    incoming = incoming_schema(timezone)
    return pa.schema(list(incoming) + added)


# Who sent what to which number: the columns every downstream table starts from.
MESSAGE_COLUMNS = ("id_sms", "received_at", "sender", "sender_e164", "phone", "prefix")


def classified_fields(timezone: str, names: Sequence[str]) -> list[pa.Field]:
    """Fields of `classified_schema` by name, so derived tables keep their types and nullability."""
    schema = classified_schema(timezone)
    return [schema.field(name) for name in names]


def in_poll_scope(local_time: Column, phone: Column, prefix: Column, poll: Poll) -> Column:
    """Messages in the poll's window (inclusive, to the second) sent to its phone/prefix.

    A filter that is set never matches a null column value: a message whose receiving number is
    unknown cannot be shown to have been sent to the poll's number.
    """
    unit = local_time.type.unit
    start = pa.scalar(poll.start, pa.timestamp(unit))
    stop = pa.scalar(poll.window_end_exclusive(), pa.timestamp(unit))
    mask = pc.and_(pc.greater_equal(local_time, start), pc.less(local_time, stop))
    for column, wanted in ((phone, poll.phone), (prefix, poll.prefix)):
        if wanted is not None:
            mask = pc.and_(mask, pc.fill_null(pc.equal(column, wanted), False))
    return mask


def opt_out_word_pattern(rules: Rules) -> re.Pattern[str]:
    """An opt-out word or phrase standing as its own word(s) inside a normalized text."""
    words = sorted(rules.opt_out_keywords(), key=len, reverse=True)
    alternatives = "|".join(re.escape(word) for word in words)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


@dataclass(frozen=True, slots=True)
class _Reading:
    """What the keyword rules make of one distinct text, before polls are looked at."""

    normalized: str
    keyword: str | None
    keyword_class: str | None
    keyword_match: str | None
    mentions_opt_out: bool


class _KeywordReader:
    """Reads texts against the keywords: exact first, then an opt-out look-alike (docs/rules.md §2).

    Exact matching of every class comes before look-alikes: a configured word of another class
    that happens to look like an opt-out word (refused by `Rules` anyway) keeps its class.
    """

    def __init__(self, rules: Rules) -> None:
        self._classes = rules.keyword_classes()
        self._opt_out_word = opt_out_word_pattern(rules)
        self._look_alikes = LookAlikes(rules.opt_out_keywords())

    def read(self, text: str) -> _Reading:
        visible = visible_text(text)
        # For ASCII, NFKC changes nothing and casefolding is lowercasing, which moves no dash
        # and no end: the normalized text is the visible one in lower case.
        normalized = visible.lower() if text.isascii() else normalize_text(text)
        keyword_class = self._classes.get(normalized)
        if keyword_class is not None:
            return _Reading(normalized, normalized, keyword_class, EXACT, False)
        look_alike = self._look_alikes.read_visible(visible)
        if look_alike.imitated is not None:
            return _Reading(normalized, look_alike.imitated, OPT_OUT, LOOK_ALIKE, False)
        mentions = look_alike.mentioned or self._opt_out_word.search(normalized) is not None
        return _Reading(normalized, None, None, None, mentions)


def _readings(texts: Column, rules: Rules) -> dict[str, Column]:
    """The `_Reading` fields as columns, each distinct text read once (replies repeat heavily)."""
    distinct = pc.unique(texts)
    reader = _KeywordReader(rules)
    readings = [reader.read(text) for text in distinct.to_pylist()]  # `text` is never null
    index = pc.index_in(texts, value_set=distinct)
    types = {
        "normalized": pa.string(),
        "keyword": pa.string(),
        "keyword_class": pa.string(),
        "keyword_match": pa.string(),
        "mentions_opt_out": pa.bool_(),
    }
    return {
        name: pc.take(pa.array([getattr(r, name) for r in readings], value_type), index)
        for name, value_type in types.items()
    }


def classify(table: pa.Table, rules: Rules) -> pa.Table:
    """Classify every row of an `incoming_messages` table; returns `classified_schema`.

    Extra input columns (e.g. a hive `date`) are dropped. The Python-level work is per distinct
    text (normalizing, keyword, look-alike and option lookups), the per-row work is Arrow compute.
    """
    schema = incoming_schema(rules.timezone)
    incoming = table.select(schema.names).cast(schema)
    read = _readings(incoming["text"], rules)
    normalized, keyword_class = read["normalized"], read["keyword_class"]

    # Opt-out is tried first so that a STOP is never a vote (docs/rules.md §2); among polls the
    # first declared one whose scope and options match takes the message.
    poll_id: Column = pa.nulls(incoming.num_rows, pa.string())
    poll_option: Column = pa.nulls(incoming.num_rows, pa.string())
    if rules.polls:
        unassigned = pc.fill_null(pc.not_equal(keyword_class, OPT_OUT), True)
        local_time = provider_local_time(incoming["received_at"], rules.timezone)
        for poll in rules.polls:
            option = map_distinct(normalized, poll.option_lookup().get, pa.string())
            scope = in_poll_scope(local_time, incoming["phone"], incoming["prefix"], poll)
            vote = pc.and_(pc.and_(pc.is_valid(option), scope), unassigned)
            poll_id = pc.if_else(vote, pa.scalar(poll.id), poll_id)
            poll_option = pc.if_else(vote, option, poll_option)
            unassigned = pc.and_(unassigned, pc.invert(vote))

    is_vote = pc.is_valid(poll_id)
    message_class = pc.if_else(is_vote, pa.scalar(POLL_VOTE), pc.coalesce(keyword_class, pa.scalar(OTHER)))
    no_keyword = pa.scalar(None, pa.string())
    keyword = pc.if_else(is_vote, no_keyword, read["keyword"])
    keyword_match = pc.if_else(is_vote, no_keyword, read["keyword_match"])
    possible_opt_out = pc.and_(pc.equal(message_class, OTHER), read["mentions_opt_out"])
    columns = [
        *incoming.columns,
        normalized,
        message_class,
        keyword,
        poll_id,
        poll_option,
        possible_opt_out,
        keyword_match,
    ]
    return pa.Table.from_arrays(columns, schema=classified_schema(rules.timezone))
