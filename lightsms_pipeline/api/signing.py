"""Request signing as LightSMS documents it: md5(values sorted by name, concatenated, + API key)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def sign(params: Mapping[str, str], api_key: str) -> str:
    """Lowercase hex MD5 of the UTF-8 bytes of the sorted values followed by the key.

    Every parameter that goes on the URL is signed except `signature` itself, `return` included;
    the reference is PHP's `ksort($p); md5(implode($p) . $key)`, and for the all-lowercase ASCII
    names LightSMS uses a byte-wise sort is the same order as ksort.
    """
    joined = "".join(params[name] for name in sorted(params) if name != "signature")
    return hashlib.md5((joined + api_key).encode("utf-8")).hexdigest()
