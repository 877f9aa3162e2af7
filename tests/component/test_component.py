"""`LightSMSComponent` loaded from a user's `defs.yaml` by Dagster's component test utilities:
the definitions it builds, where the credentials come from, and the messages of a bad file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from component_sandbox import TYPE_LINE, load_error, loaded
from conftest import API_KEY
from dagster import AssetKey, EnvVar
from dagster.components.testing import create_defs_folder_sandbox

from lightsms_pipeline.accounts import AccountsFileError
from lightsms_pipeline.component import LightSMSComponent
from lightsms_pipeline.contract import DEFAULT_BASE_URL, MAIN_JOB
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.errors import ConfigurationError
from lightsms_pipeline.resources import LightSMSResource, ParquetDatasetResource
from lightsms_pipeline.settings import API_KEY_VARIABLE, LOGIN_VARIABLE, Settings

ONE_ACCOUNT = (
    TYPE_LINE
    + """
attributes:
  api_key_env: ACME_LIGHTSMS_KEY
  base_url: http://127.0.0.1:1
  data_dir: /srv/lightsms
  timezone: Europe/Riga
  start_date: 2024-10-01
  parallelism: 5
"""
)


def keys(defs) -> set[str]:  # type: ignore[no-untyped-def]
    return {k.to_user_string() for k in defs.resolve_all_asset_keys()}


def test_a_defs_yaml_builds_what_build_definitions_builds_for_the_same_settings() -> None:
    with loaded(ONE_ACCOUNT) as (component, defs, _):
        settings = Settings(
            base_url="http://127.0.0.1:1",
            data_dir="/srv/lightsms",
            timezone="Europe/Riga",
            start_date="2024-10-01",  # written unquoted: Dagster's YAML keeps a date as text
            parallelism=5,
        )
        assert component.settings == settings
        expected = build_definitions(settings)
        assert keys(defs) == keys(expected) and "incoming_messages" in keys(defs)
        assert [j.name for j in defs.jobs or []] == [j.name for j in expected.jobs or []]
        assert MAIN_JOB in {j.name for j in defs.jobs or []}
        assert sorted(s.name for s in defs.schedules or []) == sorted(
            s.name for s in expected.schedules or []
        )
        job = defs.resolve_job_def(MAIN_JOB)
        assert job.partitions_def.timezone == "Europe/Riga"  # type: ignore[union-attr]
        assert job.partitions_def.get_first_partition_key() == "2024-10-01"  # type: ignore[union-attr]


def test_the_key_reaches_dagster_as_the_name_of_its_variable_and_the_login_from_login_env() -> None:
    with loaded(ONE_ACCOUNT) as (_, defs, path):
        lightsms = defs.resources["lightsms"]
        assert isinstance(lightsms, LightSMSResource)
        assert isinstance(lightsms.api_key, EnvVar) and lightsms.api_key.env_var_name == "ACME_LIGHTSMS_KEY"
        assert isinstance(lightsms.login, EnvVar) and lightsms.login.env_var_name == LOGIN_VARIABLE
        assert (lightsms.base_url, lightsms.pool_size) == ("http://127.0.0.1:1", 5)
        dataset = defs.resources["dataset"]
        assert isinstance(dataset, ParquetDatasetResource) and dataset.data_dir == "/srv/lightsms"
        assert API_KEY not in path.read_text(encoding="utf-8")


def test_a_login_written_in_the_file_is_the_login_and_the_key_keeps_its_default_variable() -> None:
    with loaded(TYPE_LINE + "attributes:\n  login: 12345\n") as (_, defs, _path):
        lightsms = defs.resources["lightsms"]
        assert lightsms.login == "12345"  # a login of digits stays text
        assert isinstance(lightsms.api_key, EnvVar) and lightsms.api_key.env_var_name == API_KEY_VARIABLE


def test_every_setting_is_an_attribute_of_the_schema_and_a_secret_one_names_a_variable() -> None:
    properties = LightSMSComponent.get_model_cls().model_json_schema()["properties"]  # type: ignore[union-attr]
    for name in Settings.model_fields:
        assert (f"{name}_env" if name == "sender_hash_salt" else name) in properties
    assert {"login", "login_env", "api_key_env", "accounts"} <= set(properties)
    assert "sender_hash_salt" not in properties and "api_key" not in properties


def test_templates_are_rendered_before_the_settings_check_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COMPONENT_TEST_PARALLELISM", "3")
    monkeypatch.setenv("COMPONENT_TEST_ZONE", "Europe/Tallinn")
    monkeypatch.setenv("COMPONENT_TEST_DATA", str(tmp_path))
    text = TYPE_LINE + (
        'attributes:\n  parallelism: "{{ env.COMPONENT_TEST_PARALLELISM }}"\n'
        '  timezone: "{{ env.COMPONENT_TEST_ZONE }}"\n'
        '  data_dir: "{{ env.COMPONENT_TEST_DATA }}/sms"\n'
    )
    with loaded(text) as (component, _, _path):
        settings = component.settings
        assert (settings.parallelism, settings.timezone, settings.data_dir) == (
            3,
            "Europe/Tallinn",
            f"{tmp_path}/sms",
        )


def test_the_salt_is_read_from_the_variable_its_attribute_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPONENT_TEST_SALT", "pepper")
    with loaded(TYPE_LINE + "attributes:\n  sender_hash_salt_env: COMPONENT_TEST_SALT\n") as (component, *_):
        assert component.settings.salt == "pepper"


def test_a_misspelt_attribute_is_refused_naming_the_nearest_one_and_its_line() -> None:
    error = load_error(TYPE_LINE + "attributes:\n  data_dir: data\n  timezon: Europe/Vilnius\n")
    assert isinstance(error, ConfigurationError)
    assert "defs.yaml:4: timezon is not an attribute" in str(error)
    assert "(did you mean timezone?)" in str(error)


def test_a_removed_setting_is_refused_saying_why_it_went() -> None:
    error = load_error(TYPE_LINE + "attributes:\n  cache_dir: /tmp/cache\n")
    assert isinstance(error, ConfigurationError)
    assert "cache_dir was removed in 0.2.0" in str(error) and "phone numbers" in str(error)


def test_a_bad_value_is_refused_in_the_settings_words_naming_the_attribute() -> None:
    with pytest.raises(ConfigurationError) as settings_error:
        Settings.validated({"timezone": "Mars/Base"})
    settings_words = str(settings_error.value).split(": ", 1)[1]  # after "LIGHTSMS_TIMEZONE='Mars/Base'"
    error = load_error(TYPE_LINE + "attributes:\n  timezone: Mars/Base\n  parallelism: 0\n")
    assert isinstance(error, ConfigurationError)
    assert f"defs.yaml:3: timezone='Mars/Base': {settings_words}" in str(error)
    assert "defs.yaml:4: parallelism=0: Input should be greater than or equal to 1" in str(error)


def test_a_secret_written_in_the_file_is_refused_without_showing_it() -> None:
    error = load_error(TYPE_LINE + f"attributes:\n  api_key: {API_KEY}\n")
    assert isinstance(error, ConfigurationError)
    assert "api_key is not an attribute: a secret is never written in defs.yaml" in str(error)
    assert "the NAME of the variable that holds it in api_key_env" in str(error)
    assert API_KEY not in str(error)
    salt = load_error(TYPE_LINE + "attributes:\n  sender_hash_salt: pepper-0f9e8d\n")
    assert "the NAME of the variable that holds it in sender_hash_salt_env" in str(salt)
    assert "pepper-0f9e8d" not in str(salt)
    pasted = load_error(TYPE_LINE + f"attributes:\n  api_key_env: {API_KEY}\n")
    assert "api_key_env is not a variable name (the value is not shown)" in str(pasted)
    assert API_KEY not in str(pasted)


def test_accounts_listed_in_the_file_each_get_their_own_names_and_key_variable(tmp_path: Path) -> None:
    text = (
        TYPE_LINE
        + f"""
attributes:
  data_dir: {tmp_path}
  accounts:
    - name: acme
      login: acme-login
      api_key_env: ACME_LIGHTSMS_KEY
    - name: beta
      login: beta-login
      api_key_env: BETA_LIGHTSMS_KEY
      timezone: Europe/Riga
      start_date: 2024-12-01
"""
    )
    with loaded(text) as (_, defs, _path):
        assert {k.split("/")[0] for k in keys(defs)} == {"acme", "beta"}
        assert {f"{n}_{MAIN_JOB}" for n in ("acme", "beta")} <= {j.name for j in defs.jobs or []}
        for name in ("acme", "beta"):
            lightsms = defs.resources[f"{name}_lightsms"]
            assert lightsms.login == f"{name}-login"
            assert lightsms.api_key.env_var_name == f"{name.upper()}_LIGHTSMS_KEY"
            assert defs.resources[f"{name}_dataset"].data_dir == f"{tmp_path}/account={name}"
        beta = defs.resolve_job_def(f"beta_{MAIN_JOB}")
        assert beta.partitions_def.timezone == "Europe/Riga"  # type: ignore[union-attr]
        assert beta.partitions_def.get_first_partition_key() == "2024-12-01"  # type: ignore[union-attr]
        assert defs.resolve_assets_def(AssetKey(["acme", "incoming_messages"])) is not None


def test_a_bad_account_gets_the_accounts_files_message_with_its_line() -> None:
    text = (
        TYPE_LINE
        + """attributes:
  accounts:
    - name: acme
      login: acme-login
      api_kye_env: ACME_LIGHTSMS_KEY
"""
    )
    error = load_error(text)
    assert isinstance(error, AccountsFileError)
    assert (
        "defs.yaml: accounts[0] ('acme', line 4): unknown key 'api_kye_env' (did you mean 'api_key_env'?)"
        in str(error)
    )


def test_a_login_beside_accounts_is_refused_each_account_naming_its_own() -> None:
    text = TYPE_LINE + (
        "attributes:\n  login: x\n  accounts:\n    - {name: acme, login: a, api_key_env: ACME_LIGHTSMS_KEY}\n"
    )
    error = load_error(text)
    assert isinstance(error, ConfigurationError)
    assert "each names its own login and api_key_env" in str(error) and "remove login" in str(error)


def test_the_scaffolded_defs_yaml_loads_for_the_real_api_with_the_key_in_a_variable() -> None:
    with create_defs_folder_sandbox() as sandbox:
        folder = sandbox.scaffold_component(component_cls=LightSMSComponent, defs_path="lightsms")
        text = (folder / "defs.yaml").read_text(encoding="utf-8")
        assert f"api_key_env: {API_KEY_VARIABLE}" in text and "127.0.0.1" not in text
        with sandbox.load_component_and_build_defs(defs_path=folder) as (component, defs):
            assert isinstance(component, LightSMSComponent)
            assert component.settings.base_url == DEFAULT_BASE_URL
            assert "incoming_messages" in keys(defs)


def test_import_lightsms_pipeline_leaves_dagster_unimported_until_the_component_is_asked_for() -> None:
    code = (
        "import sys, lightsms_pipeline\n"
        "print('dagster' in sys.modules, 'LightSMSComponent' in dir(lightsms_pipeline))\n"
        "print(lightsms_pipeline.LightSMSComponent.__name__, 'dagster' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True", "LightSMSComponent", "True"]


def test_the_process_lightsms_variables_do_not_reach_a_component_built_from_its_defs_yaml() -> None:
    """A user's project may run where `LIGHTSMS_*` variables are set for something else (or
    misspelt, which `Settings.from_env` refuses): the component builds from its file alone, and
    never loads the environment's code location (`lightsms_pipeline.definitions`)."""
    code = (
        "import sys\n"
        "from component_sandbox import loaded\n"
        "with loaded('type: lightsms_pipeline.LightSMSComponent\\nattributes:\\n  timezone: Europe/Riga\\n')"
        " as (component, defs, _):\n"
        "    print(component.settings.timezone, 'lightsms_pipeline.definitions' in sys.modules)\n"
    )
    env = {**os.environ, "LIGHTSMS_TIMEZON": "Mars/Base", "LIGHTSMS_DATA_DIR": "/elsewhere"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["Europe/Riga", "False"]
