"""Sender numbers to E.164 (shared/sms-rules.md section 6), cached because senders repeat.

The verdict is phonenumbers': its metadata, its rules. What is cheaper is how a day of new
senders reaches it: `phone_batches` decides both readings of a sender (international, then
national in the default region) over whole Arrow columns, grouped by calling code, and leaves to
the library, call by call, only the shapes it does not hold exact. A single sender
(`to_e164`) is cut into country code and national number here, the way `parse("+" + digits)`
cuts it, at a quarter of `parse`'s cost. `tests/test_phones.py` holds all of it equal to
`parse` + `is_valid_number` on every simulated sender shape, hand-written cases and random digit
strings.
"""

from __future__ import annotations

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumber
from phonenumbers.phonenumberutil import (
    _maybe_strip_national_prefix_carrier_code,
    _set_italian_leading_zeros_for_phone_number,
    _test_number_length,
)

from lightsms_pipeline.contract import DEFAULT_REGION
from lightsms_pipeline.normalize.phone_batches import (
    KEEP_UNSTRIPPED,
    international_digits,
    international_e164,
    national_e164,
)
from lightsms_pipeline.normalize.sender_cache import SenderCache, forget_read

CACHE_LIMIT = 1_000_000  # distinct (region, sender) pairs kept before the cache starts afresh
_UNSEEN = object()
_cache: dict[str, dict[str, str | None]] = {}


def to_e164(sender: str, region: str = DEFAULT_REGION) -> str | None:
    """`+digits` when phonenumbers finds the sender a valid number, else None (cached).

    LightSMS sends digits without `+`; a leading `00` or `+` is an international prefix and is
    dropped first (sms-rules §6); what is not valid internationally is tried as a national number
    of `region`. Short codes, alphanumeric senders and non-ASCII digits (which `isdigit` accepts
    but no gateway sends) are no phone numbers and give None.
    """
    known = _cache.setdefault(region, {})
    found = known.get(sender, _UNSEEN)
    if found is _UNSEEN:
        found = _remember(known, sender, _parse_e164(sender, region))
    return found  # type: ignore[return-value]


def clear_cache() -> None:
    """Forget every sender, and what was read of the cache dir: the state of a new process
    (benchmarks measure a cold day with it)."""
    _cache.clear()
    forget_read()


def _remember(known: dict[str, str | None], sender: str, e164: str | None) -> str | None:
    if len(known) >= CACHE_LIMIT:
        known.clear()
    known[sender] = e164
    return e164


def _parse_e164(sender: str, region: str) -> str | None:
    """One sender, call by call through the library (`to_e164` of a sender not cached)."""
    digits = _international_digits(sender)
    if digits is None:
        return None
    number = international_number(digits)
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return _national_e164(sender, region)


def international_number(digits: str) -> PhoneNumber | None:
    """What `phonenumbers.parse("+" + digits)` returns for ASCII `digits`, None where it raises.

    Plain digits skip the library's extraction of a number from free text (its costliest part);
    the rest follows `parse` step by step: the first 1-3 digits that are a country calling code,
    the national prefix stripped when what remains is still a possible length, the length
    limits and the Italian leading zeros. Shapes `parse` treats specially (under three digits, a
    leading zero, very long input) are handed to `parse` itself.
    """
    if not 3 <= len(digits) <= 20 or digits[0] == "0":
        try:
            return phonenumbers.parse("+" + digits, None)
        except phonenumbers.NumberParseException:
            return None
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            break
    else:
        return None
    if len(national) < 2:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code)
    )
    if metadata is None:  # never for a code of COUNTRY_CODE_TO_REGION_CODE (parse asserts it)
        return None
    _, stripped, _ = _maybe_strip_national_prefix_carrier_code(national, metadata)
    if _test_number_length(stripped, metadata) not in KEEP_UNSTRIPPED:
        national = stripped
    if not 2 <= len(national) <= 17:
        return None
    number = PhoneNumber(country_code=code)
    _set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    return number


def senders_to_e164(senders: pa.Array, region: str, cache: SenderCache | None = None) -> pa.StringArray:
    """Vectorised `to_e164`: each distinct sender is looked up once, parsed once ever (in this
    process; with `cache`, once for as long as the cache keeps its version)."""
    encoded = pc.dictionary_encode(senders)
    distinct = encoded.dictionary.to_pylist()
    known = _cache.setdefault(region, {})
    try:  # a warm day, every sender seen before: looked up at C speed, in half a `get` loop's time
        mapped: list[object] = list(map(known.__getitem__, distinct))
    except KeyError:
        mapped = [known.get(s, _UNSEEN) for s in distinct]
        unseen = [s for s, m in zip(distinct, mapped, strict=True) if m is _UNSEEN]
        found = _verdicts(unseen, region, cache, known)
        mapped = [
            _remember(known, s, found[s]) if m is _UNSEEN else m
            for s, m in zip(distinct, mapped, strict=True)
        ]
    return pc.take(pa.array(mapped, pa.string()), encoded.indices)  # type: ignore[return-value]


def _verdicts(
    senders: list[str], region: str, cache: SenderCache | None, known: dict[str, str | None]
) -> dict[str, str | None]:
    """The E.164 (or None) of each of `senders`, none of them in `known` (the process's cache of
    `region`): first from what `cache` holds that this process has not read yet (added to
    `known`), the rest parsed and stored there. Only senders of digits are stored: any other is
    no phone number, which `_international_digits` tells at once."""
    if cache is None:
        return dict(zip(senders, _parse_many(senders, region), strict=True))
    cache.read_into(known, region)
    found = {s: known[s] for s in senders if s in known}
    missing = [s for s in senders if s not in found]
    parsed = dict(zip(missing, _parse_many(missing, region), strict=True))
    cache.store(region, {s: e for s, e in parsed.items() if _international_digits(s) is not None})
    return {**found, **parsed}


def _parse_many(senders: list[str], region: str) -> list[str | None]:
    """`_parse_e164` of each sender: both readings (international, then national in `region`)
    decided in batches by `phone_batches`, call by call only where it leaves a sender undecided."""
    if not senders:
        return []
    column = pa.array(senders, pa.string())
    digits, plain = international_digits(column)
    at = np.flatnonzero(plain.to_numpy(zero_copy_only=False))
    international = international_e164(digits.take(pa.array(at, pa.int64())))
    results = np.full(len(senders), None, dtype=object)
    results[at] = international.e164
    for i in at[international.undecided].tolist():
        results[i] = _parse_e164(senders[i], region)
    not_valid = np.equal(international.e164, None)  # type: ignore[call-overload]
    not_valid[international.undecided] = False
    national_at = at[not_valid]
    national = national_e164(column.take(pa.array(national_at, pa.int64())), region)
    results[national_at] = national.e164
    for i in national_at[national.undecided].tolist():
        results[i] = _national_e164(senders[i], region)
    return results.tolist()  # type: ignore[no-any-return]


def _international_digits(sender: str) -> str | None:
    """The sender's digits without its `+` or `00`, None when it is not plain ASCII digits."""
    if sender.startswith("+"):
        digits = sender[1:]
    elif sender.startswith("00"):
        digits = sender[2:]
    else:
        digits = sender
    return digits if digits.isascii() and digits.isdigit() else None


def _national_e164(sender: str, region: str) -> str | None:
    """The second reading of sms-rules §6: `sender` as a national number of `region`."""
    if _international_digits(sender) is None:
        return None
    try:
        number = phonenumbers.parse(sender, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
