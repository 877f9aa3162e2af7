"""The API's undocumented quirks, each pinned by a test named after it (bodies parsed directly)."""

import pytest

from lightsms_pipeline.api.responses import ApiErrorCode, RawMessages, ResponseProblem, parse_body

DOC_EXAMPLE = (
    b'{"5597": {"date": "2025-01-15 14:23:45", "sender": "37061234567", "phone": "5163251632",'
    b' "prefix": "51632", "text": "STOP"},'
    b' "5598": {"date": "2025-01-15 15:10:22", "sender": "37062345678", "phone": "5163251632",'
    b' "prefix": "51632", "text": "INFO"}}'
)


def rows(parsed: RawMessages | ApiErrorCode) -> list[dict[str, str | None]]:
    assert isinstance(parsed, RawMessages)
    names = ("id_sms", "date", "sender", "phone", "prefix", "text")
    cols = [getattr(parsed, n).to_pylist() for n in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*cols, strict=True)]


def test_documented_json_example_is_read_field_for_field():
    assert rows(parse_body(DOC_EXAMPLE, "json")) == [
        {
            "id_sms": "5597",
            "date": "2025-01-15 14:23:45",
            "sender": "37061234567",
            "phone": "5163251632",
            "prefix": "51632",
            "text": "STOP",
        },
        {
            "id_sms": "5598",
            "date": "2025-01-15 15:10:22",
            "sender": "37062345678",
            "phone": "5163251632",
            "prefix": "51632",
            "text": "INFO",
        },
    ]


def test_documented_xml_example_reads_like_the_json_one():
    xml = b"""<?xml version="1.0" encoding="utf-8"?>
<response>
  <sms id_sms="5597" date="2025-01-15 14:23:45" sender="37061234567" phone="5163251632"
       prefix="51632" text="STOP" />
  <sms id_sms="5598" date="2025-01-15 15:10:22" sender="37062345678" phone="5163251632"
       prefix="51632" text="INFO" />
</response>"""
    assert rows(parse_body(xml, "xml")) == rows(parse_body(DOC_EXAMPLE, "json"))


@pytest.mark.parametrize("body", [b'{"error":19}', b'{"error": "19"}', b"[]", b"{}", b"", b"   \n", b"null"])
def test_empty_day_error_19_reads_as_zero_rows(body: bytes):
    parsed = parse_body(body, "json")
    assert isinstance(parsed, RawMessages) and len(parsed) == 0


def test_empty_day_error_19_in_xml_reads_as_zero_rows():
    parsed = parse_body(b"<response><error>19</error></response>", "xml")
    assert isinstance(parsed, RawMessages) and len(parsed) == 0


@pytest.mark.parametrize("body", [b'{"error":30}', b'{"error":"30"}', b'{"error":" 30 "}'])
def test_error_code_as_int_or_string(body: bytes):
    assert parse_body(body, "json") == ApiErrorCode(30)


def test_error_under_empty_key_from_host_without_www():
    assert parse_body(b'{"":{"error":7}}', "json") == ApiErrorCode(7)


def test_error_keyed_by_phone_number():
    assert parse_body(b'{"37061234567":{"error":"6"}}', "json") == ApiErrorCode(6)


def test_missing_phone_reads_as_null_and_empty_prefix_stays_empty():
    body = b'{"75396":{"date":"2015-04-01 14:01:24","sender":"442073238000","prefix":"","text":"test1"}}'
    (row,) = rows(parse_body(body, "json"))
    assert row["phone"] is None
    assert row["prefix"] == ""


def test_missing_prefix_reads_as_null():
    body = b'{"1":{"date":"2015-04-01 14:01:24","sender":"4420","text":"x"}}'
    assert rows(parse_body(body, "json"))[0]["prefix"] is None


def test_php_escaped_unicode_and_slashes_are_decoded_exactly():
    body = (
        b'{"1":{"date":"2025-01-15 10:00:00","sender":"37060000000",'
        b'"text":"Lab\\u0105s \\ud83d\\ude4f a\\/b \\\\ \\"q\\"\\nline"}}'
    )
    assert rows(parse_body(body, "json"))[0]["text"] == 'Labąs 🙏 a/b \\ "q"\nline'


def test_extra_fields_are_ignored():
    body = b'{"1":{"date":"2025-01-15 10:00:00","sender":"1","text":"x","operator":"Tele2"}}'
    assert rows(parse_body(body, "json"))[0]["text"] == "x"


def test_content_is_read_by_its_shape_not_by_the_requested_format():
    # A JSON error body is understood even when XML was asked for, and vice versa.
    assert parse_body(b'{"error":7}', "xml") == ApiErrorCode(7)
    assert parse_body(b"<response><error>7</error></response>", "json") == ApiErrorCode(7)


@pytest.mark.parametrize(
    ("body", "fragment", "retryable"),
    [
        (b"<html><body>Site under maintenance</body></html>", "HTML", True),
        (b'<!DOCTYPE html><html lang="en"><h1>502</h1>', "HTML", True),
        (b'{"5597":{"date":"2025-01-15 14:23:45","sen', "not valid JSON", True),
        (b'"just a string"', "expected a JSON object", False),
        (b'{"1":["a","b"]}', "not an object", False),
        (b'{"1":{"date":"2025-01-15 10:00:00","text":"x"}}', "has no sender", False),
        (b'{"1":{"date":"2025-01-15 10:00:00","sender":"1"}}', "has no text", False),
        (b'{"1":{"sender":"1","text":"x"}}', "has no date", False),
        (b'{"1":{"date":"2025-01-15 10:00:00","sender":37060000000,"text":"x"}}', "'sender'", False),
        (b'{"1":{"date":"2025-01-15 10:00:00","sender":"1","text":null}}', "'text' is null", False),
        (b'{"abc":{"date":"2025-01-15 10:00:00","sender":"1","text":"x"}}', "not a decimal", False),
        (b'{"error":"x"}', "not a number", False),
        (b'{"error":7,"5597":{}}', "beside other keys", False),
        (b'{"1":{"date":"d","sender":"1","text":"\\ud800"}}', "'text'", False),
        (b"\xff\xfe{}", "UTF-8", False),
        (b"<response><sms id_sms='1' date='2025-01-15 10:00:00' sender='1'/></response>", "no text", False),
        (b"<other/>", "expected <response>", False),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes, fragment: str, retryable: bool):
    with pytest.raises(ResponseProblem) as info:
        parse_body(body, "json")
    assert fragment in str(info.value)
    assert info.value.retryable is retryable


def test_xml_entities_are_refused_billion_laughs():
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<response><sms id_sms="1" date="2025-01-15 10:00:00" sender="1" text="&lol2;"/></response>"""
    with pytest.raises(ResponseProblem, match="forbidden"):
        parse_body(bomb, "xml")


def test_xml_external_entities_are_refused():
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<response><sms id_sms="1" date="2025-01-15 10:00:00" sender="1" text="&x;"/></response>"""
    with pytest.raises(ResponseProblem, match="forbidden"):
        parse_body(xxe, "xml")


def test_xml_attribute_character_references_keep_newlines_and_tabs():
    xml = (
        '<response><sms id_sms="1" date="2025-01-15 10:00:00" sender="1" '
        'text="a&#10;b&#9;c &amp; &lt;d&gt; &quot;ą🙂&quot;"/></response>'
    ).encode()
    assert rows(parse_body(xml, "xml"))[0]["text"] == 'a\nb\tc & <d> "ą🙂"'


def test_an_id_named_twice_with_blanks_before_its_colons_is_still_found() -> None:
    # JSON allows blanks between a key and its colon; a plain json.loads would keep the last "5".
    first = b'"5":{"date":"2025-01-15 10:00:00","sender":"1","text":"STOP"}'
    second = b'"5" :{"date" :"2025-01-15 10:00:00","sender"\t:"1","text"\n:"hello"}'
    parsed = parse_body(b"{" + first + b"," + second + b"}", "json")
    assert isinstance(parsed, RawMessages)
    assert parsed.id_sms.to_pylist() == ["5", "5"]  # both kept: normalize refuses the pair
    assert parsed.text.to_pylist() == ["STOP", "hello"]
