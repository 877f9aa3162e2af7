"""phonenumbers' verdict on a whole column of new senders at once, read as international numbers
and as national numbers of the default region.

Why it exists: on a cold day every sender is new, and asking the library one `PhoneNumber` at a
time (cut the calling code, strip a national prefix, `is_valid_number`) was most of the CPU of
normalizing the day. Here the same steps run over Arrow columns, grouped by calling code: the
calling code is the first 1-3 digits that are one (as `parse` finds it), or the region's own for
a national form that begins with neither the region's international prefix nor its calling code;
the national prefix is cut off only where the country's `national_prefix_for_parsing` matches at
the start, as `_maybe_strip_national_prefix_carrier_code` and `_test_number_length` decide (the
library itself strips for a country whose rule rewrites the number); the region of a code shared
by several countries is chosen as `region_code_for_number` chooses it (regions in the library's
order, by `leading_digits` where a region has them, else by a known number type); and a number
is valid as `_number_type_helper` says, with RE2 over the library's own patterns and possible
lengths. The library's metadata stays the authority. What this does not hold exact (shapes
`parse` treats specially, a pattern RE2 cannot compile) it leaves undecided for the caller to ask
the library one by one. `tests/test_phones.py` holds it equal to `parse` + `is_valid_number`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, ValidationResult
from phonenumbers.phonenumberutil import _maybe_strip_national_prefix_carrier_code, _test_number_length

# `_test_number_length` verdicts for which `parse` keeps the national number unstripped.
KEEP_UNSTRIPPED = (
    ValidationResult.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ValidationResult.INVALID_LENGTH,
)


@functools.cache
def _codes_of_size(size: int) -> pa.StringArray:
    """The calling codes `size` digits long. Built on first use, not at import: building any Arrow
    array makes pyarrow import pandas (half a second), which loading the code location need not pay."""
    return pa.array(sorted(str(c) for c in COUNTRY_CODE_TO_REGION_CODE if len(str(c)) == size), pa.string())  # type: ignore[return-value]


@dataclass(frozen=True)
class Verdicts:
    """Per sender: `e164` (an object array, so a whole batch is placed at once) is
    `+code national` where the library's reading gives a valid number, else None; `undecided`
    are the positions this module left to the library."""

    e164: np.ndarray
    undecided: list[int]


def international_digits(senders: pa.StringArray) -> tuple[pa.StringArray, pa.BooleanArray]:
    """Each sender without its leading `+` or `00` (sms-rules §6), and whether what remains is
    plain ASCII digits (anything else is no phone number)."""
    digits = pc.replace_substring_regex(senders, r"^(?:\+|00)", "", max_replacements=1)
    return digits, _plain_digits(digits)  # type: ignore[return-value]


def international_e164(digits: pa.StringArray) -> Verdicts:
    """`phonenumbers.parse("+" + d)` then `is_valid_number` for each `d` of `digits` (ASCII digits
    only), decided by calling code in batches."""
    lengths = pc.utf8_length(digits)
    # The shapes `phones.international_number` hands to `parse` itself.
    special = _flags(
        pc.or_(pc.or_(pc.less(lengths, 3), pc.greater(lengths, 20)), pc.starts_with(digits, "0"))
    )
    code = _calling_codes(digits)
    verdicts = Verdicts(_nones(len(digits)), np.flatnonzero(special).tolist())
    grouped = np.flatnonzero(~special & _flags(code.is_valid()))
    if len(grouped) == 0:
        return verdicts
    encoded = pc.dictionary_encode(code.take(pa.array(grouped)))
    keys = encoded.indices.to_numpy()
    order = np.argsort(keys, kind="stable")
    ends = np.cumsum(np.bincount(keys, minlength=len(encoded.dictionary)))
    for k, code_text in enumerate(encoded.dictionary.to_pylist()):
        positions = grouped[order[ends[k - 1] if k else 0 : ends[k]]]
        country = int(code_text)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(
            country, phonenumbers.region_code_for_country_code(country)
        )
        national = pc.utf8_slice_codeunits(digits.take(pa.array(positions)), len(code_text))
        _decide(verdicts, positions, country, national, metadata)
    verdicts.undecided.sort()
    return verdicts


def national_e164(senders: pa.StringArray, region: str) -> Verdicts:
    """`phonenumbers.parse(sender, region)` then `is_valid_number` for each sender, in one batch:
    plain digits that neither begin with the region's international (IDD) prefix nor with its
    calling code are read by `parse` as the region's calling code and the digits themselves,
    national prefix stripped as for an international number. The others are left undecided."""
    metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
    verdicts = Verdicts(_nones(len(senders)), [])
    if metadata is None or metadata.country_code is None or region not in phonenumbers.SUPPORTED_REGIONS:
        verdicts.undecided.extend(range(len(senders)))
        return verdicts
    lengths = pc.utf8_length(senders)
    usual = pc.and_(
        pc.and_(_plain_digits(senders), pc.invert(pc.starts_with(senders, str(metadata.country_code)))),
        pc.and_(pc.greater_equal(lengths, 3), pc.less_equal(lengths, 20)),
    )
    try:
        if metadata.international_prefix:
            idd = pc.match_substring_regex(senders, f"^(?:{metadata.international_prefix})")
            usual = pc.and_(usual, pc.invert(idd))
    except pa.ArrowInvalid:  # a pattern RE2 cannot compile
        usual = pa.repeat(False, len(senders))
    flags = _flags(usual)
    verdicts.undecided.extend(np.flatnonzero(~flags).tolist())
    positions = np.flatnonzero(flags)
    if len(positions):
        _decide(verdicts, positions, metadata.country_code, senders.take(pa.array(positions)), metadata)
        verdicts.undecided.sort()
    return verdicts


def _nones(n: int) -> np.ndarray:
    return np.full(n, None, dtype=object)


def _plain_digits(texts: pa.StringArray) -> pa.BooleanArray:
    return pc.fill_null(pc.match_substring_regex(texts, r"^[0-9]+$"), False)  # type: ignore[no-any-return]


def _flags(mask: pa.BooleanArray) -> np.ndarray:
    return mask.to_numpy(zero_copy_only=False)


def _calling_codes(digits: pa.StringArray) -> pa.StringArray:
    """The first 1, 2 or 3 digits that are a country calling code (`parse` tries them in that
    order), null where none is."""
    code = pa.nulls(len(digits), pa.string())
    for size in (3, 2, 1):  # the shortest that matches wins, so it is written last
        prefix = pc.utf8_slice_codeunits(digits, 0, size)
        code = pc.if_else(pc.is_in(prefix, _codes_of_size(size)), prefix, code)
    return code  # type: ignore[return-value]


def _decide(
    verdicts: Verdicts,
    positions: np.ndarray,
    code: int,
    national: pa.StringArray,
    metadata: PhoneMetadata | None,
) -> None:
    """Fills `verdicts` at `positions` for numbers `+code national` as `parse` leaves them before
    its national prefix stripping with `metadata`; leaves them undecided when RE2 cannot compile
    one of the patterns."""
    if metadata is None:  # never for a code of COUNTRY_CODE_TO_REGION_CODE (parse asserts it)
        return
    try:
        national = _strip_national_prefix(national, metadata)
        lengths = pc.utf8_length(national)
        possible = _flags(pc.and_(pc.greater_equal(lengths, 2), pc.less_equal(lengths, 17)))
        regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
        if len(regions) == 1:
            valid = _valid_in_region(code, regions[0], national)
        else:
            valid = _valid_in_first_matching_region(code, regions, national)
    except pa.ArrowInvalid:  # a pattern RE2 cannot compile
        verdicts.undecided.extend(positions.tolist())
        return
    formatted = pc.binary_join_element_wise(f"+{code}", national, "")
    found = pc.if_else(pa.array(possible & valid), formatted, None).to_pylist()
    verdicts.e164[positions] = found


def _strip_national_prefix(national: pa.StringArray, metadata: PhoneMetadata) -> pa.StringArray:
    """`parse`'s national prefix stripping, done by the library itself, but only for the numbers
    (of at least two digits; shorter ones are no number anyway) that `national_prefix_for_parsing`
    matches at the start: for all others the library would give the number back unchanged."""
    pattern = metadata.national_prefix_for_parsing
    if not pattern:
        return national
    hits = pc.and_(
        pc.match_substring_regex(national, f"^(?:{pattern})"),
        pc.greater_equal(pc.utf8_length(national), 2),
    )
    where = np.flatnonzero(hits.to_numpy(zero_copy_only=False))
    if len(where) == 0:
        return national
    numbers = national.take(pa.array(where))
    stripped = _stripped_by_arrow(numbers, metadata)
    if stripped is None:
        kept = []
        for number in numbers.to_pylist():
            _, candidate, _ = _maybe_strip_national_prefix_carrier_code(number, metadata)
            keep = _test_number_length(candidate, metadata) in KEEP_UNSTRIPPED
            kept.append(number if keep else candidate)
        stripped = pa.array(kept, pa.string())
    return pc.replace_with_mask(national, hits, stripped)  # type: ignore[no-any-return]


def _stripped_by_arrow(numbers: pa.StringArray, metadata: PhoneMetadata) -> pa.StringArray | None:
    """What `parse` keeps of `numbers` (all matched by `national_prefix_for_parsing` at the start)
    after `_maybe_strip_national_prefix_carrier_code` and `_test_number_length`, where the prefix is
    simply cut off (no `national_prefix_transform_rule`): the number without the prefix, unless
    the whole number fits the general pattern and the rest does not, or the rest has a length
    `parse` keeps unstripped (too short, local only, or between possible lengths). None where the
    country rewrites the number instead (the library strips those)."""
    general = metadata.general_desc
    pattern = getattr(general, "national_number_pattern", None)
    possible = sorted(getattr(general, "possible_length", ()) or ())
    if metadata.national_prefix_transform_rule or not pattern or not possible:
        return None
    whole = f"^(?:{pattern})$"
    rest = pc.replace_substring_regex(
        numbers, f"^(?:{metadata.national_prefix_for_parsing})", "", max_replacements=1
    )
    unchanged = pc.and_(
        pc.match_substring_regex(numbers, whole), pc.invert(pc.match_substring_regex(rest, whole))
    )
    candidate = pc.if_else(unchanged, numbers, rest)
    length = pc.utf8_length(candidate)
    local_only = list(getattr(general, "possible_length_local_only", ()) or ())
    keep = pc.or_(
        pc.or_(pc.is_in(length, pa.array(local_only, length.type)), pc.less(length, possible[0])),
        pc.and_(
            pc.less_equal(length, possible[-1]),
            pc.invert(pc.is_in(length, pa.array(possible, length.type))),
        ),
    )
    return pc.if_else(keep, numbers, candidate)  # type: ignore[no-any-return]


def _valid_in_first_matching_region(
    code: int, regions: tuple[str, ...], national: pa.StringArray
) -> np.ndarray:
    """`is_valid_number` for a calling code several regions share: `region_code_for_number` takes
    the regions in the library's order, a region with `leading_digits` when they match at the
    start, another when the number has a known type there; the number is then valid when it has
    a known type in the region chosen (`is_valid_number_for_region`)."""
    valid = np.zeros(len(national), dtype=bool)
    remaining = np.arange(len(national))
    for region in regions:
        if len(remaining) == 0:
            break
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        candidates = national.take(pa.array(remaining))
        if metadata.leading_digits is not None:
            chosen = pc.match_substring_regex(candidates, f"^(?:{metadata.leading_digits})")
            chosen_at = np.flatnonzero(chosen.to_numpy(zero_copy_only=False))
            typed = _valid_in_region(code, region, candidates.take(pa.array(chosen_at)))
            valid[remaining[chosen_at[typed]]] = True
        else:
            typed = _valid_in_region(code, region, candidates)
            chosen_at = np.flatnonzero(typed)
            valid[remaining[chosen_at]] = True
        remaining = np.delete(remaining, chosen_at)
    return valid


def _valid_in_region(code: int, region: str, national: pa.StringArray) -> np.ndarray:
    """`is_valid_number_for_region` of the numbers `+code national...` in `region`, at once.

    The library's `_number_type_helper`: valid when the general description matches and any
    number type does (mobile only when its pattern differs from the fixed line's); a
    description matches when the length is one of its possible lengths (if it lists any) and
    its pattern matches the whole national number.
    """
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region.upper())
    geographic = region != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
    if metadata is None or (geographic and phonenumbers.country_code_for_valid_region(region) != code):
        return np.zeros(len(national), dtype=bool)
    lengths = pc.utf8_length(national)

    def matching(desc: object) -> pa.BooleanArray | None:
        pattern = getattr(desc, "national_number_pattern", None)
        if desc is None or not pattern:
            return None
        matched = pc.match_substring_regex(national, f"^(?:{pattern})$")
        possible = getattr(desc, "possible_length", ())
        if possible:
            matched = pc.and_(matched, pc.is_in(lengths, pa.array(list(possible), lengths.type)))
        return matched  # type: ignore[no-any-return]

    general = matching(metadata.general_desc)
    if general is None:
        return np.zeros(len(national), dtype=bool)
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
    any_type = np.zeros(len(national), dtype=bool)
    for desc in types:
        matched = matching(desc)
        if matched is not None:
            any_type |= matched.to_numpy(zero_copy_only=False)
    return general.to_numpy(zero_copy_only=False) & any_type  # type: ignore[no-any-return]
