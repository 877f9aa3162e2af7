"""Signature vectors computed by hand from the documented algorithm (not by the code under test).

The vectors are lowercase hex, as PHP's md5() gives: they pin the case too.
"""

from lightsms_pipeline.api.signing import sign


def test_incoming_by_date_signs_sorted_values_then_key():
    # md5("2025-01-15" + "demo" + "json" + "1732809600" + "secret")
    params = {"login": "demo", "timestamp": "1732809600", "date": "2025-01-15", "return": "json"}
    assert sign(params, "secret") == "6319fa40ef4a66cf86cf977bdf0b6210"


def test_range_sorts_from_login_return_timestamp_to():
    params = {
        "to": "2025-01-15 23:59:59",
        "from": "2025-01-15 00:00:00",
        "login": "demo",
        "return": "json",
        "timestamp": "1732809600",
    }
    assert sign(params, "secret") == "6b62647137fef5d29029ac3e1c979ec9"


def test_signature_parameter_itself_is_not_signed():
    params = {"login": "demo", "timestamp": "1732809600", "date": "2025-01-15", "return": "json"}
    assert sign({**params, "signature": "whatever"}, "secret") == sign(params, "secret")


def test_non_ascii_values_are_hashed_as_utf8():
    # md5(UTF-8 bytes of "demo" + "Labas, ąčęėįšųū 🙂" + "1732809600" + "ключ"): login < text < timestamp
    params = {"text": "Labas, ąčęėįšųū 🙂", "login": "demo", "timestamp": "1732809600"}
    assert sign(params, "ключ") == "72984a97664dd95981bc548795a66a7b"
