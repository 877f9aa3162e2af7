"""`lightsms-pipeline check`: credentials, the server clock and recent volume per account, then the
Dagster instance, each in words a person can act on."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lightsms_pipeline.api.client import LightSMSClient, RetryPolicy
from lightsms_pipeline.errors import AuthenticationError, LightSMSError, UnavailableError
from lightsms_pipeline.settings import Settings


def run_check(settings: Settings, environ: os._Environ[str] | dict[str, str], days: int) -> int:
    """Tell a new user whether the account works, with one actionable line per failure; with
    `LIGHTSMS_ACCOUNTS_FILE`, every account, one line each, naming the failing ones."""
    if settings.accounts_file:
        return run_accounts_check(settings, environ, days)
    login = environ.get("LIGHTSMS_LOGIN", "")
    api_key = environ.get("LIGHTSMS_API_KEY", "")
    if not login or not api_key:
        print(
            "LIGHTSMS_LOGIN and LIGHTSMS_API_KEY must be set (your LightSMS login and API key); "
            "to try without an account run `lightsms-pipeline simulate` and point LIGHTSMS_BASE_URL at it."
        )
        return 1
    print(f"endpoint: {settings.base_url}  login: {login}")
    ok = check_credentials(settings, login, api_key, days, print)
    if ok:
        print("credentials work.")
    return 0 if ok else 1


def check_credentials(
    settings: Settings,
    login: str,
    api_key: str,
    days: int,
    say: Callable[[str], None],
    *,
    login_source: str = "LIGHTSMS_LOGIN",
    key_source: str = "LIGHTSMS_API_KEY",
) -> bool:
    """Server clock, then the last `days` days' counts, each said in one line (`ok   …` or
    `FAIL …`); `login_source`/`key_source` name where a wrong login or key is fixed."""
    retry = RetryPolicy(attempts=2, total_seconds=15, read_timeout=min(settings.timeout_seconds, 15))
    names = (login_source, key_source)
    with LightSMSClient(settings.base_url, login, api_key, retry=retry, credential_names=names) as client:
        try:
            offset = client.server_time_offset()
        except UnavailableError as exc:
            say(
                f"FAIL cannot reach {settings.base_url}: {exc.problem}. "
                "Check LIGHTSMS_BASE_URL and the network."
            )
            return False
        except LightSMSError as exc:
            say(f"FAIL {settings.base_url} does not answer like LightSMS: {exc}")
            return False
        say(f"ok   server clock offset: {offset:+.1f} s")
        today = datetime.now(ZoneInfo(settings.timezone)).date()
        for n in range(days):
            day = today - timedelta(days=n)
            try:
                count = len(client.fetch_day(day))
            except AuthenticationError as exc:
                advice = {
                    7: f"the login is wrong ({login_source})",
                    6: f"the API key is wrong ({key_source})",
                }
                say(f"FAIL credentials refused: {advice.get(exc.code or 0, exc.problem)} [{exc}]")
                return False
            except LightSMSError as exc:
                say(f"FAIL {day}: {exc}")
                return False
            say(f"ok   {day}: {count} incoming messages")
    return True


def run_accounts_check(settings: Settings, environ: os._Environ[str] | dict[str, str], days: int) -> int:
    """One line per account of the accounts file: `ok   account acme …` or `FAIL account beta: …`
    (an unset key variable, a refused login or key, an unreachable server), never a key."""
    from lightsms_pipeline.accounts import AccountsFileError, load_accounts

    try:
        accounts = load_accounts(settings.accounts_file, settings)
    except AccountsFileError as exc:
        print(f"FAIL {exc}")
        return 1
    print(f"endpoint: {settings.base_url}  accounts: {len(accounts)} ({settings.accounts_file})")
    failed = []
    for account in accounts:
        who = f"account {account.name} (login {account.login})"
        api_key = environ.get(account.api_key_env, "")
        if not api_key:
            print(
                f"FAIL {who}: {account.api_key_env} is not set; export it with the account's API key "
                f"(api_key_env in {settings.accounts_file})"
            )
            failed.append(account.name)
            continue
        lines: list[str] = []
        source = f"login in {settings.accounts_file}"
        if check_credentials(
            account.settings, account.login, api_key, days, lines.append,
            login_source=source, key_source=account.api_key_env,
        ):  # fmt: skip
            counts = "; ".join(line.removeprefix("ok   ") for line in lines)
            print(f"ok   {who}: {counts}")
        else:
            print(f"FAIL {who}: {lines[-1].removeprefix('FAIL ')}")
            failed.append(account.name)
    if failed:
        print(f"{len(failed)} of {len(accounts)} accounts failed: {', '.join(failed)}")
        return 1
    print(f"all {len(accounts)} accounts work.")
    return 0


def run_instance_check(environ: os._Environ[str] | dict[str, str]) -> int:
    """The Dagster instance of $DAGSTER_HOME opens (lightsms_pipeline/cli/instance_check.py)."""
    from lightsms_pipeline.cli.instance_check import check_instance

    result = check_instance(environ)
    for line in result.lines:
        print(line)
    return 1 if result.failed else 0
