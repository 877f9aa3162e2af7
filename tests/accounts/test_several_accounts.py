"""Several accounts in one deployment, over HTTP to one simulator serving their logins, with real
Dagster runs and real Parquet: each account's data is its own, message for message; one account's
backfill, wrong key or STOP never touches another's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from conftest import RULES_FILE
from dagster import AssetKey, DagsterInstance, DagsterInvalidConfigError
from several_accounts import (
    ACME,
    ALL,
    BETA,
    D14,
    D15,
    D16,
    Deployment,
    account_job,
    day_rows,
    file_digests,
    serve,
    write_accounts_file,
)
from test_readme import DOCS, python_blocks

from lightsms_pipeline.contract import (
    ALL_ACCOUNTS_JOB,
    CLASSIFIED,
    INCOMING,
    OPT_OUT_LIST,
    OPT_OUT_PARQUET,
    STOP_LIST_SYNC,
)
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.storage.parquet import Dataset

# What each test needs and no more (no inbox, no poll chart): the runs stay short.
UPSTREAM = (INCOMING, CLASSIFIED, OPT_OUT_LIST)
SYNC_PATH = (*UPSTREAM, STOP_LIST_SYNC)


@pytest.fixture
def deployment(
    request: pytest.FixtureRequest,
    data_dir: Path,
    dagster_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Deployment]:
    """Two accounts (acme, beta) by default; `@pytest.mark.parametrize("deployment", [3],
    indirect=True)` for three. Keys are variables, as in production."""
    accounts = ALL[: getattr(request, "param", 2)]
    for account in accounts:
        monkeypatch.setenv(account.api_key_env, account.api_key)
    accounts_file = write_accounts_file(tmp_path / "accounts.yaml", accounts)
    with serve(accounts).start() as sim:
        settings = Settings(
            base_url=sim.base_url,
            data_dir=str(data_dir),
            start_date="2024-10-01",
            parallelism=4,
            max_attempts=2,
            timeout_seconds=5,
            run_retries=0,
            rules_file=str(RULES_FILE),
            accounts_file=str(accounts_file),
        )
        yield Deployment(sim, settings, accounts)


def truth(dep: Deployment, login: str, day: date) -> list[tuple[str, str, str, str]]:
    """What the simulator holds for `login` on `day`: (id_sms, sender, text, login)."""
    messages = dep.simulator.login_state(login).traffic.day(day)
    return [(m.id_sms, m.sender, m.text, login) for m in messages]


@pytest.mark.parametrize("deployment", [3], indirect=True)
def test_three_accounts_each_get_exactly_their_own_messages_and_one_query_reads_them_all(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = deployment
    # one run, every account (what the docs/accounts.md snippet reads)
    result = dep.run(ALL_ACCOUNTS_JOB, D14, D15, assets=UPSTREAM)
    assert result.success
    for account in dep.accounts:
        root = dep.root(account)
        for day in (D14, D15):
            rows = day_rows(root, INCOMING, day)
            expected = truth(dep, account.login, day)
            # message for message (ids, senders, texts byte for byte), no other account's rows
            assert sorted(rows) == sorted(expected), (account.name, day)
            assert len(rows) == len(set(r[0] for r in rows))
    # the accounts' traffic differs, so a mix-up could not pass unnoticed
    ids = [{r[0] for r in day_rows(dep.root(a), INCOMING, D14)} for a in dep.accounts]
    assert ids[0] != ids[1] != ids[2]

    # docs/accounts.md's cross-account snippet, run as written from the data dir's parent
    monkeypatch.chdir(dep.root(ACME).parent.parent)
    (code,) = python_blocks("Layout", DOCS / "accounts.md")
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/accounts.md", "exec"), namespace)
    expected_counts = {
        (a.name, d.isoformat()): len(truth(dep, a.login, d)) for a in dep.accounts for d in (D14, D15)
    }
    per_account_day = namespace["per_account_day"]
    assert {(r[0], r[1]): r[2] for r in per_account_day} == expected_counts  # type: ignore[attr-defined]
    table = namespace["table"]
    got = Counter(zip(table["account"].to_pylist(), table["date"].to_pylist(), strict=True))  # type: ignore[index]
    assert {(a, str(d)): n for (a, d), n in got.items()} == expected_counts
    opted_out = {a.name: Dataset(dep.root(a)).read_file(OPT_OUT_PARQUET).num_rows for a in dep.accounts}
    assert all(opted_out.values())
    assert dict(namespace["opted_out"]) == opted_out  # type: ignore[call-overload]


def test_a_backfill_of_one_account_leaves_the_other_accounts_files_and_status_untouched(
    deployment: Deployment,
) -> None:
    dep = deployment
    assert dep.run(ALL_ACCOUNTS_JOB, D14, assets=UPSTREAM).success
    beta_root = dep.root(BETA)
    before_files = file_digests(beta_root)
    assert {f"{INCOMING}/date={D14}/part-0.parquet", OPT_OUT_PARQUET} <= set(before_files)
    beta_keys = [AssetKey([BETA.name, a]) for a in UPSTREAM]
    with DagsterInstance.get() as instance:
        before_status = {k: instance.get_materialized_partitions(k) for k in beta_keys[:2]}
        before_events = {k: instance.get_latest_materialization_event(k) for k in beta_keys}

    result = dep.run(account_job(ACME), D14, D16, assets=UPSTREAM)  # acme's backfill: one run, three days
    assert result.success
    materialized = {
        (e.asset_key.to_user_string(), e.partition)
        for e in result.all_events
        if e.is_step_materialization and e.asset_key is not None
    }
    assert {d for k, d in materialized if k == f"{ACME.name}/{INCOMING}"} == {
        D14.isoformat(),
        D15.isoformat(),
        D16.isoformat(),
    }
    assert not any(k.startswith(BETA.name + "/") for k, _ in materialized)
    assert day_rows(dep.root(ACME), INCOMING, D16) != []

    assert file_digests(beta_root) == before_files
    with DagsterInstance.get() as instance:
        assert {k: instance.get_materialized_partitions(k) for k in beta_keys[:2]} == before_status
        after_events = {k: instance.get_latest_materialization_event(k) for k in beta_keys}
    assert {k: (e.run_id, e.timestamp) if e else None for k, e in after_events.items()} == {
        k: (e.run_id, e.timestamp) if e else None for k, e in before_events.items()
    }
    assert all(before_events.values())


def test_a_wrong_key_fails_that_accounts_run_naming_the_account_never_the_key(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, data_dir, dagster_home
) -> None:
    dep = deployment
    wrong = "sk-wrong-" + "7" * 24
    monkeypatch.setenv(ACME.api_key_env, wrong)
    failed = dep.run(account_job(ACME), D14, raise_on_error=False)
    assert not failed.success
    messages = " ".join(
        str(e.event_specific_data.error.message)  # type: ignore[union-attr]
        for e in failed.all_events
        if e.is_step_failure
    )
    assert f"account {ACME.name}: {INCOMING}: 1 of 1 days failed" in messages
    assert f"Invalid signature; check {ACME.api_key_env}" in messages  # the variable to fix
    assert wrong not in messages and ACME.api_key not in messages
    assert dep.run(account_job(BETA), D14, assets=[INCOMING]).success
    assert sorted(day_rows(dep.root(BETA), INCOMING, D14)) == sorted(truth(dep, BETA.login, D14))
    assert not (dep.root(ACME) / INCOMING / f"date={D14.isoformat()}").exists()
    for path in [*data_dir.rglob("*"), *dagster_home.rglob("*")]:
        if path.is_file():
            content = path.read_bytes()
            assert not any(k.encode() in content for k in (wrong, ACME.api_key, BETA.api_key)), path


def test_an_unset_key_variable_fails_that_accounts_runs_naming_the_account_and_the_variable(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagster refuses the run at its start (EnvVar): the account's job and resource and the
    variable are named; the other account's runs go on."""
    dep = deployment
    monkeypatch.delenv(BETA.api_key_env)
    with pytest.raises(DagsterInvalidConfigError) as refused:
        dep.run(account_job(BETA), D14)
    text = str(refused.value)
    assert account_job(BETA) in text and BETA.api_key_env in text and "is not set" in text
    assert dep.run(account_job(ACME), D14, assets=[INCOMING]).success
    assert not (dep.root(BETA) / INCOMING).exists()


def test_a_stop_to_one_account_reaches_that_accounts_stop_list_only(deployment: Deployment) -> None:
    dep = deployment
    on = dep.settings.replace(stop_list_sync="on")
    assert dep.run(account_job(ACME), D14, D15, settings=on, assets=SYNC_PATH).success
    acme_list = dep.simulator.login_state(ACME.login).stop_list.entries()
    beta_list = dep.simulator.login_state(BETA.login).stop_list.entries()
    opted_out = Dataset(dep.root(ACME)).read_file(OPT_OUT_PARQUET)["subscriber"].to_pylist()
    phones = {s.removeprefix("+") for s in opted_out if s.startswith("+")}
    assert phones and set(acme_list) == phones
    assert beta_list == {}
    # beta's own opt-outs go to beta's list, and acme's list stays as it was
    assert dep.run(account_job(BETA), D14, D15, settings=on, assets=SYNC_PATH).success
    beta_opted = Dataset(dep.root(BETA)).read_file(OPT_OUT_PARQUET)["subscriber"].to_pylist()
    assert set(dep.simulator.login_state(BETA.login).stop_list.entries()) == {
        s.removeprefix("+") for s in beta_opted if s.startswith("+")
    }
    assert dep.simulator.login_state(ACME.login).stop_list.entries() == acme_list
