"""The poll chart: `poll_results` as a PNG, one horizontal bar chart per poll.

matplotlib is the optional `chart` extra. Without it the results are still counted and written;
only the picture is skipped, and `CHART_NOT_DRAWN` says so where the chart would have been: a
missing picture is no reason to fail the run that keeps the poll's numbers (and the opt-out
list beside them) up to date.
"""

from __future__ import annotations

import importlib.util
import io
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lightsms_pipeline.errors import MissingExtraError
from lightsms_pipeline.rules.model import Poll, Rules

if TYPE_CHECKING:
    from matplotlib.axes import Axes


CHART_EXTRA = "chart"
CHART_NOT_DRAWN = (
    "not drawn: matplotlib is not installed; the results above are complete. "
    f"For the chart: pip install 'lightsms-pipeline[{CHART_EXTRA}]'"
)


def chart_available() -> bool:
    """Whether matplotlib can be imported (found, not imported: importing it costs ~0.3 s)."""
    return importlib.util.find_spec("matplotlib") is not None


def render_poll_chart(results: pa.Table, rules: Rules) -> bytes:
    """A PNG of `poll_results`: one horizontal bar chart per poll, titled with its question.

    Uses matplotlib's object API on an Agg canvas, no pyplot: no global figure state, so it is
    safe in any thread of a Dagster run. Without matplotlib: `MissingExtraError` naming `[chart]`.
    """
    if not chart_available():
        raise MissingExtraError(CHART_EXTRA, "the poll chart")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = results.to_pylist()
    polls = [poll for poll in rules.polls if any(row["poll_id"] == poll.id for row in rows)]
    if not polls:
        figure = Figure(figsize=(6, 1.5))
        figure.text(0.5, 0.5, "No polls configured", ha="center", va="center")
    else:
        heights = [0.55 * len(poll.options) + 1.0 for poll in polls]
        figure = Figure(figsize=(8, sum(heights)), layout="constrained")
        grid = figure.subplots(len(polls), 1, squeeze=False, height_ratios=heights)
        for poll, axes in zip(polls, grid[:, 0], strict=True):
            _draw_poll(axes, poll, [row for row in rows if row["poll_id"] == poll.id])
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _draw_poll(axes: Axes, poll: Poll, rows: list[dict[str, Any]]) -> None:
    from matplotlib.ticker import MaxNLocator

    names = [f"{row['option']} — {row['label']}" for row in rows]
    counts = [row["votes"] for row in rows]
    bars = axes.barh(names, counts, color="#4c72b0")
    axes.invert_yaxis()  # declared order, top to bottom
    axes.bar_label(bars, labels=[f"{row['votes']} ({row['share']:.0%})" for row in rows], padding=3)
    axes.set_title(f"{poll.question}  ({poll.id}, {rows[0]['voters']} voters)", loc="left")
    axes.set_xlim(0, max([*counts, 1]) * 1.25)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
