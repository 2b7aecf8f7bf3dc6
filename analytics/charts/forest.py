"""The index page's figure: each experiment's leading variant, lift on its primary metric with the interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analytics.charts.style import axis, error_bars, layout
from analytics.report.format import METRIC_LABELS
from analytics.report.types import Interval


@dataclass(frozen=True)
class ForestRow:
    """One experiment's leading variant and its relative lift on the primary metric."""

    experiment: str
    variant: str
    metric: str
    lift: float | None
    ci: Interval | None
    status: str


def forest_chart(rows: Sequence[ForestRow]) -> dict[str, Any] | None:
    """Index page: each experiment's leading variant, lift on its primary metric with the interval."""
    points = [r for r in rows if r.lift is not None]
    if not points:
        return None
    labels = [f"{r.experiment} · {r.variant} ({METRIC_LABELS[r.metric]})" for r in points]
    lows = [(r.ci or (None, None))[0] for r in points]
    highs = [(r.ci or (None, None))[1] for r in points]
    values = [r.lift for r in points]
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": values,
            "y": labels,
            "marker": {"size": 10, "color": [_status_color(r.status) for r in points]},
            "error_x": error_bars(values, lows, highs),
            "hovertemplate": "%{y}: %{x:+.1%}<extra></extra>",
            "showlegend": False,
        }
    ]
    figure_layout = layout(
        "Primary-metric lift of each experiment's leading variant (always-valid interval)",
        xaxis=axis("relative lift vs control", tickformat="+.0%", zeroline=True),
        yaxis={"automargin": True, "autorange": "reversed"},
        height=max(220, 70 + 34 * len(points)),
    )
    figure_layout["margin"]["l"] = 16
    return {"data": data, "layout": figure_layout}


def _status_color(status: str) -> str:
    return {
        "ship": "#059669",
        "keep_control": "#dc2626",
        "stop_no_effect": "#6b7280",
        "srm_problem": "#b91c1c",
    }.get(status, "#2563eb")
