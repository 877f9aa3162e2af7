"""Senders to E.164 (docs/rules.md §6), each expectation written out by hand, not computed.

The opt-out list is keyed on `sender_e164`, so a wrong number here is a subscriber texted after a
STOP: every expected value below was read off the numbering plans, never asked of phonenumbers.
"""

from __future__ import annotations

from datetime import date

import phonenumbers
import pyarrow as pa
import pytest

from lightsms_pipeline.normalize import phones
from lightsms_pipeline.normalize.phones import clear_cache, senders_to_e164, to_e164
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
    # Italy keeps the 0 of its area codes after +39 (Rome 06), in every spelling; Vatican City
    # shares +39 and is told by its leading digits 06698.
    ("390612345678", "LT", "+390612345678"),
    ("00390612345678", "GB", "+390612345678"),
    ("0612345678", "IT", "+390612345678"),
    ("390669812345", "LT", "+390669812345"),
    # Côte d'Ivoire's ten-digit numbers begin with 0 too.
    ("2250712345678", "LT", "+2250712345678"),
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


# --- the cache: phonenumbers' verdict, asked once per distinct sender and region --------------


def simulated_senders() -> list[str]:
    traffic = Traffic(seed=3, per_day=3000)
    return sorted({m.sender for m in traffic.day_messages(date(2025, 1, 15))})


def test_cold_and_cached_verdicts_agree_with_the_uncached_reading_in_each_region() -> None:
    # "21234567" is Latvian only in LV: a cache shared across regions would give it to LT.
    senders = simulated_senders() + [s for s, _, _ in PHONE_NUMBERS] + [s for s, _ in NOT_PHONE_NUMBERS]
    clear_cache()
    for region in ("LV", "LT", "GB"):
        cold = senders_to_e164(pa.array(senders), region).to_pylist()
        warm = senders_to_e164(pa.array(senders), region).to_pylist()
        # The uncached reading itself is pinned by PHONE_NUMBERS, written out by hand above.
        assert cold == warm == [phones._parse_e164(s, region) for s in senders], region


def test_each_distinct_sender_is_parsed_once_however_often_it_appears(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: list[str] = []
    parse = phonenumbers.parse

    def counting(text: str, region: str | None = None) -> phonenumbers.PhoneNumber:
        parsed.append(text)
        return parse(text, region)

    monkeypatch.setattr(phones.phonenumbers, "parse", counting)
    clear_cache()
    day = pa.array(["37061234567", "861234567", "37061234567", "PAYSERA"] * 50)
    senders_to_e164(day, "LT")
    senders_to_e164(day, "LT")  # the next day of the same run
    # 37061234567 valid at once; 861234567 tried internationally, then as national; PAYSERA never.
    assert sorted(parsed) == ["+37061234567", "+861234567", "861234567"]
