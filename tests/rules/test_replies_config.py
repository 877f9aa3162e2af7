"""The rules file's `replies:` section (docs/rules.md §9): defaults that send little, validation
as clear as the rest of the rules file, and the parts each text is billed as."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightsms_pipeline.normalize.sms_parts import sms_parts
from lightsms_pipeline.rules import RulesFileError, load_rules, rules_from_mapping
from lightsms_pipeline.rules.replies import text_costs


def problems(text: str, tmp_path: Path) -> str:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    return str(caught.value).replace(str(path), "rules.yaml")


def test_defaults_answer_opt_out_and_opt_in_only_and_name_no_sender() -> None:
    replies = load_rules(None).replies
    assert replies.sender is None
    assert replies.opt_out and replies.opt_in
    assert (replies.help, replies.other, replies.poll_vote, replies.by_keyword) == (None, None, None, {})
    assert (replies.confirm_within_minutes, replies.reply_within_minutes) == (5, 60)
    assert (replies.min_hours_between, replies.max_per_day) == (24, 1000)


def test_a_file_changes_only_what_it_names_and_numbers_written_as_text_are_read() -> None:
    replies = rules_from_mapping(
        {"replies": {"sender": "MyBrand", "help": "Call us", "max_per_day": "3"}}
    ).replies
    assert (replies.sender, replies.help, replies.max_per_day) == ("MyBrand", "Call us", 3)
    assert replies.opt_out == load_rules(None).replies.opt_out


def test_an_empty_replies_section_keeps_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("replies:\n", encoding="utf-8")
    assert load_rules(path).replies == load_rules(None).replies


def test_only_the_replies_section_may_be_empty_an_empty_poll_defaults_is_still_refused() -> None:
    with pytest.raises(RulesFileError, match="poll_defaults"):
        rules_from_mapping({"poll_defaults": None})


def test_a_misspelt_key_is_named_with_the_nearest_one(tmp_path: Path) -> None:
    assert problems("replies:\n  sendr: MyBrand\n", tmp_path) == (
        "rules.yaml: replies: unknown key 'sendr' (did you mean 'sender'?)"
    )


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        (
            'replies:\n  help: "  "\n',
            "rules.yaml: replies.help: an empty text cannot be sent; write null for no reply",
        ),
        (
            "replies:\n  max_per_day: -1\n",
            "rules.yaml: replies.max_per_day: Input should be greater than or equal to 0, got '-1'",
        ),
        (
            "replies:\n  confirm_within_minutes: soon\n",
            "rules.yaml: replies.confirm_within_minutes: Input should be a valid integer, unable to "
            "parse string as an integer, got 'soon'",
        ),
        (
            "replies:\n  sender: A sender far too long\n",
            "rules.yaml: replies.sender: 'A sender far too long' is no sender name LightSMS accepts: "
            "up to 11 letters and digits (registered on the account), or a number of up to 15 digits",
        ),
    ],
)
def test_bad_values_are_named_with_their_place(yaml: str, expected: str, tmp_path: Path) -> None:
    assert problems(yaml, tmp_path) == expected


def test_a_text_for_a_word_the_rules_never_match_is_refused_with_the_nearest_keyword(tmp_path: Path) -> None:
    assert problems("replies:\n  by_keyword: {stp: Bye}\n", tmp_path) == (
        "rules.yaml: replies.by_keyword: 'stp' is no keyword of the rules (opt_out, opt_in or help "
        "words), so its text could never be sent (did you mean 'stop'?)"
    )


def test_a_keyword_text_is_used_before_its_class_text() -> None:
    rules = rules_from_mapping(
        {"extra_opt_out_words": ["стоп"], "replies": {"by_keyword": {"СТОП": "Вы отписаны."}}}
    )
    assert rules.replies.text_for("opt_out", "стоп") == "Вы отписаны."
    assert rules.replies.text_for("opt_out", "stop") == rules.replies.opt_out
    assert rules.replies.text_for("other", None) is None


def test_the_replies_section_leaves_the_datasets_fingerprint_alone_but_not_its_own() -> None:
    # A new reply text must not mark every derived asset changed, nor re-read the history.
    default, changed = load_rules(None), rules_from_mapping({"replies": {"help": "Call us"}})
    assert default.fingerprint() == changed.fingerprint()
    assert default.replies_fingerprint() != changed.replies_fingerprint()


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # an extension character is two septets
        ("€" * 81, 2),
        ("ą" * 70, 1),  # one character outside GSM-7 makes the text UCS-2
        ("ą" * 71, 2),
        ("ą" * 134, 2),
        ("ą" * 135, 3),
    ],
)
def test_parts_are_counted_as_lightsms_bills_them(text: str, parts: int) -> None:
    assert sms_parts(text) == parts


def test_a_text_over_one_part_is_allowed_and_its_parts_are_shown() -> None:
    long_help = "Pagalba: rašykite support@mybrand.example arba skambinkite +37050000000. Atsisakyti: STOP."
    rules = rules_from_mapping({"replies": {"help": long_help}})
    costs = {c.answers: c for c in text_costs(rules.replies)}
    assert (costs["help"].encoding, costs["help"].parts) == ("UCS-2", 2)
    assert (costs["opt_out"].encoding, costs["opt_out"].parts) == ("GSM-7", 1)
