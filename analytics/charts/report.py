"""One experiment's figures, drawn from its `Report`: cumulative lift, daily units, funnel, λ trade-off."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analytics.charts.style import (
    PALETTE,
    ZERO_LINE,
    axis,
    error_bars,
    hover_name,
    layout,
    rgba,
    variant_colors,
)
from analytics.report.format import METRIC_LABELS, variant_label
from analytics.report.types import LookLift, LookSummary, Report

_NO_INTERVAL = (None, None)


def _band_edge(days: list[str], values: list[float | None], key: str, visible: bool, **extra: Any) -> dict[str, Any]:
    """One edge of a variant's always-valid band: an invisible line that plotly fills between."""
    return {
        "type": "scatter",
        "x": days,
        "y": values,
        "mode": "lines",
        "line": {"width": 0},
        **extra,
        "hoverinfo": "skip",
        "showlegend": False,
        "visible": visible,
        "legendgroup": key,
    }


def _lift_title(metric: str) -> str:
    return f"Cumulative lift on {METRIC_LABELS[metric]} with the confidence-sequence band"


def _metric_menu(buttons: list[dict[str, Any]], *, active: int) -> dict[str, Any]:
    """The dropdown above a chart that switches it between the report's metrics."""
    return {
        "type": "dropdown",
        "direction": "down",
        "x": 0,
        "xanchor": "left",
        "y": 1.02,
        "yanchor": "bottom",
        "pad": {"t": 0, "b": 4},
        "buttons": buttons,
        "active": active,
        "showactive": True,
        "font": {"size": 11},
    }


def cumulative_lift_chart(report: Report) -> dict[str, Any] | None:
    """Relative lift of each treatment per daily look, with its confidence-sequence band; one
    button per metric (the primary metric is shown first)."""
    series = report.timeseries
    treatments = report.treatments
    if not series or not treatments or not report.units:
        return None
    colors = variant_colors(report.variants)
    days = [look.day.isoformat() for look in series]
    metrics = [m for m in report.metrics if any(m in look.lift for look in series)]
    if not metrics:
        return None
    primary = report.primary_metric if report.primary_metric in metrics else metrics[0]
    data: list[dict[str, Any]] = []
    owners: list[str] = []
    ranges = {metric: _lift_range(series, metric) for metric in metrics}
    for metric in metrics:
        for variant in treatments:
            key = variant.key
            points: list[LookLift | None] = [look.lift.get(metric, {}).get(key) for look in series]
            intervals = [(p.sequential_ci if p else None) or _NO_INTERVAL for p in points]
            lower = [ci[0] for ci in intervals]
            upper = [ci[1] for ci in intervals]
            visible = metric == primary
            label = variant_label(variant)
            data.append(_band_edge(days, lower, key, visible))
            data.append(
                _band_edge(
                    days,
                    upper,
                    key,
                    visible,
                    fill="tonexty",
                    fillcolor=rgba(colors[key], 0.15),
                    name=f"{label} always-valid interval",
                )
            )
            data.append(
                {
                    "type": "scatter",
                    "x": days,
                    "y": [p.relative if p else None for p in points],
                    "customdata": [[lo, hi] for lo, hi in zip(lower, upper, strict=True)],
                    "mode": "lines+markers",
                    "name": label,
                    "line": {"color": colors[key], "width": 2},
                    "marker": {"size": 6},
                    "hovertemplate": "%{y:+.1%} [%{customdata[0]:+.1%}, %{customdata[1]:+.1%}]<extra>"
                    + hover_name(label)
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
                {"title.text": _lift_title(metric), "yaxis.range": ranges[metric]},
            ],
        }
        for metric in metrics
    ]
    figure_layout = layout(
        _lift_title(primary),
        xaxis=axis("", type="date"),
        yaxis=axis("relative lift vs control", tickformat="+.0%", range=ranges[primary]),
        hovermode="x unified",
        shapes=[ZERO_LINE],
        updatemenus=[_metric_menu(buttons, active=metrics.index(primary))],
    )
    figure_layout["margin"]["t"] = 96
    return {"data": data, "layout": figure_layout}


def _lift_range(series: Sequence[LookSummary], metric: str) -> list[float] | None:
    """A y range that shows the estimates and the latest intervals; the first days' intervals are so
    wide that plotting them whole would flatten everything after into a line."""
    values: list[float] = []
    for index, look in enumerate(series):
        for point in look.lift.get(metric, {}).values():
            if point.relative is not None:
                values.append(point.relative)
            if index == len(series) - 1:
                values.extend(v for v in (point.sequential_ci or ()) if v is not None)
    if not values:
        return None
    low, high = min(min(values), 0.0), max(max(values), 0.0)
    pad = 0.1 * (high - low) or 0.05
    return [low - pad, high + pad]


def _daily_title(metric: str) -> str:
    return f"Daily lift on {METRIC_LABELS[metric]} (each day alone) with its interval"


def _tick(report: Report, metric: str) -> str:
    return "+.0%" if report.metric_scales.get(metric, "relative") == "relative" else "+.2f"


def _daily_range(report: Report, metric: str) -> list[float] | None:
    """The daily estimates with a typical day's interval around them: a first day on few units has an
    interval so wide that plotting it whole would flatten every other day into a line (it runs off the edge)."""
    assert report.novelty is not None
    values: list[float] = []
    widths: list[float] = []
    for day in report.novelty.daily:
        result = day.metrics.get(metric)
        for lift in result.lifts.values() if result else ():
            if lift.estimate is not None:
                values.append(lift.estimate)
            if lift.ci and lift.ci[0] is not None and lift.ci[1] is not None:
                widths.append((lift.ci[1] - lift.ci[0]) / 2)
    if not values:
        return None
    half = sorted(widths)[len(widths) // 2] if widths else 0.0
    low, high = min(min(values), 0.0) - half, max(max(values), 0.0) + half
    pad = 0.05 * (high - low) or 0.05
    return [low - pad, high + pad]


def daily_lift_chart(report: Report) -> dict[str, Any] | None:
    """Each treatment's lift on each day's activity alone, with that day's fixed-horizon interval as
    error bars and the weighted trend as a dashed line; one button per metric (the primary first).
    A fading novelty effect shows as points falling toward zero while the cumulative lift stays up."""
    novelty = report.novelty
    treatments = report.treatments
    if novelty is None or len(novelty.daily) < 2 or not treatments:
        return None
    colors = variant_colors(report.variants)
    days = [d.day.isoformat() for d in novelty.daily]
    metrics = list(novelty.metrics)
    primary = report.primary_metric if report.primary_metric in metrics else metrics[0]
    data: list[dict[str, Any]] = []
    owners: list[str] = []
    for metric in metrics:
        relative = report.metric_scales.get(metric, "relative") == "relative"
        fmt = "+.1%" if relative else "+.3f"
        for variant in treatments:
            key, label = variant.key, variant_label(variant)
            points = [d.metrics[metric].lifts.get(key) if metric in d.metrics else None for d in novelty.daily]
            values = [p.estimate if p else None for p in points]
            lows = [(p.ci or _NO_INTERVAL)[0] if p else None for p in points]
            highs = [(p.ci or _NO_INTERVAL)[1] if p else None for p in points]
            partial = ["(day so far)" if d.partial else "" for d in novelty.daily]
            data.append(
                {
                    "type": "scatter",
                    "x": days,
                    "y": values,
                    "error_y": {**error_bars(values, lows, highs), "color": rgba(colors[key], 0.5), "thickness": 1},
                    "customdata": [[lo, hi, note] for lo, hi, note in zip(lows, highs, partial, strict=True)],
                    "mode": "markers",
                    "name": label,
                    "marker": {"color": colors[key], "size": 7},
                    "hovertemplate": f"%{{y:{fmt}}} [%{{customdata[0]:{fmt}}}, %{{customdata[1]:{fmt}}}] "
                    "%{customdata[2]}<extra>" + hover_name(label) + "</extra>",
                    "visible": metric == primary,
                    "legendgroup": key,
                }
            )
            owners.append(metric)
            trend = novelty.trend.get(metric, {}).get(key)
            if trend is not None and trend.fitted is not None:
                line = list(trend.fitted)
                data.append(
                    {
                        "type": "scatter",
                        "x": [days[0], days[-1]],
                        "y": line,
                        "mode": "lines",
                        "line": {"color": colors[key], "dash": "dash", "width": 1.5},
                        "name": f"{label} trend" + (" (fading)" if trend.fading else ""),
                        "hoverinfo": "skip",
                        "visible": metric == primary,
                        "legendgroup": key,
                    }
                )
                owners.append(metric)
    ranges = {metric: _daily_range(report, metric) for metric in metrics}
    buttons = [
        {
            "label": METRIC_LABELS[metric],
            "method": "update",
            "args": [
                {"visible": [owner == metric for owner in owners]},
                {
                    "title.text": _daily_title(metric),
                    "yaxis.tickformat": _tick(report, metric),
                    "yaxis.range": ranges[metric],
                },
            ],
        }
        for metric in metrics
    ]
    figure_layout = layout(
        _daily_title(primary),
        xaxis=axis("", type="date"),
        yaxis=axis(
            "lift vs control that day",
            tickformat=_tick(report, primary),
            range=ranges[primary],
        ),
        hovermode="x unified",
        shapes=[ZERO_LINE],
        updatemenus=[_metric_menu(buttons, active=metrics.index(primary))],
    )
    figure_layout["margin"]["t"] = 96
    return {"data": data, "layout": figure_layout}


def daily_units_chart(report: Report) -> dict[str, Any] | None:
    series = report.timeseries
    if not series or not report.units:
        return None
    colors = variant_colors(report.variants)
    days = [look.day.isoformat() for look in series]
    data = [
        {
            "type": "bar",
            "x": days,
            "y": [look.new_units.get(v.key, 0) for look in series],
            "name": variant_label(v),
            "marker": {"color": colors[v.key]},
        }
        for v in report.variants
    ]
    figure_layout = layout(
        "New units per day and variant",
        barmode="group",
        xaxis=axis("", type="date"),
        yaxis=axis("units first seen that day (UTC)"),
    )
    return {"data": data, "layout": figure_layout}


FUNNEL_STEPS = (
    ("impressions", "Impressions"),
    ("clicks", "Clicks"),
    ("add_to_carts", "Add to cart"),
    ("orders", "Orders"),
)


def funnel_chart(report: Report) -> dict[str, Any] | None:
    """Per variant, each funnel step per 1,000 impressions (arms get different traffic shares, so raw
    counts would compare traffic, not copy); the labels give each step's conversion from the one before."""
    if not report.units:
        return None
    colors = variant_colors(report.variants)
    data = []
    for variant in report.variants:
        impressions = variant.impressions
        if not impressions:
            continue
        counts = [getattr(variant, field) for field, _ in FUNNEL_STEPS]
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
                + hover_name(variant_label(variant))
                + "</extra>",
                "marker": {"color": colors[variant.key]},
                "connector": {"visible": False},
            }
        )
    if not data:
        return None
    figure_layout = layout(
        "Funnel per 1,000 impressions (labels: conversion from the step before)",
        funnelmode="group",
        yaxis={"automargin": True},
        xaxis={"type": "log", "title": {"text": "per 1,000 impressions (log scale)"}, "automargin": True},
    )
    return {"data": data, "layout": figure_layout}


def tradeoff_chart(report: Report) -> dict[str, Any] | None:
    """Each treatment's copy diversity against its CTR and CVR lift (λ when no arm's diversity is known)."""
    treatments = report.treatments
    if not treatments or not report.units:
        return None
    known = [v for v in treatments if v.diversity is not None]
    use_diversity = bool(known)
    arms = known if use_diversity else [v for v in treatments if v.lambda_value is not None]
    if not arms:
        return None
    xs: list[float] = [(v.diversity if use_diversity else v.lambda_value) for v in arms]  # type: ignore[misc]
    data = []
    for metric, symbol in (("ctr", "circle"), ("cvr", "diamond")):
        results = [v.metrics.get(metric) for v in arms]
        lifts = [result.lift if result else None for result in results]
        ci = [(lift.ci if lift else None) or _NO_INTERVAL for lift in lifts]
        values = [lift.relative if lift else None for lift in lifts]
        data.append(
            {
                "type": "scatter",
                # One label per arm is enough: both markers of an arm share its x.
                "mode": "markers+text" if metric == "ctr" else "markers",
                "name": f"{METRIC_LABELS[metric]} lift",
                "x": xs,
                "y": values,
                "text": [variant_label(v) for v in arms],
                "textposition": "middle right",
                "cliponaxis": False,
                "hovertemplate": "%{text}: %{y:+.1%}<extra>" + METRIC_LABELS[metric] + "</extra>",
                "marker": {"size": 12, "symbol": symbol, "color": PALETTE[0] if metric == "ctr" else PALETTE[1]},
                "error_y": {
                    **error_bars(values, [lo for lo, _ in ci], [hi for _, hi in ci]),
                    "thickness": 1.2,
                },
            }
        )
    x_title = "diversity of the arm's copy (generator score)" if use_diversity else "λ (no arm's diversity is known)"
    span = max(xs) - min(xs)
    # Room on the right for the labels, and some width when all arms sit at one x.
    x_range = [min(xs) - max(0.15 * span, 0.05), max(xs) + max(0.45 * span, 0.12)]
    figure_layout = layout(
        "λ trade-off: copy diversity vs CTR and CVR lift",
        xaxis=axis(x_title, range=x_range),
        yaxis=axis("relative lift (95 % CI)", tickformat="+.0%"),
        shapes=[ZERO_LINE],
    )
    return {"data": data, "layout": figure_layout}
