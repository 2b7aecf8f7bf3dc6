"""Plotly figures (plain JSON dicts) drawn from the report objects.

Built as dicts rather than `plotly.graph_objects` so that the web process does not import plotly
for every page; the tests validate every figure against plotly's schema instead. Text that comes
from users (variant keys, experiment keys) only ever lands in figure JSON, which the pages embed
with `json_script` and plotly renders as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analytics.report import METRIC_LABELS, variant_label

PALETTE = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626")
CONTROL_COLOR = "#6b7280"
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13, "color": "#1f2937"}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        "font": FONT,
        "margin": {"l": 64, "r": 24, "t": 56, "b": 48},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        # Below the plot, clear of the x-axis title (plotly grows the bottom margin to fit it).
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.24, "yanchor": "top"},
        "height": 380,
    }
    layout.update(extra)
    return layout


def _axis(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "gridcolor": "#e5e7eb", "zerolinecolor": "#9ca3af", "automargin": True, **extra}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def variant_colors(variants: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    colors, index = {}, 0
    for variant in variants:
        if variant["is_control"]:
            colors[variant["key"]] = CONTROL_COLOR
        else:
            colors[variant["key"]] = PALETTE[index % len(PALETTE)]
            index += 1
    return colors


def _treatments(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [v for v in report["variants"] if not v["is_control"]]


def cumulative_lift_chart(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """Relative lift of each treatment per daily look, with its confidence-sequence band; one
    button per metric (the primary metric is shown first)."""
    series = report["timeseries"]
    treatments = _treatments(report)
    if not series or not treatments or not report["units"]:
        return None
    colors = variant_colors(report["variants"])
    days = [look["day"] for look in series]
    metrics = [m for m in report["metrics"] if any(m in look["lift"] for look in series)]
    if not metrics:
        return None
    primary = report["primary_metric"] if report["primary_metric"] in metrics else metrics[0]
    data: list[dict[str, Any]] = []
    owners: list[str] = []
    ranges = {metric: _lift_range(series, metric) for metric in metrics}
    for metric in metrics:
        for variant in treatments:
            key = variant["key"]
            points = [look["lift"].get(metric, {}).get(key, {}) for look in series]
            lower = [(p.get("sequential_ci") or [None, None])[0] for p in points]
            upper = [(p.get("sequential_ci") or [None, None])[1] for p in points]
            visible = metric == primary
            label = variant_label(variant)
            data.append(
                {
                    "type": "scatter",
                    "x": days,
                    "y": lower,
                    "mode": "lines",
                    "line": {"width": 0},
                    "hoverinfo": "skip",
                    "showlegend": False,
                    "visible": visible,
                    "legendgroup": key,
                }
            )
            data.append(
                {
                    "type": "scatter",
                    "x": days,
                    "y": upper,
                    "mode": "lines",
                    "line": {"width": 0},
                    "fill": "tonexty",
                    "fillcolor": _rgba(colors[key], 0.15),
                    "name": f"{label} always-valid interval",
                    "hoverinfo": "skip",
                    "showlegend": False,
                    "visible": visible,
                    "legendgroup": key,
                }
            )
            data.append(
                {
                    "type": "scatter",
                    "x": days,
                    "y": [p.get("relative") for p in points],
                    "customdata": [[lo, hi] for lo, hi in zip(lower, upper, strict=True)],
                    "mode": "lines+markers",
                    "name": label,
                    "line": {"color": colors[key], "width": 2},
                    "marker": {"size": 6},
                    "hovertemplate": "%{y:+.1%} [%{customdata[0]:+.1%}, %{customdata[1]:+.1%}]<extra>"
                    + label.replace("<", "&lt;")
                    + "</extra>",
                    "visible": visible,
                    "legendgroup": key,
                }
            )
            owners.extend([metric] * 3)
    buttons = [
        {
            "label": METRIC_LABELS[metric],
            "method": "update",
            "args": [
                {"visible": [owner == metric for owner in owners]},
                {
                    "title.text": f"Cumulative lift on {METRIC_LABELS[metric]} with the confidence-sequence band",
                    "yaxis.range": ranges[metric],
                },
            ],
        }
        for metric in metrics
    ]
    layout = _layout(
        f"Cumulative lift on {METRIC_LABELS[primary]} with the confidence-sequence band",
        xaxis=_axis("", type="date"),
        yaxis=_axis("relative lift vs control", tickformat="+.0%", range=ranges[primary]),
        hovermode="x unified",
        shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0, "line": {"dash": "dot"}}],
        updatemenus=[
            {
                "type": "dropdown",
                "direction": "down",
                "x": 0,
                "xanchor": "left",
                "y": 1.02,
                "yanchor": "bottom",
                "pad": {"t": 0, "b": 4},
                "buttons": buttons,
                "active": metrics.index(primary),
                "showactive": True,
                "font": {"size": 11},
            }
        ],
    )
    layout["margin"]["t"] = 96
    return {"data": data, "layout": layout}


def _lift_range(series: Sequence[Mapping[str, Any]], metric: str) -> list[float] | None:
    """A y range that shows the estimates and the latest intervals; the first days' intervals are so
    wide that plotting them whole would flatten everything after into a line."""
    values: list[float] = []
    for index, look in enumerate(series):
        for point in look["lift"].get(metric, {}).values():
            if point.get("relative") is not None:
                values.append(point["relative"])
            if index == len(series) - 1:
                values.extend(v for v in (point.get("sequential_ci") or []) if v is not None)
    if not values:
        return None
    low, high = min(min(values), 0.0), max(max(values), 0.0)
    pad = 0.1 * (high - low) or 0.05
    return [low - pad, high + pad]


def daily_units_chart(report: Mapping[str, Any]) -> dict[str, Any] | None:
    series = report["timeseries"]
    if not series or not report["units"]:
        return None
    colors = variant_colors(report["variants"])
    days = [look["day"] for look in series]
    data = [
        {
            "type": "bar",
            "x": days,
            "y": [look["new_units"].get(v["key"], 0) for look in series],
            "name": variant_label(v),
            "marker": {"color": colors[v["key"]]},
        }
        for v in report["variants"]
    ]
    layout = _layout(
        "New units per day and variant",
        barmode="group",
        xaxis=_axis("", type="date"),
        yaxis=_axis("units first seen that day (UTC)"),
    )
    return {"data": data, "layout": layout}


FUNNEL_STEPS = (
    ("impressions", "Impressions"),
    ("clicks", "Clicks"),
    ("add_to_carts", "Add to cart"),
    ("orders", "Orders"),
)


def funnel_chart(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """Per variant, each funnel step per 1,000 impressions (arms get different traffic shares, so raw
    counts would compare traffic, not copy); the labels give each step's conversion from the one before."""
    if not report["units"]:
        return None
    colors = variant_colors(report["variants"])
    data = []
    for variant in report["variants"]:
        impressions = variant["impressions"]
        if not impressions:
            continue
        counts = [variant[field] for field, _ in FUNNEL_STEPS]
        data.append(
            {
                "type": "funnel",
                "name": variant_label(variant),
                "y": [label for _, label in FUNNEL_STEPS],
                "x": [1000 * count / impressions for count in counts],
                "customdata": counts,
                "texttemplate": [""] + ["%{percentPrevious:.1%}"] * (len(FUNNEL_STEPS) - 1),
                "textposition": "outside",
                "cliponaxis": False,
                "hovertemplate": "%{y}: %{x:.1f} per 1,000 impressions (%{customdata:,} in all)<extra>"
                + variant_label(variant).replace("<", "&lt;")
                + "</extra>",
                "marker": {"color": colors[variant["key"]]},
                "connector": {"visible": False},
            }
        )
    if not data:
        return None
    layout = _layout(
        "Funnel per 1,000 impressions (labels: conversion from the step before)",
        funnelmode="group",
        yaxis={"automargin": True},
        xaxis={"type": "log", "title": {"text": "per 1,000 impressions (log scale)"}, "automargin": True},
    )
    return {"data": data, "layout": layout}


def tradeoff_chart(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """Each treatment's copy diversity against its CTR and CVR lift (λ when no arm's diversity is known)."""
    treatments = _treatments(report)
    if not treatments or not report["units"]:
        return None
    known = [v for v in treatments if v.get("diversity") is not None]
    use_diversity = bool(known)
    arms = known if use_diversity else [v for v in treatments if v.get("lambda") is not None]
    if not arms:
        return None
    data = []
    for metric, symbol in (("ctr", "circle"), ("cvr", "diamond")):
        lifts = [(v["metrics"].get(metric) or {}).get("lift") or {} for v in arms]
        ci = [lift.get("ci") or [None, None] for lift in lifts]
        values = [lift.get("relative") for lift in lifts]
        data.append(
            {
                "type": "scatter",
                # One label per arm is enough: both markers of an arm share its x.
                "mode": "markers+text" if metric == "ctr" else "markers",
                "name": f"{METRIC_LABELS[metric]} lift",
                "x": [v["diversity"] if use_diversity else v["lambda"] for v in arms],
                "y": values,
                "text": [variant_label(v) for v in arms],
                "textposition": "middle right",
                "cliponaxis": False,
                "hovertemplate": "%{text}: %{y:+.1%}<extra>" + METRIC_LABELS[metric] + "</extra>",
                "marker": {"size": 12, "symbol": symbol, "color": PALETTE[0] if metric == "ctr" else PALETTE[1]},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        None if hi is None or y is None else hi - y for (_, hi), y in zip(ci, values, strict=True)
                    ],
                    "arrayminus": [
                        None if lo is None or y is None else y - lo for (lo, _), y in zip(ci, values, strict=True)
                    ],
                    "thickness": 1.2,
                },
            }
        )
    x_title = "diversity of the arm's copy (generator score)" if use_diversity else "λ (no arm's diversity is known)"
    xs = [v["diversity"] if use_diversity else v["lambda"] for v in arms]
    span = max(xs) - min(xs)
    # Room on the right for the labels, and some width when all arms sit at one x.
    x_range = [min(xs) - max(0.15 * span, 0.05), max(xs) + max(0.45 * span, 0.12)]
    layout = _layout(
        "λ trade-off: copy diversity vs CTR and CVR lift",
        xaxis=_axis(x_title, range=x_range),
        yaxis=_axis("relative lift (95 % CI)", tickformat="+.0%"),
        shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0, "line": {"dash": "dot"}}],
    )
    return {"data": data, "layout": layout}


def forest_chart(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Index page: each experiment's leading variant, lift on its primary metric with the interval."""
    points = [r for r in rows if r.get("lift") is not None]
    if not points:
        return None
    labels = [f"{r['experiment']} · {r['variant']} ({METRIC_LABELS[r['metric']]})" for r in points]
    lows = [(r.get("ci") or [None, None])[0] for r in points]
    highs = [(r.get("ci") or [None, None])[1] for r in points]
    values = [r["lift"] for r in points]
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": values,
            "y": labels,
            "marker": {"size": 10, "color": [_status_color(r["status"]) for r in points]},
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": [None if hi is None else hi - v for hi, v in zip(highs, values, strict=True)],
                "arrayminus": [None if lo is None else v - lo for lo, v in zip(lows, values, strict=True)],
            },
            "hovertemplate": "%{y}: %{x:+.1%}<extra></extra>",
            "showlegend": False,
        }
    ]
    layout = _layout(
        "Primary-metric lift of each experiment's leading variant (always-valid interval)",
        xaxis=_axis("relative lift vs control", tickformat="+.0%", zeroline=True),
        yaxis={"automargin": True, "autorange": "reversed"},
        height=max(220, 70 + 34 * len(points)),
    )
    layout["margin"]["l"] = 16
    return {"data": data, "layout": layout}


def _status_color(status: str) -> str:
    return {
        "ship": "#059669",
        "keep_control": "#dc2626",
        "stop_no_effect": "#6b7280",
        "srm_problem": "#b91c1c",
    }.get(status, "#2563eb")


def lambda_chart(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """One category: pooled CVR (and CTR) lift over λ with the fitted curve, diversity on the right axis,
    the elbow, the current default and the paper's recommended range."""
    curve = entry["curve"]
    if not curve:
        return None
    lambdas = [c["lambda"] for c in curve]

    def errors(key: str, value_key: str) -> dict[str, Any]:
        return {
            "type": "data",
            "symmetric": False,
            "array": [None if c[key] is None else c[key][1] - c[value_key] for c in curve],
            "arrayminus": [None if c[key] is None else c[value_key] - c[key][0] for c in curve],
        }

    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "CVR lift (pooled arms)",
            "x": lambdas,
            "y": [c["cvr_lift"] for c in curve],
            "error_y": errors("cvr_ci", "cvr_lift"),
            "marker": {"size": 10, "color": PALETTE[0]},
            "customdata": [[c["arms"], c["units"]] for c in curve],
            "hovertemplate": "λ=%{x}: %{y:+.1%} (%{customdata[0]} arms, %{customdata[1]} units)<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": "CTR lift (pooled arms)",
            "x": lambdas,
            "y": [c["ctr_lift"] for c in curve],
            "marker": {"size": 8, "symbol": "diamond-open", "color": PALETTE[1]},
        },
    ]
    fit = entry.get("fit")
    if fit:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "fitted CVR curve",
                "x": fit["lambda"],
                "y": fit["cvr_lift"],
                "line": {"color": PALETTE[0], "dash": "dash"},
                "hoverinfo": "skip",
            }
        )
    if any(c["diversity"] is not None for c in curve):
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "copy diversity",
                "x": lambdas,
                "y": [c["diversity"] for c in curve],
                "yaxis": "y2",
                "line": {"color": PALETTE[2]},
            }
        )
    shapes: list[dict[str, Any]] = [
        {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0, "line": {"dash": "dot", "width": 1}}
    ]
    annotations = []
    if entry.get("paper_range"):
        low, high = entry["paper_range"]
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
    if entry.get("recommended_lambda") is not None:
        lam = entry["recommended_lambda"]
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
    current = entry.get("current_lambda")
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
    layout = _layout(
        f"{entry['category']}: creativity vs conversion over λ",
        xaxis=_axis("λ (creativity weight)", range=[0, 1], dtick=0.1),
        yaxis=_axis("relative lift vs control", tickformat="+.0%"),
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
    layout["margin"]["r"] = 64
    return {"data": data, "layout": layout}
