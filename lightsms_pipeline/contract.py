"""The names and formats other code and people rely on, each written once.

Asset names, dataset file names, the API's date format and the provider defaults are part of the
public contract (README: "Guarantees"); every module imports them from here so that a
rename is one edit and a mismatch between two copies cannot happen.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# --- Dagster asset names (also the dataset folder names) -----------------------------------------
INCOMING = "incoming_messages"
CLASSIFIED = "classified_messages"
SUPPORT_INBOX = "support_inbox"
OPT_OUT_LIST = "opt_out_list"
POLL_RESULTS = "poll_results"
STOP_LIST_SYNC = "stop_list_sync"  # opt-outs pushed to LightSMS's stop list (docs/rules.md §8)
REPLIES = "replies"  # answers to the senders, sent once (docs/rules.md §9)

# --- files of the unpartitioned datasets, relative to LIGHTSMS_DATA_DIR --------------------------
OPT_OUT_PARQUET = "opt_out_list.parquet"
OPT_OUT_CSV = "opt_out_list.csv"
POLL_RESULTS_PARQUET = "poll_results.parquet"
POLL_CHART_PNG = "reports/poll_results.png"
# Per-day extracts the whole-history assets keep between runs (datasets/history_state.py).
HISTORY_STATE_DIR = "_history"
STOP_LIST_RECORD_PARQUET = "stop_list_record.parquet"  # every push, lookup and dry-run plan
STOP_LIST_CONFLICTS_PARQUET = "stop_list_conflicts.parquet"  # what needs a person
STOP_LIST_CLOCK_CHECK = "opt_outs_reach_stop_list_in_time"  # the asset check of the 10-day clock
REPLY_RECORD_PARQUET = "reply_record.parquet"  # every reply decided, sent, refused or unknown
NO_UNKNOWN_REPLIES_CHECK = "no_unknown_replies"  # the asset check that shows every unknown reply

# --- Dagster wiring ------------------------------------------------------------------------------
GROUP = "lightsms"
POOL = "lightsms_api"  # the concurrency pool every call to LightSMS runs in
MAIN_JOB = "lightsms_job"
DAILY_SCHEDULE = "lightsms_daily"
INTRADAY_SCHEDULE = "lightsms_intraday"
LIVE_SENSOR = "lightsms_live"  # new messages picked up within the minute (docs/rules.md §10)
LIVE_JOB = "lightsms_live_job"

# --- the API's formats ---------------------------------------------------------------------------
API_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # `date` of a message, and the `from`/`to` parameters
PARTITION_DATE_FORMAT = "%Y-%m-%d"  # daily partition keys and `date=` folders

# --- provider defaults (overridden by LIGHTSMS_* settings) ---------------------------------------
DEFAULT_BASE_URL = "https://www.lightsms.com"
DEFAULT_TIMEZONE = "Europe/Vilnius"
DEFAULT_REGION = "LT"


def is_iana_zone(name: str) -> bool:
    """True if zoneinfo can load `name`: asked the same way by the settings, the rules file and
    the accounts file, so the three never disagree on what they accept. Beyond unknown names,
    zoneinfo raises ValueError for malformed ones (`../x`) and OSError for a folder (`Europe`)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


# --- several accounts (LIGHTSMS_ACCOUNTS_FILE; docs/accounts.md) -------------------------
# Each account's names are today's single-account names with the account's slug added, so one
# rule gives the asset key prefix, the group, the pool, the job, the schedules, the resources and
# the data root of an account.
ACCOUNT_NAME_PATTERN = r"[a-z][a-z0-9_]*"  # a slug: usable in keys, pools, job names and paths
ACCOUNT_DIR_PREFIX = "account="  # <DATA_DIR>/account=<name>/ is the account's dataset root (Hive)
ALL_ACCOUNTS_JOB = MAIN_JOB  # with several accounts, the job over every account's assets


def account_data_dir(data_dir: str, name: str) -> str:
    """`<DATA_DIR>/account=<name>`, for a local path and an fsspec URL (`s3://…`) alike."""
    return f"{data_dir.rstrip('/')}/{ACCOUNT_DIR_PREFIX}{name}"


def account_pool(name: str) -> str:
    """The account's own concurrency pool: one account's backfill never waits for another's."""
    return f"{POOL}/{name}"


def account_scoped(base: str, name: str) -> str:
    """`lightsms_job` -> `acme_lightsms_job`: the account's job, schedule, group or resource key."""
    return f"{name}_{base}"
