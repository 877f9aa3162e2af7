"""The rules file: defaults from the package, overrides merged, every problem named with its place."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from message_tables import LUNCH_POLL, rules_with

from lightsms_pipeline.errors import ConfigurationError
from lightsms_pipeline.rules import Poll, Rules, RulesFileError, load_rules, model
from lightsms_pipeline.rules.model import PollDefaults

EXAMPLE_RULES = Path(__file__).resolve().parents[2] / "rules.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    return str(caught.value).replace(str(path), "rules.yaml")


def poll_yaml(**changes: Any) -> str:
    poll = {**LUNCH_POLL, **changes}
    lines = ["polls:", f"  - id: {poll.pop('id')}"]
    for key, value in poll.items():
        lines.append(f"    {key}: {value!r}" if not isinstance(value, dict) else f"    {key}:")
        if isinstance(value, dict):
            lines += [f"      {k!r}: {v!r}" for k, v in value.items()]
    return "\n".join(lines) + "\n"


def test_defaults_are_the_sms_rules_defaults() -> None:
    rules = load_rules(None)
    assert rules.opt_out_words == [
        "stop", "stopall", "stop all", "unsubscribe", "cancel",
        "end", "quit", "revoke", "optout", "opt out",
    ]  # fmt: skip
    assert rules.opt_in_words == ["start", "unstop", "yes"]
    assert rules.help_words == ["help", "info"]
    assert rules.extra_opt_out_words == rules.extra_opt_in_words == rules.extra_help_words == []
    assert rules.scope == "account"
    assert rules.default_region == "LT"
    assert rules.timezone == "Europe/Vilnius"
    assert rules.poll_defaults == PollDefaults(count="last")
    assert rules.polls == []


def test_the_code_holds_no_second_copy_of_the_defaults() -> None:
    assert all(field.is_required() for field in Rules.model_fields.values())
    assert Poll.model_fields["count"].is_required()


def test_an_empty_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_rules(write(tmp_path, "# nothing changed\n")) == load_rules(None)


def test_a_file_changes_only_what_it_names(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, "scope: per_number\n"))
    assert rules.scope == "per_number"
    assert rules.model_dump(exclude={"scope"}) == load_rules(None).model_dump(exclude={"scope"})


def test_a_list_in_the_file_replaces_the_default_list(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, "help_words: [pagalba]\n"))
    assert rules.help_words == ["pagalba"]
    assert rules.keyword_classes().get("help") is None


def test_extra_words_add_a_language_to_the_defaults(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, "extra_opt_out_words: [стоп, atsisakyti]\n"))
    assert rules.opt_out_keywords()[-3:] == ["opt out", "стоп", "atsisakyti"]
    assert rules.keyword_classes()["стоп"] == "opt_out"


def test_poll_defaults_fill_a_poll_that_does_not_set_count(tmp_path: Path) -> None:
    text = "poll_defaults: {count: first}\n" + poll_yaml()
    assert load_rules(write(tmp_path, text)).polls[0].count == "first"
    text = "poll_defaults: {count: first}\n" + poll_yaml(count="last")
    assert load_rules(write(tmp_path, text)).polls[0].count == "last"


def test_a_poll_reads_as_declared(tmp_path: Path) -> None:
    poll = load_rules(write(tmp_path, poll_yaml(phone="5163251632", prefix="51632"))).polls[0]
    assert poll == Poll(
        id="lunch",
        question="Best lunch option?",
        options={"A": "Pizza", "B": "Salad", "C": "Soup", "D": "Sushi"},
        start=dt.datetime(2025, 1, 10, 0, 0, 0),
        end=dt.datetime(2025, 1, 20, 23, 59, 59),
        phone="5163251632",
        prefix="51632",
        count="last",
    )


def test_every_value_is_read_as_text(tmp_path: Path) -> None:
    text = """
polls:
  - id: 2025
    question: Colour?
    options: {1: Red, 2: Blue, yes: Yes please, no: 'No'}
    start: 2025-01-10 00:00:00
    end: 2025-01-20 23:59:59
    phone: 0037052000000
    prefix: 0123
"""
    poll = load_rules(write(tmp_path, text)).polls[0]
    assert poll.id == "2025"
    assert poll.options == {"1": "Red", "2": "Blue", "yes": "Yes please", "no": "No"}
    assert (poll.phone, poll.prefix) == ("0037052000000", "0123")
    assert poll.start == dt.datetime(2025, 1, 10)


def test_an_option_that_is_its_own_label_is_fine() -> None:
    poll = dict(LUNCH_POLL, options={"Yes": "yes", "No": "NO!"})
    assert rules_with(polls=[poll]).polls[0].option_lookup() == {"yes": "Yes", "no": "No"}


def test_an_option_may_be_an_opt_out_word_and_opt_out_wins() -> None:
    # Allowed (documented in rules.yaml); classify tests pin that a STOP is never a vote.
    poll = dict(LUNCH_POLL, options={"A": "Stop", "B": "Go"})
    assert rules_with(polls=[poll]).polls[0].options["A"] == "Stop"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "opt_outs: [stop]\n",
            "rules.yaml: unknown key 'opt_outs' (did you mean 'opt_out_words'?)",
        ),
        (
            poll_yaml(colour="red"),
            "rules.yaml: polls[0]: unknown key 'colour'",
        ),
        (
            poll_yaml(cuont="first"),
            "rules.yaml: polls[0]: unknown key 'cuont' (did you mean 'count'?)",
        ),
        (
            "poll_defaults: {count: last, phone: '1'}\n",
            "rules.yaml: poll_defaults: unknown key 'phone'",
        ),
        (
            poll_yaml(options={"A": "Pizza", "B": "a"}),
            "rules.yaml: polls[0].options: options 'A' and 'B' both read 'a' after normalization",
        ),
        (
            poll_yaml(options={"A": "Pizza", "B": "PIZZA!"}),
            "rules.yaml: polls[0].options: options 'A' and 'B' both read 'pizza' after normalization",
        ),
        (
            poll_yaml(options={"A": "Pizza", "B": "🍕"}),
            "rules.yaml: polls[0].options: option 'B': '🍕' is empty after normalization",
        ),
        (
            poll_yaml(start="2025-01-02 00:00:00", end="2025-01-01 00:00:00"),
            "rules.yaml: polls[0].end: end 2025-01-01 00:00:00 is before start 2025-01-02 00:00:00",
        ),
        (
            poll_yaml(start="2025-01-10"),
            "rules.yaml: polls[0].start: '2025-01-10' is not a provider-local time 'YYYY-MM-DD HH:MM:SS'",
        ),
        (
            "scope: global\n",
            "rules.yaml: scope: Input should be 'account' or 'per_number', got 'global'",
        ),
        (
            poll_yaml(count="best"),
            "rules.yaml: polls[0].count: Input should be 'last' or 'first', got 'best'",
        ),
        (
            "poll_defaults: {count: all}\n",
            "rules.yaml: poll_defaults.count: Input should be 'last' or 'first', got 'all'",
        ),
        (
            poll_yaml(phone="+5163251632"),
            "rules.yaml: polls[0].phone: '+5163251632': write it as LightSMS reports it, "
            "letters and digits only (no '+', no spaces)",
        ),
        (
            poll_yaml(id="lunch poll"),
            "rules.yaml: polls[0].id: poll id 'lunch poll' must start with a letter or digit and "
            "hold only letters, digits, '.', '_' and '-'",
        ),
        (
            "polls:\n  - id: x\n",
            "rules.yaml: polls[0].question: required, but not given\n"
            "rules.yaml: polls[0].options: required, but not given\n"
            "rules.yaml: polls[0].start: required, but not given\n"
            "rules.yaml: polls[0].end: required, but not given",
        ),
        (
            poll_yaml() + poll_yaml()[len("polls:\n") :],
            "rules.yaml: polls: poll id 'lunch' is declared twice",
        ),
        (
            "timezone: Europe/Atlantis\n",
            "rules.yaml: timezone: unknown time zone 'Europe/Atlantis' (use an IANA name)",
        ),
        (
            "default_region: XX\n",
            "rules.yaml: default_region: 'XX' is not a region phonenumbers knows (e.g. 'LT')",
        ),
        (
            "opt_out_words: []\n",
            "rules.yaml: opt_out_words: at least one opt-out word is required",
        ),
        (
            "extra_opt_in_words: ['STOP!']\n",
            "rules.yaml: 'STOP!' (read 'stop') is listed as both opt_out and opt_in",
        ),
        (
            "extra_help_words: ['?!']\n",
            "rules.yaml: extra_help_words: '?!' is empty after normalization and can never match",
        ),
        (
            "opt_out_words: stop\n",
            "rules.yaml: opt_out_words: Input should be a valid list, got 'stop'",
        ),
        (
            "- stop\n",
            "rules.yaml: the top level must be a mapping of options, got list",
        ),
        (
            "scope: [account\n",
            "rules.yaml: invalid YAML: line 2, column 1: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "scope: account\nscope: per_number\n",
            "rules.yaml: invalid YAML: line 2, column 1: duplicate key 'scope'",
        ),
    ],
)
def test_an_invalid_file_is_rejected_with_a_clear_message(tmp_path: Path, text: str, expected: str) -> None:
    assert problems_of(tmp_path, text) == expected


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    message = problems_of(tmp_path, "scope: global\nopt_outs: [x]\n")
    assert message.splitlines() == [
        "rules.yaml: scope: Input should be 'account' or 'per_number', got 'global'",
        "rules.yaml: unknown key 'opt_outs' (did you mean 'opt_out_words'?)",
    ]


def test_the_pipeline_time_zone_replaces_the_default(tmp_path: Path) -> None:
    assert load_rules(None, timezone="America/New_York").timezone == "America/New_York"
    same = write(tmp_path, "timezone: America/New_York\n")
    assert load_rules(same, timezone="America/New_York").timezone == "America/New_York"


def test_a_rules_file_may_not_contradict_the_pipeline_time_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "timezone: Europe/Riga\n")
    with pytest.raises(RulesFileError) as caught:
        load_rules(path, timezone="Europe/Vilnius")
    assert str(caught.value) == (
        f"{path}: timezone: 'Europe/Riga' differs from the provider time zone 'Europe/Vilnius' "
        "the pipeline is set to; give it in one place"
    )


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(RulesFileError, match=re.escape(f"{missing}: file not found")):
        load_rules(missing)


def test_a_rules_file_error_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_rules(write(tmp_path, "scope: global\n"))


def _fingerprint_in_a_new_process(rules_file: Path, hash_seed: str) -> str:
    code = (
        "import sys; from lightsms_pipeline.rules import load_rules; "
        "print(load_rules(sys.argv[1]).fingerprint())"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", code, str(rules_file)], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_fingerprint_is_stable_across_processes_and_follows_the_rules() -> None:
    # Dagster compares code versions across processes and deployments: a fingerprint that
    # depended on set order or object ids would differ from one interpreter to the next.
    here = load_rules(EXAMPLE_RULES).fingerprint()
    assert re.fullmatch(r"[0-9a-f]{16}", here)
    assert _fingerprint_in_a_new_process(EXAMPLE_RULES, "1") == here
    assert _fingerprint_in_a_new_process(EXAMPLE_RULES, "2") == here
    assert rules_with(scope="per_number").fingerprint() != load_rules(None).fingerprint()
    assert load_rules(EXAMPLE_RULES).fingerprint() != load_rules(None).fingerprint()


def test_the_example_rules_file_holds_the_demo_poll() -> None:
    rules = load_rules(EXAMPLE_RULES)
    changed = {"polls", "extra_opt_out_words"}
    assert rules.model_dump(exclude=changed) == load_rules(None).model_dump(exclude=changed)
    assert list(rules.extra_opt_out_words) == ["стоп", "atsisakyti"]
    [poll] = rules.polls
    assert (poll.id, poll.count) == ("lunch-2025-01", "last")
    assert poll.options == {"A": "Pizza", "B": "Salad", "C": "Soup", "D": "Sushi"}
    assert (poll.start, poll.end) == (dt.datetime(2025, 1, 10), dt.datetime(2025, 1, 20, 23, 59, 59))


def test_the_example_rules_file_documents_every_option() -> None:
    text = EXAMPLE_RULES.read_text(encoding="utf-8")
    for name in Rules.model_fields:
        assert re.search(rf"^#? ?{name}:", text, re.MULTILINE), name
    for name in Poll.model_fields:
        assert re.search(rf"\b{name}\b", text), name


def test_the_example_rules_file_documents_the_true_defaults(tmp_path: Path) -> None:
    # Uncommenting every documented `# option: default` line must change nothing.
    documented = re.sub(
        r"^# (?=[a-z_]+:)|^# (?=  count:)",
        "",
        EXAMPLE_RULES.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert documented.count("\nscope: account") == 1
    assert "\npoll_defaults:\n  count: last" in documented
    assert load_rules(write(tmp_path, documented)) == load_rules(EXAMPLE_RULES)


def test_the_fingerprint_changes_with_the_rules_engine_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # Classified datasets built by an engine that read the same rules differently show as changed.
    before = load_rules(None).fingerprint()
    monkeypatch.setattr(model, "RULES_ENGINE_VERSION", model.RULES_ENGINE_VERSION + 1)
    assert load_rules(None).fingerprint() != before
