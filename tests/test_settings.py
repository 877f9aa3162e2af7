"""Settings: read once from `LIGHTSMS_*`, every bad value refused with the variable, the value and
what is expected; the hash salt never shown."""

from __future__ import annotations

import pytest

from lightsms_pipeline.contract import DEFAULT_BASE_URL, DEFAULT_TIMEZONE
from lightsms_pipeline.errors import ConfigurationError
from lightsms_pipeline.settings import Settings

SALT = "salt-7f3a9c1e5b"


def refused(**variables: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(variables)
    return str(caught.value)


def test_no_variables_give_the_documented_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.base_url, settings.timezone, settings.data_dir) == (
        DEFAULT_BASE_URL,
        DEFAULT_TIMEZONE,
        "data",
    )
    assert (settings.start_date, settings.parallelism, settings.lookback_days) == ("2025-01-01", 8, 2)
    assert (settings.max_attempts, settings.timeout_seconds, settings.run_retries) == (6, 30.0, 2)
    assert (settings.daily_cron, settings.intraday_cron, settings.response_format) == (
        "15 0 * * *",
        "0 * * * *",
        "json",
    )
    assert settings.salt == ""


def test_each_variable_reaches_its_setting_typed() -> None:
    settings = Settings.from_env(
        {
            "LIGHTSMS_TIMEZONE": "Europe/Riga",
            "LIGHTSMS_PARALLELISM": "3",
            "LIGHTSMS_TIMEOUT_SECONDS": "2.5",
            "LIGHTSMS_RESPONSE_FORMAT": "xml",
            "LIGHTSMS_BASE_URL": "http://127.0.0.1:8765/",
            "LIGHTSMS_SENDER_HASH_SALT": SALT,
        }
    )
    assert settings.timezone == "Europe/Riga" and settings.parallelism == 3
    assert settings.timeout_seconds == 2.5 and settings.response_format == "xml"
    assert settings.base_url == "http://127.0.0.1:8765"  # one trailing slash less, one form
    assert settings.salt == SALT


def test_an_empty_variable_counts_as_unset() -> None:
    assert Settings.from_env({"LIGHTSMS_PARALLELISM": "", "LIGHTSMS_TIMEZONE": ""}) == Settings()


def test_credentials_are_not_settings_but_are_not_refused_either() -> None:
    settings = Settings.from_env({"LIGHTSMS_LOGIN": "login-x1", "LIGHTSMS_API_KEY": "key-x2"})
    assert "login-x1" not in repr(settings) and "key-x2" not in repr(settings)
    assert "LIGHTSMS_LOGIN" not in settings.to_env() and "LIGHTSMS_API_KEY" not in settings.to_env()


GREATER_OR_EQUAL = "Input should be greater than or equal to"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TIMEZONE", "Mars/Base", "is not an IANA time zone"),
        ("TIMEZONE", "Europe", "is not an IANA time zone"),
        ("START_DATE", "2025-02-30", "is not a date written YYYY-MM-DD"),
        ("RESPONSE_FORMAT", "csv", "Input should be 'json' or 'xml'"),
        ("PARALLELISM", "0", f"{GREATER_OR_EQUAL} 1"),
        ("PARALLELISM", "65", "Input should be less than or equal to 64"),
        ("PARALLELISM", "many", "Input should be a valid integer"),
        ("LOOKBACK_DAYS", "-1", f"{GREATER_OR_EQUAL} 0"),
        ("MAX_ATTEMPTS", "0", f"{GREATER_OR_EQUAL} 1"),
        ("RUN_RETRIES", "-2", f"{GREATER_OR_EQUAL} 0"),
        ("RUN_RETRY_DELAY_SECONDS", "-1", f"{GREATER_OR_EQUAL} 0"),
        ("TIMEOUT_SECONDS", "0", "Input should be greater than 0"),
        ("DAILY_CRON", "daily", "is not a cron expression of five fields"),
        ("INTRADAY_CRON", "* * *", "is not a cron expression of five fields"),
        ("BASE_URL", "www.lightsms.com", "must start with http:// or https://"),
        ("BACKFILL_RUN_DAYS", "-1", "must be 0 (a backfill is one run) or the number of days in each"),
        ("BACKFILL_RUN_DAYS", "7.5", "Input should be a valid integer"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable_value_and_expectation(variable, value, expected) -> None:
    assert f"LIGHTSMS_{variable}={value!r}: {expected}" in refused(**{f"LIGHTSMS_{variable}": value})


def test_backfill_run_days_is_0_for_one_run_per_backfill_unless_set_to_a_number_of_days() -> None:
    assert Settings.from_env({}).backfill_run_days == 0
    assert Settings.from_env({"LIGHTSMS_BACKFILL_RUN_DAYS": ""}).backfill_run_days == 0
    assert Settings.from_env({"LIGHTSMS_BACKFILL_RUN_DAYS": "30"}).backfill_run_days == 30


def test_every_bad_value_is_reported_at_once() -> None:
    text = refused(LIGHTSMS_PARALLELISM="0", LIGHTSMS_TIMEZONE="Nowhere")
    assert "LIGHTSMS_PARALLELISM" in text and "LIGHTSMS_TIMEZONE" in text


def test_a_misspelt_variable_is_refused_with_the_nearest_name() -> None:
    text = refused(LIGHTSMS_TIMEZOME="Europe/Riga")
    assert text == "LIGHTSMS_TIMEZOME is not a setting (did you mean LIGHTSMS_TIMEZONE?)"


@pytest.mark.parametrize("value", ["auto", "2", "1", ""])
def test_worker_processes_are_refused_as_removed_saying_why_and_what_to_do(value: str) -> None:
    text = refused(LIGHTSMS_WORKER_PROCESSES=value, LIGHTSMS_PARALLELISM="4")
    assert text.startswith("LIGHTSMS_WORKER_PROCESSES was removed in 0.2.0: ")
    assert "0.81x-1.26x" in text and "double the memory" in text
    assert text.endswith("Unset it.")


@pytest.mark.parametrize("value", ["/var/cache/lightsms", "off", ""])
def test_the_sender_cache_dir_is_refused_as_removed_saying_why_and_what_to_do(value: str) -> None:
    text = refused(LIGHTSMS_CACHE_DIR=value)
    assert text.startswith("LIGHTSMS_CACHE_DIR was removed in 0.2.0: ")
    assert "1.17x" in text and "erasure request" in text
    assert "Unset it, and delete the folder it named" in text


def test_both_removed_settings_are_named_at_once_and_in_code_too() -> None:
    text = refused(LIGHTSMS_CACHE_DIR="off", LIGHTSMS_WORKER_PROCESSES="auto")
    assert text.index("LIGHTSMS_CACHE_DIR was removed") < text.index("LIGHTSMS_WORKER_PROCESSES was removed")
    with pytest.raises(ConfigurationError, match=r"LIGHTSMS_WORKER_PROCESSES was removed in 0\.2\.0"):
        Settings().replace(worker_processes=2)
    with pytest.raises(ConfigurationError, match=r"LIGHTSMS_CACHE_DIR was removed in 0\.2\.0"):
        Settings.validated({"cache_dir": "off"})


def test_the_salt_is_in_no_repr_str_or_dump() -> None:
    settings = Settings.from_env({"LIGHTSMS_SENDER_HASH_SALT": SALT})
    assert SALT not in repr(settings)
    assert SALT not in str(settings)
    assert SALT not in str(settings.model_dump())
    assert SALT not in settings.model_dump_json()


def test_a_bad_salt_type_error_does_not_echo_the_salt() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.validated({"sender_hash_salt": ["not", SALT]})
    assert "LIGHTSMS_SENDER_HASH_SALT" in str(caught.value) and SALT not in str(caught.value)


def test_to_env_round_trips_through_from_env_salt_included() -> None:
    settings = Settings(timezone="Europe/Riga", parallelism=3, sender_hash_salt=SALT, rules_file="r.yaml")
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env(settings.to_env()).salt == SALT


def test_replace_validates_the_change() -> None:
    with pytest.raises(ConfigurationError, match="LIGHTSMS_PARALLELISM"):
        Settings().replace(parallelism=0)
    assert Settings(sender_hash_salt=SALT).replace(parallelism=2).salt == SALT
