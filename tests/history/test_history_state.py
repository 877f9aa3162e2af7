"""The kept per-day extracts give exactly what a full rescan gives, whatever happened in between.

`opt_out_list` and `poll_results` read only the days whose `classified_messages` file changed
since the last materialization; these tests pin that the files they write are byte for byte those
of a full recomputation across new days, re-run days (adding or removing STOP/START), deleted
days, rules changes and damaged or missing state, and that unchanged days are really not read.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
from history_days import (
    RULES,
    SENDERS,
    TEXTS,
    Message,
    assert_same_as_full_recomputation,
    day_key,
    materialize_both,
    write_day,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lightsms_pipeline.contract import CLASSIFIED, HISTORY_STATE_DIR
from lightsms_pipeline.storage.parquet import Dataset

STOP, START, VOTE_A, HELLO = TEXTS.index("STOP"), TEXTS.index("START"), TEXTS.index("A"), TEXTS.index("hello")
DAYS = 4


def message(sender: int, text: int, second: int, id_sms: int, dedicated: bool = False) -> Message:
    return Message(sender, text, second, dedicated, id_sms)


def extract_files(data_dir: Path, asset: str) -> list[Path]:
    return sorted((data_dir / HISTORY_STATE_DIR / asset).rglob("*.parquet"))


def subscribers(data_dir: Path) -> list[str]:
    return pq.read_table(data_dir / "opt_out_list.parquet")["subscriber"].to_pylist()


# --- properties --------------------------------------------------------------------------------

messages = st.lists(
    st.builds(
        Message,
        sender=st.integers(0, len(SENDERS) - 1),
        text=st.integers(0, len(TEXTS) - 1),
        second=st.sampled_from([0, 3600, 43_200, 86_399]),  # ties in time are common
        dedicated=st.booleans(),
        id_sms=st.integers(1, 40),  # the same id on two days: overlapping partitions
    ),
    max_size=6,
    unique_by=lambda m: m.id_sms,
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, DAYS - 1), messages),
        st.tuples(st.just("delete"), st.integers(0, DAYS - 1)),
        st.tuples(st.just("rules"), st.integers(0, len(RULES) - 1)),
        st.tuples(st.just("damage"), st.integers(0, 10)),
        st.tuples(st.just("drop_state")),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_kept_state_equals_full_recomputation_after_any_sequence_of_changes(tmp_path_factory, steps):
    data_dir = tmp_path_factory.mktemp("history")
    dataset = Dataset(data_dir)
    rules = RULES[0]
    for step in steps:
        if step[0] == "write":
            write_day(dataset, step[1], step[2], rules)
        elif step[0] == "delete":
            shutil.rmtree(data_dir / CLASSIFIED / f"date={day_key(step[1])}", ignore_errors=True)
        elif step[0] == "rules":
            rules = RULES[step[1]]
        elif step[0] == "damage":
            stored = extract_files(data_dir, "opt_out_list") + extract_files(data_dir, "poll_results")
            if stored:
                victim = stored[step[1] % len(stored)]
                victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])
        else:
            shutil.rmtree(data_dir / HISTORY_STATE_DIR, ignore_errors=True)
        assert_same_as_full_recomputation(dataset, rules, write=False)


# --- the cases one by one ----------------------------------------------------------------------


def test_second_materialization_reads_only_the_new_day(tmp_path):
    dataset, rules = Dataset(tmp_path), RULES[0]
    write_day(dataset, 0, [message(0, STOP, 10, 1)], rules)
    write_day(dataset, 1, [message(1, STOP, 10, 2)], rules)
    first = assert_same_as_full_recomputation(dataset, rules)
    assert (first.opt_out_days_read, first.poll_days_read) == (2, 2)
    write_day(dataset, 2, [message(0, START, 10, 3)], rules)
    second = assert_same_as_full_recomputation(dataset, rules)
    assert (second.opt_out_days_read, second.poll_days_read) == (1, 1)
    assert subscribers(tmp_path) == ["+37069999999"]
    again = assert_same_as_full_recomputation(dataset, rules)
    assert (again.opt_out_days_read, again.poll_days_read) == (0, 0)


def test_rerun_of_an_old_day_that_removes_a_stop_takes_the_subscriber_off_the_list(tmp_path):
    dataset, rules = Dataset(tmp_path), RULES[0]
    write_day(dataset, 0, [message(0, STOP, 10, 1), message(1, STOP, 20, 2)], rules)
    write_day(dataset, 1, [message(2, HELLO, 10, 3)], rules)
    assert_same_as_full_recomputation(dataset, rules)
    assert subscribers(tmp_path) == ["+37061234567", "+37069999999"]
    write_day(dataset, 0, [message(1, STOP, 20, 2)], rules)  # the provider lost message 1
    rerun = assert_same_as_full_recomputation(dataset, rules)
    assert rerun.opt_out_days_read == 1
    assert subscribers(tmp_path) == ["+37069999999"]


def test_rerun_of_an_old_day_that_adds_a_start_before_a_later_stop_restarts_the_duty(tmp_path):
    dataset, rules = Dataset(tmp_path), RULES[0]
    write_day(dataset, 0, [message(0, STOP, 10, 1)], rules)
    write_day(dataset, 2, [message(0, STOP, 10, 5)], rules)
    before = assert_same_as_full_recomputation(dataset, rules).opt_outs
    write_day(dataset, 1, [message(0, START, 10, 3)], rules)
    after = assert_same_as_full_recomputation(dataset, rules).opt_outs
    assert before["first_opted_out_at"] != after["first_opted_out_at"]
    assert after["id_sms"].to_pylist() == ["5"]


def test_a_deleted_day_no_longer_counts_and_its_extract_is_removed(tmp_path):
    dataset, rules = Dataset(tmp_path), RULES[0]
    write_day(dataset, 0, [message(0, STOP, 10, 1)], rules)
    write_day(dataset, 1, [message(1, STOP, 10, 2)], rules)
    assert_same_as_full_recomputation(dataset, rules)
    shutil.rmtree(tmp_path / CLASSIFIED / f"date={day_key(0)}")
    after = assert_same_as_full_recomputation(dataset, rules)
    assert after.opt_out_days_read == 0
    assert subscribers(tmp_path) == ["+37069999999"]
    assert [p.parent.name for p in extract_files(tmp_path, "opt_out_list")] == [f"date={day_key(1)}"]


def test_a_rules_change_reads_every_day_again(tmp_path):
    dataset = Dataset(tmp_path)
    vote = message(0, VOTE_A, 3600, 1)  # in the first rules' poll window, to its number
    write_day(dataset, 1, [vote, message(1, STOP, 10, 2)], RULES[0])
    write_day(dataset, 3, [message(1, HELLO, 10, 3)], RULES[0])
    assert_same_as_full_recomputation(dataset, RULES[0])
    changed = assert_same_as_full_recomputation(dataset, RULES[1])
    assert (changed.opt_out_days_read, changed.poll_days_read) == (2, 2)
    # The invalid reply of day 3 is inside the second rules' longer window only.
    assert set(changed.polls["invalid"].to_pylist()) == {1}
    assert all(RULES[1].fingerprint() in str(p) for p in extract_files(tmp_path, "poll_results"))


def test_a_damaged_extract_is_rebuilt_from_its_day_not_trusted(tmp_path):
    dataset, rules = Dataset(tmp_path), RULES[0]
    write_day(dataset, 0, [message(0, STOP, 10, 1)], rules)
    write_day(dataset, 1, [message(1, STOP, 10, 2)], rules)
    assert_same_as_full_recomputation(dataset, rules)
    for victim in extract_files(tmp_path, "opt_out_list"):
        data = bytearray(victim.read_bytes())
        data[len(data) // 3] ^= 0xFF  # one flipped byte inside a data page, footer intact
        victim.write_bytes(bytes(data))
    rebuilt = assert_same_as_full_recomputation(dataset, rules)
    assert rebuilt.opt_out_days_read == 2
    assert subscribers(tmp_path) == ["+37061234567", "+37069999999"]


def test_missing_state_is_rebuilt_in_full(tmp_path):
    dataset, rules = Dataset(tmp_path), RULES[0]
    write_day(dataset, 0, [message(0, STOP, 10, 1)], rules)
    assert_same_as_full_recomputation(dataset, rules)
    shutil.rmtree(tmp_path / HISTORY_STATE_DIR)
    rebuilt = assert_same_as_full_recomputation(dataset, rules)
    assert (rebuilt.opt_out_days_read, rebuilt.poll_days_read) == (1, 1)


def test_extracts_written_by_a_run_that_died_before_its_output_are_right_for_the_next(tmp_path):
    dataset, rules = Dataset(tmp_path), RULES[0]
    write_day(dataset, 0, [message(0, STOP, 10, 1)], rules)
    materialize_both(dataset, rules)
    write_day(dataset, 1, [message(0, START, 10, 2)], rules)
    # A run that stored day 1's extract and died before writing the list: only the extract is new.
    from lightsms_pipeline.datasets.subscriptions import opt_out_extracts
    from lightsms_pipeline.storage.history_state import HistoryState

    HistoryState(dataset, opt_out_extracts(rules), rules.fingerprint()).read()
    assert subscribers(tmp_path) == ["+37061234567"]  # the stale list, as the crash left it
    next_run = assert_same_as_full_recomputation(dataset, rules)
    assert next_run.opt_out_days_read == 0
    assert subscribers(tmp_path) == []
