"""The poll chart: a PNG of `poll_results`, also when no poll is declared."""

from __future__ import annotations

import pyarrow as pa

from lightsms_pipeline.presentation.chart import render_poll_chart
from lightsms_pipeline.rules import POLL_RESULTS_SCHEMA, rules_from_mapping

LUNCH = rules_from_mapping(
    {
        "polls": [
            {
                "id": "lunch",
                "question": "Best lunch option?",
                "options": {"A": "Pizza", "B": "Salad"},
                "start": "2025-01-10 00:00:00",
                "end": "2025-01-20 23:59:59",
            }
        ]
    }
)


def results(votes: dict[str, int]) -> list[dict[str, object]]:
    voters = sum(votes.values())
    return [
        {
            "poll_id": "lunch",
            "option": option,
            "label": label,
            "votes": votes[option],
            "share": votes[option] / voters if voters else 0.0,
            "voters": voters,
            "superseded": 0,
            "invalid": 0,
        }
        for option, label in LUNCH.polls[0].options.items()
    ]


def test_the_chart_is_a_png_with_and_without_polls() -> None:
    table = pa.Table.from_pylist(results({"A": 3, "B": 1}), POLL_RESULTS_SCHEMA)
    png = render_poll_chart(table, LUNCH)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    no_polls = rules_from_mapping({})
    assert render_poll_chart(POLL_RESULTS_SCHEMA.empty_table(), no_polls).startswith(b"\x89PNG\r\n\x1a\n")


def test_a_poll_with_votes_draws_more_than_the_empty_placeholder() -> None:
    # The placeholder is one line of text on a small canvas; a poll draws its bars and labels.
    with_votes = render_poll_chart(
        pa.Table.from_pylist(results({"A": 3, "B": 1}), POLL_RESULTS_SCHEMA), LUNCH
    )
    placeholder = render_poll_chart(POLL_RESULTS_SCHEMA.empty_table(), LUNCH)
    assert len(with_votes) > 2 * len(placeholder)
