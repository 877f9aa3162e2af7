"""Senders to E.164 (sms-rules §6), each expectation written out by hand, not computed.

The opt-out list is keyed on `sender_e164`, so a wrong number here is a subscriber texted after a
STOP: every expected value below was read off the numbering plans, never asked of phonenumbers.
"""

from __future__ import annotations

from datetime import date

import phonenumbers
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lightsms_pipeline.normalize.phones import clear_cache, international_number, senders_to_e164, to_e164
from lightsms_pipeline.simulator.traffic import Traffic

# (sender as a gateway may send it, default region, the E.164 it must give)
PHONE_NUMBERS = [
    # Lithuania (+370): mobiles are 6 + 7 digits; national form has the trunk prefix 8.
    ("37061234567", "LT", "+37061234567"),
    ("0037061234567", "LT", "+37061234567"),
    ("+37061234567", "LT", "+37061234567"),
    ("861234567", "LT", "+37061234567"),
    ("37052000000", "LT", "+37052000000"),  # Vilnius landline, 5 + 7 digits
    ("852000000", "LT", "+37052000000"),
    # Latvia (+371): mobiles are 2 + 7 digits, no trunk prefix.
    ("37121234567", "LT", "+37121234567"),
    ("0037121234567", "LT", "+37121234567"),
    ("+37121234567", "LT", "+37121234567"),
    ("21234567", "LV", "+37121234567"),
    # United Kingdom (+44): mobiles 7 + 9 digits; national form has the trunk prefix 0.
    ("447911123456", "LT", "+447911123456"),
    ("00447911123456", "LT", "+447911123456"),
    ("+447911123456", "LT", "+447911123456"),
    ("07911123456", "GB", "+447911123456"),
    ("442079460000", "LT", "+442079460000"),  # London landline, 20 + 8 digits
    # A foreign number in international form is read the same whatever the default region.
    ("37061234567", "GB", "+37061234567"),
    ("447911123456", "LV", "+447911123456"),
    ("14155552671", "LT", "+14155552671"),
    ("4915123456789", "LT", "+4915123456789"),
    ("48512345678", "LT", "+48512345678"),
]

NOT_PHONE_NUMBERS = [
    # Short codes: too short for any of these plans.
    ("1234", "LT"),
    ("51632", "LT"),
    ("1599", "LT"),
    ("8888", "LT"),
    # Alphanumeric sender ids.
    ("PAYSERA", "LT"),
    ("Info-Bank", "LT"),
    ("DPD-LT", "LT"),
    ("BITE", "LT"),
    # One digit short of and one digit beyond a Lithuanian mobile, in every spelling.
    ("3706123456", "LT"),
    ("370612345678", "LT"),
    ("003706123456", "LT"),
    ("+370612345678", "LT"),
    ("86123456", "LT"),
    ("8612345678", "LT"),
    # A national number is national only in its own region.
    ("07911123456", "LT"),
    ("21234567", "LT"),
    # A national number with `+` or `00` in front is not national any more.
    ("+861234567", "LT"),
    ("00861234567", "LT"),
    # Prefixes alone, empty, spaces and signs.
    ("", "LT"),
    ("+", "LT"),
    ("00", "LT"),
    ("++37061234567", "LT"),
    ("+ 37061234567", "LT"),
    ("370 6123 4567", "LT"),
    ("-37061234567", "LT"),
    # Digits outside ASCII: `str.isdigit` says yes, no gateway sends them.
    ("３７０６１２３４５６７", "LT"),  # fullwidth
    ("٣٧٠٦١٢٣٤٥٦٧", "LT"),  # Arabic-Indic
    ("3706123456７", "LT"),  # one fullwidth digit at the end
    ("3706123456²", "LT"),  # superscript two
]


@pytest.mark.parametrize(("sender", "region", "e164"), PHONE_NUMBERS)
def test_phone_numbers_give_their_e164_form(sender: str, region: str, e164: str) -> None:
    assert to_e164(sender, region) == e164


@pytest.mark.parametrize(("sender", "region"), NOT_PHONE_NUMBERS)
def test_senders_that_are_no_valid_phone_number_give_none(sender: str, region: str) -> None:
    assert to_e164(sender, region) is None


def test_the_default_region_is_lithuania() -> None:
    assert to_e164("861234567") == "+37061234567"
    assert to_e164("07911123456") is None


def test_the_column_form_maps_each_row_in_order_with_the_region() -> None:
    senders = pa.array(["37061234567", "PAYSERA", "861234567", "07911123456", "37061234567", "1234"])
    assert senders_to_e164(senders, "LT").to_pylist() == [
        "+37061234567",
        None,
        "+37061234567",
        None,
        "+37061234567",
        None,
    ]
    assert senders_to_e164(senders, "GB").to_pylist()[3] == "+447911123456"


def test_the_column_form_of_no_rows_is_an_empty_string_column() -> None:
    mapped = senders_to_e164(pa.array([], pa.string()), "LT")
    assert mapped.type == pa.string() and len(mapped) == 0


# --- the cheaper path to phonenumbers' verdict ------------------------------------------------


def parse_or_none(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def library_e164(sender: str, region: str) -> str | None:
    """sms-rules §6 spelt with phonenumbers' public `parse` only: the verdict to agree with."""
    digits = sender[1:] if sender.startswith("+") else sender[2:] if sender.startswith("00") else sender
    if not (digits.isascii() and digits.isdigit()):
        return None
    for text, hint in (("+" + digits, None), (sender, region)):
        number = parse_or_none(text, hint)
        if number is not None and phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def simulated_senders() -> list[str]:
    traffic = Traffic(seed=3, per_day=3000)
    return sorted({m.sender for m in traffic.day_messages(date(2025, 1, 15))})


def test_plain_digits_are_cut_as_phonenumbers_parse_cuts_them_for_every_simulated_sender() -> None:
    senders = [s.removeprefix("00") for s in simulated_senders() if s.isdigit()]
    assert len(senders) > 1000
    for digits in senders:
        assert international_number(digits) == parse_or_none("+" + digits, None), digits


CALLING_CODES = sorted(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@settings(max_examples=800, deadline=None)
@given(
    code=st.sampled_from([*CALLING_CODES, "", "0", "8", "00"]),
    rest=st.text("0123456789", max_size=18),
)
def test_plain_digits_are_cut_as_phonenumbers_parse_cuts_them(code: str, rest: str) -> None:
    digits = code + rest
    if digits:
        assert international_number(digits) == parse_or_none("+" + digits, None)


@pytest.mark.parametrize("region", ["LT", "GB", "LV"])
def test_the_cached_fast_path_gives_the_library_verdict_on_every_simulated_and_listed_sender(
    region: str,
) -> None:
    senders = simulated_senders() + [s for s, _, _ in PHONE_NUMBERS] + [s for s, _ in NOT_PHONE_NUMBERS]
    clear_cache()
    cold = senders_to_e164(pa.array(senders), region).to_pylist()
    warm = senders_to_e164(pa.array(senders), region).to_pylist()
    assert cold == warm == [library_e164(s, region) for s in senders]


@settings(max_examples=150, deadline=None)
@given(
    batch=st.lists(
        st.tuples(
            st.sampled_from([*CALLING_CODES, "", "0", "8", "00", "+"]), st.text("0123456789", max_size=15)
        ),
        min_size=1,
        max_size=40,
    ),
    region=st.sampled_from(["LT", "GB", "US", "DE"]),
)
def test_a_batch_of_new_senders_gets_the_library_verdict_for_each(
    batch: list[tuple[str, str]], region: str
) -> None:
    senders = [code + rest for code, rest in batch]
    clear_cache()
    assert senders_to_e164(pa.array(senders), region).to_pylist() == [
        library_e164(s, region) for s in senders
    ]


# --- the batches (phone_batches) on the shapes that take their other branches -----------------

BATCH_REGIONS = ["LT", "GB", "US", "DE", "IT", "RU"]
MULTI_REGION_CODES = sorted(
    str(code) for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items() if len(regions) > 1
)


def example_numbers() -> list[tuple[str, str, str]]:
    """(calling code, national significant number, national prefix) of the library's example
    number of each type in each region: numbers valid somewhere, so the valid branches (a region
    chosen by its leading digits, Italian leading zeros, ...) are taken, not only the invalid."""
    found = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        for kind in phonenumbers.PhoneNumberType.values():
            number = phonenumbers.example_number_for_type(region, kind)
            if metadata is not None and number is not None:
                nsn = phonenumbers.national_significant_number(number)
                found.add((str(number.country_code), nsn, metadata.national_prefix or ""))
    return sorted(found)


EXAMPLE_NUMBERS = example_numbers()


def sender_forms(code: str, nsn: str, prefix: str, form: int, digit: str) -> str:
    """One spelling of an example number, correct or one digit off."""
    body = [
        code + nsn,  # international, no `+`
        "+" + code + nsn,
        "00" + code + nsn,
        prefix + nsn,  # national form
        code + prefix + nsn,  # international with the national prefix left in
        nsn,  # national without its prefix
        code + nsn[:-1],  # one digit short
        code + nsn + digit,  # one digit long
        code + nsn[:-1] + digit,  # last digit changed
        prefix + nsn + digit,
        "011" + code + nsn,  # the IDD of US, a national form elsewhere
        "810" + code + nsn,  # the IDD of RU
        "8" + code + nsn,
    ][form]
    return body


@settings(max_examples=120, deadline=None)
@given(
    batch=st.lists(
        st.tuples(
            st.sampled_from(EXAMPLE_NUMBERS),
            st.integers(0, 12),
            st.sampled_from("0123456789"),
        ),
        min_size=1,
        max_size=40,
    ),
    region=st.sampled_from(BATCH_REGIONS),
)
def test_example_numbers_of_every_region_in_every_spelling_get_the_library_verdict(
    batch: list[tuple[tuple[str, str, str], int, str]], region: str
) -> None:
    senders = [sender_forms(*example, form, digit) for example, form, digit in batch]
    clear_cache()
    assert senders_to_e164(pa.array(senders), region).to_pylist() == [
        library_e164(s, region) for s in senders
    ]


@settings(max_examples=120, deadline=None)
@given(
    batch=st.lists(
        st.tuples(
            st.sampled_from([*MULTI_REGION_CODES, "39", "370", "49"]),
            st.sampled_from(["", "0", "00", "8", "1", "9", "180020"]),
            st.text("0123456789", max_size=17),
        ),
        min_size=1,
        max_size=40,
    ),
    region=st.sampled_from(BATCH_REGIONS),
)
def test_shared_calling_codes_national_prefixes_and_leading_zeros_get_the_library_verdict(
    batch: list[tuple[str, str, str]], region: str
) -> None:
    senders = [code + prefix + rest for code, prefix, rest in batch]
    senders += [prefix + rest for _, prefix, rest in batch]  # the same digits as national forms
    clear_cache()
    assert senders_to_e164(pa.array(senders), region).to_pylist() == [
        library_e164(s, region) for s in senders
    ]


def test_a_million_day_like_sender_set_drawn_small_gets_the_library_verdict_cold() -> None:
    day = date(2024, 6, 12)
    traffic = Traffic(seed=42, per_day=500, day_volumes={day: 5000})
    senders = sorted({m.sender for m in traffic.day_messages(day)})
    assert len(senders) > 1000
    clear_cache()
    assert senders_to_e164(pa.array(senders), "LT").to_pylist() == [library_e164(s, "LT") for s in senders]


@pytest.mark.parametrize(
    ("sender", "region"),
    [
        # Invalid read as `+digits`, but `parse(sender, region)` takes the region's own calling
        # code off the front (the number without it fits the plan) and strips a national prefix.
        ("3700852718007", "LT"),
        ("3700031396058", "LT"),
        ("4900696076821284", "DE"),
        ("320071040615", "BE"),
        ("3530017957944", "IE"),
        ("113101232", "CA"),
        ("358123456", "AX"),  # the other way round: the code taken off leaves no valid number
        # +1 13101232: stripping the national prefix 1 would leave a local-only length, so the
        # prefix stays (and the number is invalid) except as a national form in Canada.
        ("113101232", "LT"),
        # Belarus: the whole number fits the plan and what follows the national prefix 8 does
        # not, so the 8 stays.
        ("8011234567", "BY"),
    ],
)
def test_national_prefixes_and_the_regions_own_calling_code_in_front_get_the_library_verdict(
    sender: str, region: str
) -> None:
    clear_cache()
    assert senders_to_e164(pa.array([sender, "37061234567"]), region).to_pylist() == [
        library_e164(sender, region),
        "+37061234567",
    ]


@pytest.mark.parametrize(
    ("sender", "region", "e164"),
    [
        # Italy keeps the 0 of its area codes after +39 (Rome 06), in every spelling; Vatican
        # City shares +39 and is told by its leading digits 06698.
        ("390612345678", "LT", "+390612345678"),
        ("00390612345678", "GB", "+390612345678"),
        ("0612345678", "IT", "+390612345678"),
        ("390669812345", "LT", "+390669812345"),
        # Côte d'Ivoire's ten-digit numbers begin with 0 too.
        ("2250712345678", "LT", "+2250712345678"),
    ],
)
def test_leading_zeros_of_the_national_number_are_kept_in_a_batch(
    sender: str, region: str, e164: str
) -> None:
    clear_cache()
    assert senders_to_e164(pa.array([sender, "PAYSERA"]), region).to_pylist() == [e164, None]
    assert library_e164(sender, region) == e164
