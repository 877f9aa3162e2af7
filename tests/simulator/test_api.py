"""The simulator's API semantics as a pure function: `api.answer` called directly, no sockets.

Signatures are built by hand with hashlib (as in test_server.py), never with the code under test.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from signed_requests import ACCOUNT, NOW, signed

from lightsms_pipeline.simulator.api import INCOMING, TIMESTAMP, Account, DayReply, Request, answer
from lightsms_pipeline.simulator.encoding import Reply, ResponseFormat
from lightsms_pipeline.simulator.traffic import Traffic

TRAFFIC = Traffic(seed=5, per_day=80)


def ask(params: dict[str, str], *, now: float = NOW, day_reply: DayReply | None = None) -> Reply:
    return answer(Request(INCOMING, params, now), ACCOUNT, TRAFFIC, day_reply)


def error_of(reply: Reply) -> int | None:
    body = json.loads(reply.body)
    return body.get("error") if isinstance(body, dict) else None


def test_auth_checks_answer_in_php_order_signature_login_timestamp_then_identity() -> None:
    full = signed({"date": "2025-03-05"})
    assert error_of(ask({})) == 1
    assert error_of(ask({"signature": full["signature"]})) == 2
    assert error_of(ask({"signature": full["signature"], "login": ACCOUNT.login})) == 24
    assert error_of(ask({**full, "login": "someone-else"})) == 7
    assert error_of(ask(signed({"date": "2025-03-05"}, api_key="wrong-key"))) == 6
    assert error_of(ask(full)) is None


def test_a_timestamp_is_accepted_only_inside_the_window_around_the_servers_clock() -> None:
    assert error_of(ask(signed({"date": "2025-03-05"}, timestamp=NOW - 10))) is None
    assert error_of(ask(signed({"date": "2025-03-05"}, timestamp=NOW + 10))) is None
    assert error_of(ask(signed({"date": "2025-03-05"}, timestamp=NOW - 11))) == 6
    # The same request a minute later is stale: the clock is part of the request.
    assert error_of(ask(signed({"date": "2025-03-05"}), now=NOW + 60)) == 6


@pytest.mark.parametrize(
    ("dates", "code"),
    [
        ({}, 30),
        ({"date": "2025-3-05"}, 30),
        ({"to": "2025-03-05 10:00:00"}, 28),
        ({"from": "2025-03-05 10:00:00"}, 29),
        ({"from": "2025-03-05T10:00:00", "to": "2025-03-05 11:00:00"}, 28),
        ({"from": "2025-03-05 10:00:00", "to": "2025-03-05 25:00:00"}, 29),
    ],
)
def test_missing_or_malformed_dates_get_their_error_code(dates: dict[str, str], code: int) -> None:
    assert error_of(ask(signed(dates))) == code


def test_finished_days_come_from_the_day_reply_and_today_stops_at_the_servers_clock() -> None:
    asked: list[tuple[date, ResponseFormat]] = []

    def day_reply(day: date, fmt: ResponseFormat) -> Reply:
        asked.append((day, fmt))
        return Reply(200, b"cached", "text/plain")

    assert ask(signed({"date": "2025-03-11", "return": "xml"}), day_reply=day_reply).body == b"cached"
    assert asked == [(date(2025, 3, 11), "xml")]
    today = json.loads(ask(signed({"date": "2025-03-12"}), day_reply=day_reply).body)
    assert asked == [(date(2025, 3, 11), "xml")]  # today is never a finished day
    expected = [m.id_sms for m in TRAFFIC.day(date(2025, 3, 12)) if m.date <= "2025-03-12 12:30:00"]
    assert list(today) == expected
    assert 0 < len(expected) < len(TRAFFIC.day(date(2025, 3, 12)))


def test_date_takes_priority_over_from_and_to() -> None:
    by_date = ask(signed({"date": "2025-03-05"})).body
    both = ask(signed({"date": "2025-03-05", "from": "2025-01-01 00:00:00", "to": "2025-01-01 00:59:59"}))
    assert both.body == by_date
    assert len(json.loads(by_date)) == len(TRAFFIC.day(date(2025, 3, 5))) > 0


def test_timestamp_endpoint_answers_the_clock_whatever_the_parameters() -> None:
    reply = answer(Request(TIMESTAMP, {"login": "nobody"}, NOW + 0.9), ACCOUNT, TRAFFIC)
    assert (reply.status, reply.body) == (200, str(int(NOW)).encode())


def test_the_account_repr_never_shows_the_api_key() -> None:
    assert ACCOUNT.api_key not in repr(ACCOUNT)
    assert ACCOUNT.login in repr(ACCOUNT)


def test_an_answer_listing_more_messages_than_the_limit_is_refused_like_a_gateway_timeout() -> None:
    day = date(2025, 3, 5)
    count = len(TRAFFIC.day(day))
    window = {"from": "2025-03-05 00:00:00", "to": "2025-03-05 11:59:59"}
    in_window = len(TRAFFIC.window(datetime(2025, 3, 5), datetime(2025, 3, 5, 11, 59, 59)))
    for limit, day_status, window_status in (
        (count, 200, 200),
        (count - 1, 504, 200),
        (in_window - 1, 504, 504),
    ):
        account = Account(ACCOUNT.login, ACCOUNT.api_key, max_messages_per_answer=limit)
        for params, status in (({"date": day.isoformat()}, day_status), (window, window_status)):
            reply = answer(Request(INCOMING, signed(params), NOW), account, TRAFFIC)
            assert reply.status == status, (limit, params)
