"""The `sender_e164` each simulated sender must get, from how the simulator builds its senders.

Independent of phonenumbers and of `lightsms_pipeline.normalize.phones` on purpose: the comparisons with
the simulator's ground truth must fail when `to_e164` is wrong. Each shape below is one branch
of `simulator/traffic.py`'s `_phone_sender` (and its short codes and alphanumeric senders), with
the country calling code it was built with. A sender of no listed shape is an error, so a new
kind of sender in the generator needs its line here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_US_AREA_CODES = "212|415|617|312|206|305|512|646"

# (shape of the sender, its E.164 form); None: not a phone number.
SHAPES: list[tuple[re.Pattern[str], Callable[[str], str | None]]] = [
    # Lithuanian mobile as E.164 digits without '+': country code 370, 6 + 7 digits.
    (re.compile(r"3706\d{7}"), lambda s: "+" + s),
    # Latvian mobile: 371, 2 + 7 digits.
    (re.compile(r"3712[01256789]\d{6}"), lambda s: "+" + s),
    # Polish mobile: 48, 5 + 8 digits.
    (re.compile(r"485\d{8}"), lambda s: "+" + s),
    # German mobile: 49, 151/152/157/159 + 8 digits.
    (re.compile(r"4915[1279]\d{8}"), lambda s: "+" + s),
    # UK mobile: 44, 74/75/78 + 8 digits.
    (re.compile(r"447[458]\d{8}"), lambda s: "+" + s),
    # North American number: 1, area code, exchange 200-999, 4 digits.
    (re.compile(rf"1(?:{_US_AREA_CODES})[2-9]\d{{6}}"), lambda s: "+" + s),
    # Lithuanian mobile behind the international prefix 00: the 00 goes.
    (re.compile(r"003706\d{7}"), lambda s: "+" + s[2:]),
    # Lithuanian mobile in national form: trunk prefix 8 becomes the country code 370.
    (re.compile(r"86\d{7}"), lambda s: "+370" + s[1:]),
    # Short codes: no phone number.
    (re.compile(r"\d{4,5}"), lambda s: None),
    # Alphanumeric sender ids: no phone number.
    (re.compile(r"[A-Za-z][A-Za-z-]*"), lambda s: None),
]


def expected_e164(sender: str) -> str | None:
    """The E.164 form of a simulated sender, or None when it is no phone number."""
    for shape, e164 in SHAPES:
        if shape.fullmatch(sender):
            return e164(sender)
    raise ValueError(f"{sender!r} is of no sender shape the simulator generates; add it to SHAPES")
