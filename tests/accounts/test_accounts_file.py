"""The accounts file (LIGHTSMS_ACCOUNTS_FILE): what it gives each account, and every mistake
refused with the file, the place and the fix; `check` names the failing account over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from several_accounts import ACME, BETA, GAMMA, serve, write_accounts_file

from lightsms_pipeline.accounts import AccountsFileError, load_accounts, missing_key_variables
from lightsms_pipeline.cli.check import run_check
from lightsms_pipeline.settings import Settings

GOOD = """\
accounts:
  - name: acme
    login: acme-login
    api_key_env: ACME_LIGHTSMS_KEY
  - name: beta
    login: beta-login
    api_key_env: BETA_LIGHTSMS_KEY
    timezone: Europe/Riga
    start_date: 2025-03-01
    rules: beta-rules.yaml
"""


def refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "accounts.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AccountsFileError) as error:
        load_accounts(path, Settings())
    message = str(error.value)
    assert all(line.startswith(f"{path}: ") for line in message.splitlines()), message
    return message


def test_each_account_gets_the_global_settings_with_its_own_zone_start_rules_and_data_root(
    tmp_path: Path,
) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(GOOD, encoding="utf-8")
    acme, beta = load_accounts(path, Settings(data_dir="s3://bucket/sms/", timezone="Europe/Vilnius"))
    assert (acme.name, acme.login, acme.api_key_env) == ("acme", "acme-login", "ACME_LIGHTSMS_KEY")
    assert acme.settings.data_dir == "s3://bucket/sms/account=acme"
    assert acme.settings.timezone == "Europe/Vilnius" and acme.settings.start_date == "2025-01-01"
    assert beta.settings.data_dir == "s3://bucket/sms/account=beta"
    assert (beta.settings.timezone, beta.settings.start_date) == ("Europe/Riga", "2025-03-01")
    assert beta.settings.rules_file == str(tmp_path / "beta-rules.yaml")  # relative to the file
    assert missing_key_variables([acme, beta], {"ACME_LIGHTSMS_KEY": "k"}) == [beta]


def test_an_unknown_key_is_refused_with_the_account_its_line_and_the_nearest_key(tmp_path: Path) -> None:
    message = refused(tmp_path, GOOD.replace("    timezone: Europe/Riga", "    timezon: Europe/Riga"))
    assert "accounts[1] ('beta', line 5): unknown key 'timezon' (did you mean 'timezone'?)" in message


def test_a_missing_key_variable_field_is_refused_saying_what_to_give(tmp_path: Path) -> None:
    message = refused(tmp_path, GOOD.replace("    api_key_env: ACME_LIGHTSMS_KEY\n", ""))
    assert (
        "accounts[0] ('acme', line 2): api_key_env is missing; give the NAME of the environment variable"
        in message
    )


def test_a_duplicate_login_is_refused_naming_both_accounts(tmp_path: Path) -> None:
    message = refused(tmp_path, GOOD.replace("login: beta-login", "login: acme-login"))
    assert "accounts[1] (line 5): duplicate login 'acme-login', already used by accounts[0]" in message


def test_a_duplicate_name_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, GOOD.replace("name: beta", "name: acme"))
    assert "accounts[1] (line 5): duplicate name 'acme', already used by accounts[0]" in message


@pytest.mark.parametrize("name", ["Acme", "1acme", "ac-me", "acme/x", ""])
def test_a_name_that_is_no_slug_is_refused_with_the_pattern(tmp_path: Path, name: str) -> None:
    message = refused(tmp_path, GOOD.replace("name: acme", f"name: '{name}'"))
    assert f"name={name!r} is not valid; give a slug" in message and "[a-z][a-z0-9_]*" in message


def test_a_bad_time_zone_or_date_is_refused_with_the_expected_form(tmp_path: Path) -> None:
    message = refused(
        tmp_path, GOOD.replace("Europe/Riga", "Europe/Atlantis").replace("2025-03-01", "2025-13-01")
    )
    assert "accounts[1] ('beta', line 5): timezone: 'Europe/Atlantis' is not an IANA time zone" in message
    assert (
        "accounts[1] ('beta', line 5): start_date: '2025-13-01' is not a date written YYYY-MM-DD" in message
    )


def test_a_key_pasted_instead_of_its_variable_name_is_refused_without_showing_it(tmp_path: Path) -> None:
    key = "sk-live-4f3e2d1c-0b9a-8f7e"
    message = refused(tmp_path, GOOD.replace("api_key_env: ACME_LIGHTSMS_KEY", f"api_key_env: {key}"))
    assert (
        "accounts[0] ('acme', line 2): api_key_env is not a variable name (the value is not shown)" in message
    )
    assert key not in message and "sk-live" not in message


def test_a_key_variable_named_like_a_setting_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, GOOD.replace("ACME_LIGHTSMS_KEY", "LIGHTSMS_ACME_KEY"))
    assert "starts with LIGHTSMS_, which is reserved for settings; name the variable e.g." in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accounts: []\n", "the list is empty; list at least one account"),
        ("- name: acme\n", "the top level must be a mapping with an `accounts:` list"),
        ("accounts:\n  - name: [acme\n", "invalid YAML: line 3, column 1"),
        (GOOD + "extra: 1\n", "unknown top-level key 'extra'"),
    ],
)
def test_a_file_that_cannot_work_is_refused_at_load(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(tmp_path, text)


def test_a_missing_file_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(AccountsFileError, match=r"nowhere\.yaml: file not found \(LIGHTSMS_ACCOUNTS_FILE\)"):
        load_accounts(tmp_path / "nowhere.yaml", Settings())


def test_check_prints_one_line_per_account_and_names_the_failing_ones_never_a_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts_file = write_accounts_file(tmp_path / "accounts.yaml", [ACME, BETA, GAMMA])
    wrong = "sk-wrong-0000000000000000"
    environ = {ACME.api_key_env: ACME.api_key, BETA.api_key_env: wrong}  # GAMMA's variable unset
    with serve([ACME, BETA, GAMMA]).start() as sim:
        settings = Settings(base_url=sim.base_url, timeout_seconds=2, accounts_file=str(accounts_file))
        assert run_check(settings, environ, days=1) == 1
        out = capsys.readouterr().out
        lines = out.splitlines()
        assert lines[1].startswith("ok   account acme (login acme-login): server clock offset")
        assert lines[2].startswith("FAIL account beta (login beta-login): credentials refused: the API key")
        assert f"the API key is wrong ({BETA.api_key_env})" in lines[2]
        assert (
            f"Invalid signature; check {BETA.api_key_env}" in lines[2] and "check LIGHTSMS_" not in lines[2]
        )
        assert lines[3] == (
            f"FAIL account gamma (login gamma-login): {GAMMA.api_key_env} is not set; export it with the "
            f"account's API key (api_key_env in {accounts_file})"
        )
        assert lines[4] == "2 of 3 accounts failed: beta, gamma"
        assert not any(k in out for k in (wrong, ACME.api_key, BETA.api_key, GAMMA.api_key))

        environ = {a.api_key_env: a.api_key for a in (ACME, BETA, GAMMA)}
        assert run_check(settings, environ, days=1) == 0
        assert capsys.readouterr().out.splitlines()[-1] == "all 3 accounts work."
