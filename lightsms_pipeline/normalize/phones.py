"""Sender numbers to E.164 (docs/rules.md §6), cached in memory because senders repeat.

The verdict is phonenumbers', through its public `parse` and `is_valid_number` only: its metadata,
its rules. Each distinct sender is parsed once per region in a process (so once per run, however
many days it writes to), and kept in memory only: no phone number is stored anywhere but in the
datasets themselves, which erasure requests already cover.
"""

from __future__ import annotations

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.contract import DEFAULT_REGION

CACHE_LIMIT = 1_000_000  # distinct (region, sender) pairs kept before the cache starts afresh
_cache: dict[str, dict[str, str | None]] = {}


def to_e164(sender: str, region: str = DEFAULT_REGION) -> str | None:
    """`+digits` when phonenumbers finds the sender a valid number, else None (cached).

    LightSMS sends digits without `+`; a leading `00` or `+` is an international prefix and is
    dropped first (docs/rules.md §6); what is not valid internationally is tried as a national number
    of `region`. Short codes, alphanumeric senders and non-ASCII digits (which `isdigit` accepts
    but no gateway sends) are no phone numbers and give None.
    """
    known = _cache.setdefault(region, {})
    if sender in known:
        return known[sender]
    if len(known) >= CACHE_LIMIT:  # a bound on memory for a process that runs for months
        known.clear()
    e164 = known[sender] = _parse_e164(sender, region)
    return e164


def senders_to_e164(senders: pa.Array, region: str) -> pa.StringArray:
    """`to_e164` of each row: each distinct sender of the column is looked up once."""
    encoded = pc.dictionary_encode(senders)
    mapped = [to_e164(sender, region) for sender in encoded.dictionary.to_pylist()]
    return pc.take(pa.array(mapped, pa.string()), encoded.indices)  # type: ignore[no-any-return]


def clear_cache() -> None:
    """Forget every sender: the state of a new process (benchmarks measure a cold day with it)."""
    _cache.clear()


def _parse_e164(sender: str, region: str) -> str | None:
    digits = _international_digits(sender)
    if digits is None:
        return None
    for text, hint in (("+" + digits, None), (sender, region)):
        try:
            number = phonenumbers.parse(text, hint)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _international_digits(sender: str) -> str | None:
    """The sender's digits without its `+` or `00`, None when it is not plain ASCII digits."""
    if sender.startswith("+"):
        digits = sender[1:]
    elif sender.startswith("00"):
        digits = sender[2:]
    else:
        digits = sender
    return digits if digits.isascii() and digits.isdigit() else None
