"""One pure-API account and a hand-built signature, shared by the simulator's pure tests.

Signatures are computed here with hashlib, never with the code under test, so a signing bug in
`lightsms_pipeline.api.signing` cannot hide behind the same bug in the tests.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from lightsms_pipeline.simulator.api import Account

ACCOUNT = Account(login="pure-login", api_key="pure-key-0123456789", timestamp_window_seconds=10.0)
NOW = datetime(2025, 3, 12, 10, 30, 0, tzinfo=UTC).timestamp()  # 12:30 in Vilnius


def signed(
    params: dict[str, str], *, timestamp: float = NOW, api_key: str = ACCOUNT.api_key
) -> dict[str, str]:
    """`params` with login, timestamp and the md5 signature LightSMS documents."""
    params = {"login": ACCOUNT.login, "timestamp": str(int(timestamp)), **params}
    joined = "".join(params[name] for name in sorted(params))
    return {**params, "signature": hashlib.md5((joined + api_key).encode()).hexdigest()}
