"""Sender numbers to E.164 (shared/sms-rules.md section 6), cached because senders repeat.

The verdict is always phonenumbers' `is_valid_number`. What is cheaper than the library's own
`parse` is how the number reaches it: a sender of plain digits, the common shape, is cut into
country code and national number here, the way `parse("+" + digits)` cuts it (its national
prefix stripping included), which takes a quarter of `parse`'s time on a day of new senders.
`tests/test_phones.py` holds this cut equal to `parse` on every simulated sender shape and on
random digit strings.
"""

from __future__ import annotations

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumber
from phonenumbers.phonenumberutil import (
    ValidationResult,
    _maybe_strip_national_prefix_carrier_code,
    _set_italian_leading_zeros_for_phone_number,
    _test_number_length,
)

from lightsms_pipeline.contract import DEFAULT_REGION

CACHE_LIMIT = 1_000_000  # distinct (region, sender) pairs kept before the cache starts afresh
_KEEP_UNSTRIPPED = (
    ValidationResult.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ValidationResult.INVALID_LENGTH,
)
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
    """Forget every sender (benchmarks measure a cold day with it)."""
    _cache.clear()


def _remember(known: dict[str, str | None], sender: str, e164: str | None) -> str | None:
    if len(known) >= CACHE_LIMIT:
        known.clear()
    known[sender] = e164
    return e164


def _parse_e164(sender: str, region: str) -> str | None:
    if sender.startswith("+"):
        digits = sender[1:]
    elif sender.startswith("00"):
        digits = sender[2:]
    else:
        digits = sender
    if not (digits.isascii() and digits.isdigit()):
        return None
    number = international_number(digits)
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    try:
        number = phonenumbers.parse(sender, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


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
    if _test_number_length(stripped, metadata) not in _KEEP_UNSTRIPPED:
        national = stripped
    if not 2 <= len(national) <= 17:
        return None
    number = PhoneNumber(country_code=code)
    _set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    return number


def senders_to_e164(senders: pa.Array, region: str) -> pa.StringArray:
    """Vectorised `to_e164`: each distinct sender is looked up once, parsed once ever."""
    encoded = pc.dictionary_encode(senders)
    distinct = encoded.dictionary.to_pylist()
    known = _cache.setdefault(region, {})
    mapped = [known.get(s, _UNSEEN) for s in distinct]
    if any(m is _UNSEEN for m in mapped):
        mapped = [
            _remember(known, s, _parse_e164(s, region)) if m is _UNSEEN else m
            for s, m in zip(distinct, mapped, strict=True)
        ]
    return pc.take(pa.array(mapped, pa.string()), encoded.indices)  # type: ignore[return-value]
