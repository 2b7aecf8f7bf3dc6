"""Number formatting for the report pages (values arrive as plain floats from the report's dataclasses)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import template

from analytics.report import format as report_text

register = template.Library()

RATIO_METRICS = {"ctr", "cvr", "click_to_order", "atc_rate"}


@register.filter
def lift_pct(value: float | None) -> str:
    """0.081 → +8.1 %"""
    return report_text.pct(value)


@register.filter
def ci(value: Sequence[float | None] | None) -> str:
    """[0.032, 0.13] → [+3.2 %, +13.0 %]"""
    return report_text.interval(value)


@register.filter
def abs_ci(value: Sequence[float | None] | None) -> str:
    if not value or value[0] is None or value[1] is None:
        return "[–]"
    return f"[{value[0]:+.4g}, {value[1]:+.4g}]"


@register.filter
def pvalue(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 0.001:
        return "<0.001"
    return f"{value:.3f}"


@register.filter
def share(value: float | None) -> str:
    """0.973 → 97.3 %"""
    return "–" if value is None else f"{value * 100:.1f} %"


@register.filter
def metric_value(value: float | None, metric: str) -> str:
    if value is None:
        return "–"
    if metric in RATIO_METRICS:
        return f"{value * 100:.2f} %"
    return f"{value:.4g}"


@register.filter
def number(value: float | int | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


@register.filter
def days(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}"


@register.filter
def metric_label(metric: str) -> str:
    return report_text.METRIC_LABELS.get(metric, metric)


@register.filter
def get(mapping: Mapping[str, Any] | None, key: str) -> Any:
    return None if mapping is None else mapping.get(key)


@register.filter
def label(variant: report_text.Labelled) -> str:
    return report_text.variant_label(variant)


DECISION_LABELS = {
    "ship": "ship",
    "keep_control": "keep control",
    "stop_no_effect": "stop: no effect",
    "keep_running": "keep running",
    "inconclusive": "inconclusive",
    "srm_problem": "SRM problem",
    "not_enough_data": "not enough data",
    "guardrail_harm": "guardrail harmed",
}


@register.filter
def decision_label(status: str) -> str:
    return DECISION_LABELS.get(status, status)
