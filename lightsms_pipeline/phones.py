"""Sender numbers to E.164 (shared/sms-rules.md section 6), cached because senders repeat."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.contract import DEFAULT_REGION


@lru_cache(maxsize=1_000_000)
def to_e164(sender: str, region: str = DEFAULT_REGION) -> str | None:
    """`+digits` when phonenumbers finds the sender a valid number, else None.

    LightSMS sends digits without `+`; a leading `00` or `+` is an international prefix and is
    dropped first (sms-rules §6); what is not valid internationally is tried as a national number
    of `region`. Short codes, alphanumeric senders and non-ASCII digits (which `isdigit` accepts
    but no gateway sends) are no phone numbers and give None.
    """
    if sender.startswith("+"):
        digits = sender[1:]
    elif sender.startswith("00"):
        digits = sender[2:]
    else:
        digits = sender
    if not (digits.isascii() and digits.isdigit()):
        return None
    for candidate, hint in (("+" + digits, None), (sender, region)):
        try:
            number = phonenumbers.parse(candidate, hint)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def senders_to_e164(senders: pa.Array, region: str) -> pa.StringArray:
    """Vectorised `to_e164`: each distinct sender is parsed once."""
    encoded = pc.dictionary_encode(senders)
    mapped = pa.array([to_e164(s, region) for s in encoded.dictionary.to_pylist()], pa.string())
    return pc.take(mapped, encoded.indices)  # type: ignore[return-value]
