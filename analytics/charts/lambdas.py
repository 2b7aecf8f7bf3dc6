"""One category's figure on the λ page: CVR and CTR lift over λ, the fitted curve, diversity, the elbow."""

from __future__ import annotations

from typing import Any

from analytics.charts.style import CONTROL_COLOR, PALETTE, axis, error_bars, layout
from analytics.lambdas import LambdaEntry


def lambda_chart(entry: LambdaEntry) -> dict[str, Any] | None:
    """One category: pooled CVR (and CTR) lift over λ with the fitted curve, diversity on the right axis,
    the elbow, the current default and the paper's recommended range."""
    curve = entry.curve
    if not curve:
        return None
    lambdas = [c.lambda_value for c in curve]

    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "CVR lift (pooled arms)",
            "x": lambdas,
            "y": [c.cvr_lift for c in curve],
            "error_y": error_bars(
                [c.cvr_lift for c in curve],
                [(c.cvr_ci or (None, None))[0] for c in curve],
                [(c.cvr_ci or (None, None))[1] for c in curve],
            ),
            "marker": {"size": 10, "color": PALETTE[0]},
            "customdata": [[c.arms, c.units] for c in curve],
            "hovertemplate": "λ=%{x}: %{y:+.1%} (%{customdata[0]} arms, %{customdata[1]} units)<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": "CTR lift (pooled arms)",
            "x": lambdas,
            "y": [c.ctr_lift for c in curve],
            "marker": {"size": 8, "symbol": "diamond-open", "color": PALETTE[1]},
        },
    ]
    fit = entry.fit
    if fit:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "fitted CVR curve",
                "x": fit.lambdas,
                "y": fit.cvr_lift,
                "line": {"color": PALETTE[0], "dash": "dash"},
                "hoverinfo": "skip",
            }
        )
    if any(c.diversity is not None for c in curve):
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "copy diversity",
                "x": lambdas,
                "y": [c.diversity for c in curve],
                "yaxis": "y2",
                "line": {"color": PALETTE[2]},
            }
        )
    shapes: list[dict[str, Any]] = [
        {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0, "line": {"dash": "dot", "width": 1}}
    ]
    annotations = []
    if entry.paper_range:
        low, high = entry.paper_range
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": low,
                "x1": high,
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(234, 179, 8, 0.15)",
                "line": {"width": 0},
                "layer": "below",
            }
        )
        annotations.append(
            {"x": (low + high) / 2, "y": 1, "xref": "x", "yref": "paper", "text": "paper", "showarrow": False}
        )
    if entry.recommended_lambda is not None:
        lam = entry.recommended_lambda
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": lam,
                "x1": lam,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#dc2626", "width": 2},
            }
        )
        annotations.append(
            {"x": lam, "y": 0.02, "xref": "x", "yref": "paper", "text": f"elbow λ={lam:g}", "showarrow": False}
        )
    current = entry.current_lambda
    if current is not None:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": current,
                "x1": current,
                "y0": 0,
                "y1": 1,
                "line": {"color": CONTROL_COLOR, "dash": "dashdot", "width": 1},
            }
        )
    figure_layout = layout(
        f"{entry.category}: creativity vs conversion over λ",
        xaxis=axis("λ (creativity weight)", range=[0, 1], dtick=0.1),
        yaxis=axis("relative lift vs control", tickformat="+.0%"),
        yaxis2={
            "title": {"text": "copy diversity"},
            "overlaying": "y",
            "side": "right",
            "range": [0, 1],
            "autorange": False,
            # Explicit ticks: an overlaying axis otherwise lines its ticks up with the left axis's grid.
            "tickmode": "array",
            "tickvals": [0, 0.2, 0.4, 0.6, 0.8, 1],
            "showgrid": False,
            "automargin": True,
        },
        shapes=shapes,
        annotations=annotations,
    )
    figure_layout["margin"]["r"] = 64
    return {"data": data, "layout": figure_layout}
