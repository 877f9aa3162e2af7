"""Sender numbers to E.164 (shared/sms-rules.md section 6), cached because senders repeat.

The verdict is phonenumbers': its metadata, its rules. What is cheaper is how a day of new
senders reaches it. A sender of plain digits, the common shape, is cut into country code and
national number here, the way `parse("+" + digits)` cuts it (its national prefix stripping
included), at a quarter of `parse`'s cost; and the national numbers of a country with one region
are then checked all at once, with Arrow's regular expressions over the very patterns and
possible lengths `is_valid_number` tries one number at a time (`_valid_in_region`). Countries
that share a calling code (+1, +44, +7...) and national forms still go through the library call
by call. `tests/test_phones.py` holds all of it equal to `parse` + `is_valid_number` on every
simulated sender shape, the hand-written cases and random digit strings.
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
from lightsms_pipeline.sender_cache import SenderCache, forget_read

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
    if _test_number_length(stripped, metadata) not in _KEEP_UNSTRIPPED:
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
    mapped = [known.get(s, _UNSEEN) for s in distinct]
    unseen = [s for s, m in zip(distinct, mapped, strict=True) if m is _UNSEEN]
    if unseen:
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
    """`_parse_e164` of each sender, the international numbers of one-region countries checked
    together per country."""
    results: list[str | None] = [None] * len(senders)
    by_country: dict[int, list[tuple[int, PhoneNumber]]] = {}  # code -> (position, number)
    one_by_one: list[int] = []
    for i, sender in enumerate(senders):
        digits = _international_digits(sender)
        number = international_number(digits) if digits is not None else None
        if number is None:
            one_by_one.append(i)
        elif len(COUNTRY_CODE_TO_REGION_CODE[number.country_code or 0]) == 1:
            by_country.setdefault(number.country_code or 0, []).append((i, number))
        elif phonenumbers.is_valid_number(number):
            results[i] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        else:
            one_by_one.append(i)
    for code, numbers in by_country.items():
        national = [phonenumbers.national_significant_number(n) for _, n in numbers]
        try:
            verdicts = _valid_in_region(code, pa.array(national, pa.string())).to_pylist()
        except pa.ArrowInvalid:  # a pattern RE2 cannot compile: the library decides, one by one
            verdicts = [phonenumbers.is_valid_number(n) for _, n in numbers]
        for (i, _), nsn, valid in zip(numbers, national, verdicts, strict=True):
            if valid:
                results[i] = f"+{code}{nsn}"  # what format_number(..., E164) writes
            else:
                one_by_one.append(i)
    for i in one_by_one:
        results[i] = _national_e164(senders[i], region)
    return results


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


def _valid_in_region(code: int, national: pa.StringArray) -> pa.BooleanArray:
    """`is_valid_number` of the numbers `+code national...` of a one-region calling code, at once.

    The library's `_number_type_helper`: valid when the general description matches and any
    number type does (mobile only when its pattern differs from the fixed line's); a
    description matches when the length is one of its possible lengths (if it lists any) and
    its pattern matches the whole national number.
    """
    (region,) = COUNTRY_CODE_TO_REGION_CODE[code]
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    geographic = region != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
    if metadata is None or (geographic and phonenumbers.country_code_for_valid_region(region) != code):
        return pa.repeat(False, len(national))  # type: ignore[return-value]
    lengths = pc.utf8_length(national)

    def matching(desc: object) -> pa.BooleanArray:
        pattern = getattr(desc, "national_number_pattern", None)
        if desc is None or not pattern:
            return pa.repeat(False, len(national))  # type: ignore[return-value]
        matched = pc.match_substring_regex(national, f"^(?:{pattern})$")
        possible = getattr(desc, "possible_length", ())
        if possible:
            matched = pc.and_(matched, pc.is_in(lengths, pa.array(list(possible), lengths.type)))
        return matched  # type: ignore[no-any-return]

    types = [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
    ]
    if not metadata.same_mobile_and_fixed_line_pattern:
        types.append(metadata.mobile)
    any_type = matching(types[0])
    for desc in types[1:]:
        any_type = pc.or_(any_type, matching(desc))
    return pc.and_(matching(metadata.general_desc), any_type)  # type: ignore[no-any-return]
