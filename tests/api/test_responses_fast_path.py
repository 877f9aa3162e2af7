"""The fast JSON path (the body cut by Arrow string kernels, its records read by Arrow JSON) reads a body
exactly as the exact path does, or hands it back.

`_parse_json_exact` is the reference: the reading every earlier release made, which words every
refusal. The bodies here are the ones the fast path is built for (PHP's compact `json_encode`
output) with every quirk that must send a body back to the reference: an id or a field named
twice, escaped or not, `null` and other non-objects as messages, wrong types, missing fields,
lone surrogates, invalid UTF-8, ids that are no decimal numbers, an `error` member, extra fields.
Each is compared three ways: fast against exact, and the whole reading (parse and normalize)
against the documented oracle of `reliability.response_bodies`.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reliability.response_bodies import (
    INVALID_DATES,
    INVALID_IDS,
    VALID_DATES,
    WEIRD_TEXTS,
    WRONG_TYPES,
    pipeline_reading,
    read_json_body,
)

from lightsms_pipeline.api.responses import (
    ApiErrorCode,
    RawMessages,
    ResponseProblem,
    _parse_json_exact,
    _records_read_by_arrow,
    parse_body,
)
from lightsms_pipeline.simulator.encoding import encode_json, php_json
from lightsms_pipeline.simulator.traffic import Traffic

COLUMNS = ("id_sms", "date", "sender", "phone", "prefix", "text")
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def columns(parsed: RawMessages | ApiErrorCode) -> dict[str, list[Any]]:
    assert isinstance(parsed, RawMessages)
    for name in COLUMNS:
        assert getattr(parsed, name).type == pa.string()
    return {name: getattr(parsed, name).to_pylist() for name in COLUMNS}


def exact_reading(body: bytes) -> dict[str, list[Any]] | ApiErrorCode | str:
    """The reference's answer: columns, an API error, or the refusal's wording."""
    try:
        parsed = _parse_json_exact(body)
    except ResponseProblem as exc:
        return str(exc)
    return parsed if isinstance(parsed, ApiErrorCode) else columns(parsed)


# --- compact bodies, PHP-style, with one quirk at a time ----------------------------------------

# Texts as the reliability suite draws them (NUL bytes, lone surrogates, emoji...), huge ones left
# to it: the same quirks, a tenth of the time.
TEXTS = (
    st.text(max_size=30) | st.text(st.characters(codec="utf-8"), max_size=8) | st.sampled_from(WEIRD_TEXTS)
)
# Texts that look like the seams the fast path cuts at (`},"` between records, `":{` after an
# id): a cut in the wrong place must hand the body back, never read it differently.
SEAM_TEXTS = st.sampled_from(["},", "a},", '},"7":{', '":{', "}", "}\n{", '"}', "\\", '1":{"date'])
TEXTS = TEXTS | SEAM_TEXTS
PHONES = st.sampled_from(["5163251632"] * 3 + [None]) | TEXTS
SPECIAL_MEMBERS = st.sampled_from(
    ["null", "true", "[]", "{}", '"x"', "1", "[null]", '{"error":19}', '{"date":null}', "1" * 40]
)


@st.composite
def records(draw: st.DrawFn) -> str:
    """One message as `json_encode` writes it; now and then a field wrong, missing, extra or twice."""
    record: dict[str, Any] = {
        "date": draw(st.one_of(VALID_DATES, VALID_DATES, INVALID_DATES)),
        "sender": draw(st.sampled_from(["37061234567", "1599", "PAYSERA", "+37061234567"]) | TEXTS),
        "phone": draw(PHONES),
        "prefix": draw(st.sampled_from(["", "51632"]) | TEXTS),
        "text": draw(TEXTS),
    }
    if draw(st.integers(0, 3)) == 0:
        del record["phone"]  # older platform answers carry none
    quirk = draw(st.sampled_from(["none"] * 30 + ["missing", "wrong", "extra", "twice", "escaped twice"]))
    name = draw(st.sampled_from(list(record)))
    if quirk == "missing":
        del record[name]
    elif quirk == "wrong":
        record[name] = draw(WRONG_TYPES)
    elif quirk == "extra":
        record[draw(st.sampled_from(["operator", "status", "", "Text"]))] = draw(TEXTS | WRONG_TYPES)
    text = json.dumps(record, ensure_ascii=draw(st.booleans()), separators=(",", ":"))
    if draw(st.booleans()):
        text = text.replace("/", "\\/")  # PHP's escaped slash
    if quirk == "twice":
        text = text[:-1] + f",{json.dumps(name)}:{json.dumps(draw(TEXTS))}}}"
    elif quirk == "escaped twice":  # the same name, written with a \u escape: still the same key
        escaped = "".join(f"\\u{ord(c):04x}" for c in name)
        text = text[:-1] + f',"{escaped}":{json.dumps(draw(TEXTS))}}}'
    return text


@st.composite
def compact_bodies(draw: st.DrawFn) -> bytes:
    """A day's answer written compactly, as LightSMS's PHP does, with at most a few quirks."""
    ids = draw(st.lists(st.integers(1, 10**22).map(str), min_size=1, max_size=6, unique=True))
    members = [(key, draw(records())) for key in ids]
    quirk = draw(
        st.sampled_from(
            ["none"] * 16
            + ["same id twice", "id twice", "escaped id twice", "bad id", "error id", "not an object"]
        )
    )
    at = draw(st.integers(0, len(members) - 1))
    if quirk == "same id twice":
        members.append(members[at])
    elif quirk == "id twice":
        members.insert(draw(st.integers(0, len(members))), (members[at][0], draw(records())))
    elif quirk == "bad id":
        members[at] = (draw(INVALID_IDS), members[at][1])
    elif quirk == "error id":
        members[at] = ("error", members[at][1])
    elif quirk == "not an object":
        members[at] = (members[at][0], draw(SPECIAL_MEMBERS))
    keys = [json.dumps(key) for key, _ in members]
    if quirk == "escaped id twice":
        key = members[at][0]
        members.append((key, draw(records())))
        keys.append('"' + "".join(f"\\u{ord(c):04x}" for c in key) + '"')
    text = "{" + ",".join(f"{k}:{v}" for k, (_, v) in zip(keys, members, strict=True)) + "}"
    body = text.encode("utf-8", "surrogatepass")  # a lone surrogate written raw: invalid UTF-8
    if draw(st.integers(0, 14)) == 0:
        spot = draw(st.integers(0, len(body)))
        body = (
            body[:spot]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf"]))
            + body[spot:]
        )
    return body


@PROPERTY
@given(body=compact_bodies())
def test_fast_path_reads_a_compact_body_as_the_exact_path_or_hands_it_back(body: bytes) -> None:
    fast = _records_read_by_arrow(body)
    event("fast path" if fast is not None else "handed back")
    if fast is not None:
        assert columns(fast) == exact_reading(body)
    parsed: dict[str, list[Any]] | ApiErrorCode | str
    try:
        got = parse_body(body, "json")
        parsed = got if isinstance(got, ApiErrorCode) else columns(got)
    except ResponseProblem as exc:
        parsed = str(exc)
    assert parsed == exact_reading(body)  # refusals keep the reference's wording
    assert pipeline_reading(body) == read_json_body(body)  # and the oracle's verdict


# --- named cases ---------------------------------------------------------------------------------


def simulated_day() -> bytes:
    return encode_json(Traffic(seed=11, per_day=300).day_messages(date(2025, 1, 15)))


def test_a_simulated_day_takes_the_fast_path_and_reads_as_the_exact_one() -> None:
    body = simulated_day()
    fast = _records_read_by_arrow(body)
    assert fast is not None and len(fast) > 100
    assert columns(fast) == exact_reading(body)


RECORD = '{"date":"2025-01-15 10:00:00","sender":"37061234567","text":"STOP"}'
OTHER = '{"date":"2025-01-15 10:00:00","sender":"37061234567","text":"hello"}'


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (f'{{"5":{RECORD},"\\u0035":{OTHER}}}', "an id named twice, once escaped"),
        (f'{{"5":{RECORD},"6":{OTHER[:-1]},"text":"x"}}}}', "a field named twice"),
        (f'{{"5":{RECORD[:-1]},"te\\u0078t":"x"}}}}', "a field named twice, once escaped"),
        ('{"5":null,"6":' + RECORD + "}", "a null message"),
        (f'{{"5":{RECORD},"6":null}}', "a null message after one"),
        ('{"5":{"date":"2025-01-15 10:00:00","sender":"1","text":null}}', "a null text"),
        ('{"5":{"date":"2025-01-15 10:00:00","text":"STOP","phone":"1"}}', "no sender"),
        ('{"5":{"date":"2025-01-15 10:00:00","sender":1,"text":"STOP"}}', "a number for a sender"),
        ('{"5":{"date":"2025-01-15 10:00:00","sender":"1","text":"\\ud800"}}', "a lone surrogate"),
        (f'{{"5":{RECORD[:-1]},"operator":"Tele2"}}}}', "an extra field"),
        (f'{{"x5":{RECORD}}}', "an id that is no number"),
        (f'{{"error":{RECORD}}}', "an error member"),
        (f'{{"5": {RECORD}}}', "a blank between tokens"),
        (f'{{"5":{RECORD}{OTHER}}}', "two records under one id"),
        (f'{{"5":{RECORD},"6}}}}', "a last member cut short"),
        (f'{{"5":{RECORD},"6":{OTHER}\n}}', "a line break after the last record"),
    ],
)
def test_quirky_bodies_are_handed_back_to_the_exact_path(body: str, why: str) -> None:
    assert _records_read_by_arrow(body.encode()) is None, why


def test_an_id_named_twice_is_read_twice_in_order_as_the_exact_path_reads_it() -> None:
    body = f'{{"5":{RECORD},"6":{OTHER},"5":{OTHER}}}'.encode()
    fast = _records_read_by_arrow(body)
    assert fast is not None
    assert columns(fast) == exact_reading(body)
    assert columns(fast)["id_sms"] == ["5", "6", "5"]


@pytest.mark.parametrize(
    "text",
    ["},", 'x},"6":{', '":{', "}\n{", 'ok},"6":{"date":"2025-01-15 10:00:00","sender":"1","text":"x'],
)
def test_texts_that_look_like_the_seams_between_records_read_as_the_exact_path_reads_them(
    text: str,
) -> None:
    body = php_json(
        {
            "5": {"date": "2025-01-15 10:00:00", "sender": "1", "text": text},
            "6": {"date": "2025-01-15 10:00:01", "sender": "2", "text": "STOP"},
        }
    )
    got = parse_body(body, "json")
    assert columns(got) == exact_reading(body)
    assert columns(got)["text"] == [text, "STOP"]


def test_invalid_utf8_inside_a_record_is_handed_back_and_refused() -> None:
    body = b'{"5":{"date":"2025-01-15 10:00:00","sender":"1","text":"a\xc0\xafb"}}'
    assert _records_read_by_arrow(body) is None
    with pytest.raises(ResponseProblem, match="UTF-8"):
        parse_body(body, "json")


def test_php_escapes_nul_bytes_and_emoji_come_out_of_the_fast_path_exactly() -> None:
    text = 'Labąs 🙏 a/b \\ "q"\nline\x00end'
    body = php_json({"7": {"date": "2025-01-15 10:00:00", "sender": "1", "prefix": "", "text": text}})
    fast = _records_read_by_arrow(body)
    assert fast is not None
    assert fast.text.to_pylist() == [text]
    assert fast.phone.to_pylist() == [None] and fast.prefix.to_pylist() == [""]
