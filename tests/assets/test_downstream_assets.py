"""The downstream assets materialized for real: files, UI metadata, order independence."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.rules.errors import RulesFileError
from lightsms_pipeline.settings import Settings
from lightsms_pipeline.simulator.traffic import LOOK_ALIKE_OPT_OUTS

DOWNSTREAM = ("classified_messages", "support_inbox", "opt_out_list", "poll_results")
ALL = ("incoming_messages", *DOWNSTREAM)
D13, D19 = date(2025, 1, 13), date(2025, 1, 19)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def metadata(result, asset: str) -> dict[str, object]:
    (mat,) = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in mat.metadata.items()}


def test_main_job_builds_every_dataset_with_matching_ui_metadata(pipeline, data_dir):
    result = pipeline.materialize(D13, D19, assets=None)
    assert result.success
    for day in days(D13, D19):
        for asset in ("incoming_messages", "classified_messages", "support_inbox"):
            assert (data_dir / asset / f"date={day}" / "part-0.parquet").exists()
    opt_outs = pq.read_table(data_dir / "opt_out_list.parquet")
    polls = pq.read_table(data_dir / "poll_results.parquet")
    assert metadata(result, "opt_out_list")["dagster/row_count"] == opt_outs.num_rows > 0
    assert metadata(result, "poll_results")["dagster/row_count"] == polls.num_rows == 4
    assert polls["option"].to_pylist() == ["A", "B", "C", "D"]
    results = metadata(result, "poll_results")["results"].records  # type: ignore[attr-defined]
    assert [(r.data["poll_id"], r.data["option"], r.data["votes"]) for r in results] == list(
        zip(
            polls["poll_id"].to_pylist(), polls["option"].to_pylist(), polls["votes"].to_pylist(), strict=True
        )
    )
    preview = metadata(result, "opt_out_list")["preview"].records  # type: ignore[attr-defined]
    assert [r.data["subscriber"] for r in preview] == opt_outs["subscriber"].to_pylist()[:10]
    chart = metadata(result, "poll_results")["chart"]
    assert isinstance(chart, str) and chart.startswith("![poll results](data:image/png;base64,")
    assert (data_dir / "reports" / "poll_results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with (data_dir / "opt_out_list.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["subscriber"] for r in rows] == opt_outs["subscriber"].to_pylist()
    # The simulator's look-alike and invisible-character STOPs opt out, and say how they matched.
    classified = pq.read_table(data_dir / "classified_messages").to_pylist()
    disguised = [r for r in classified if r["text"] in LOOK_ALIKE_OPT_OUTS]
    assert disguised and all(r["class"] == "opt_out" for r in disguised)
    look_alikes = [r for r in classified if r["keyword_match"] == "look_alike"]
    assert look_alikes and {r["keyword"] for r in look_alikes} == {"stop"}
    assert {r["text"] for r in look_alikes} <= set(LOOK_ALIKE_OPT_OUTS)
    for r in classified:
        if r["class"] in ("poll_vote", "other"):
            assert (r["keyword"], r["keyword_match"]) == (None, None)
        else:
            allowed = ("exact", "look_alike") if r["class"] == "opt_out" else ("exact",)
            assert r["keyword"] and r["keyword_match"] in allowed
    latest_stops = {r["id_sms"] for r in opt_outs.to_pylist()}
    assert {r["id_sms"] for r in look_alikes} & latest_stops


def test_classified_messages_keep_every_incoming_row_and_column(pipeline, data_dir):
    result = pipeline.materialize(D13, D13, assets=("incoming_messages", "classified_messages"))
    incoming = pq.read_table(data_dir / "incoming_messages" / f"date={D13}" / "part-0.parquet")
    classified = pq.read_table(data_dir / "classified_messages" / f"date={D13}" / "part-0.parquet")
    assert classified.select(incoming.column_names).to_pylist() == incoming.to_pylist()
    assert set(classified["class"].to_pylist()) <= {"opt_out", "poll_vote", "opt_in", "help", "other"}
    preview = metadata(result, "classified_messages")["preview"].records  # type: ignore[attr-defined]
    assert [(r.data["id_sms"], r.data["class"]) for r in preview] == [
        (row["id_sms"], row["class"]) for row in classified.slice(0, 5).to_pylist()
    ]


def test_support_inbox_is_exactly_the_other_messages(pipeline, data_dir):
    pipeline.materialize(D13, D13, assets=("incoming_messages", "classified_messages", "support_inbox"))
    classified = pq.read_table(data_dir / "classified_messages" / f"date={D13}" / "part-0.parquet")
    inbox = pq.read_table(data_dir / "support_inbox" / f"date={D13}" / "part-0.parquet")
    others = [r["id_sms"] for r in classified.to_pylist() if r["class"] == "other"]
    assert inbox["id_sms"].to_pylist() == others


def test_opt_out_list_is_the_same_whatever_order_days_arrive(pipeline, data_dir, tmp_path):
    pipeline.materialize(D13, D19, assets=None)
    in_one_run = pq.read_table(data_dir / "opt_out_list.parquet")
    other_dir = tmp_path / "reverse"
    other_dir.mkdir()
    pipeline = pipeline.with_settings(data_dir=str(other_dir))
    for day in reversed(days(D13, D19)):
        assert pipeline.materialize(day, day, assets=None).success
    day_by_day_reversed = pq.read_table(other_dir / "opt_out_list.parquet")
    assert day_by_day_reversed.equals(in_one_run)


def test_refetching_an_old_day_updates_the_whole_history_assets(pipeline, data_dir):
    pipeline.materialize(date(2025, 1, 15), D19, assets=None)
    later_only = pq.read_table(data_dir / "poll_results.parquet")
    pipeline.materialize(D13, date(2025, 1, 14), assets=None)
    with_old_days = pq.read_table(data_dir / "poll_results.parquet")
    assert sum(with_old_days["votes"].to_pylist()) > sum(later_only["votes"].to_pylist())


def test_downstream_day_without_upstream_fails_naming_the_day(pipeline):
    result = pipeline.materialize(D13, D13, assets=("classified_messages",), raise_on_error=False)
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.error.message
    assert "incoming_messages has no partition 2025-01-13" in message


def test_invalid_rules_file_stops_loading_with_the_file_and_problem(tmp_path: Path):
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "opt_outs: [stop]\npolls:\n  - id: p\n    question: q\n    options: {A: x}\n"
        "    start: '2025-01-10 00:00:00'\n    end: '2025-01-01 00:00:00'\n"
    )
    with pytest.raises(RulesFileError) as info:
        build_definitions(Settings(rules_file=str(bad)))
    message = str(info.value)
    assert str(bad) in message and "opt_outs" in message and "before" in message
