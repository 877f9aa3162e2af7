"""The simulator serving several logins over HTTP: each login answers with its own traffic and
only to its own key; `simulate --account LOGIN:API_KEY` declares them from the command line."""

from __future__ import annotations

import pytest
from conftest import FAST_RETRY
from several_accounts import ACME, BETA, D14, serve

from lightsms_pipeline.api.client import LightSMSClient
from lightsms_pipeline.errors import AuthenticationError, ConfigurationError
from lightsms_pipeline.simulator.cli import parse_account


def test_each_login_gets_its_own_traffic_and_only_with_its_own_key() -> None:
    with serve([ACME, BETA]).start() as sim:
        for account in (ACME, BETA):
            with LightSMSClient(sim.base_url, account.login, account.api_key, retry=FAST_RETRY) as client:
                ids = sorted(client.fetch_day(D14).id_sms.to_pylist())
            expected = sorted(m.id_sms for m in sim.login_state(account.login).traffic.day(D14))
            assert ids == expected and ids
        # another account's key does not open this login, and an unknown login is refused
        with (
            LightSMSClient(sim.base_url, BETA.login, ACME.api_key, retry=FAST_RETRY) as client,
            pytest.raises(AuthenticationError, match="error 6"),
        ):
            client.fetch_day(D14)
        with (
            LightSMSClient(sim.base_url, "nobody", ACME.api_key, retry=FAST_RETRY) as client,
            pytest.raises(AuthenticationError, match="error 7"),
        ):
            client.fetch_day(D14)
        assert ACME.api_key not in repr(sim.login_state(ACME.login))
        with pytest.raises(ValueError, match="already serves login 'beta-login'"):
            sim.add_login(BETA.login, "other-key")


def test_the_account_flag_takes_login_colon_key_and_refuses_anything_else() -> None:
    assert parse_account("beta-brand:k2:with-colon") == ("beta-brand", "k2:with-colon")
    for bad in ("beta-brand", ":k2", "beta-brand:"):
        with pytest.raises(ConfigurationError, match="--account takes LOGIN:API_KEY"):
            parse_account(bad)
