"""Words and numbers of the report as people read them: metric names, variant labels, percentages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

METRIC_LABELS = {
    "ctr": "CTR",
    "cvr": "CVR",
    "click_to_order": "orders / clicks",
    "atc_rate": "add-to-cart rate",
    "orders_per_unit": "orders per unit",
    "revenue_per_unit": "revenue per unit",
}


class Labelled(Protocol):
    """A variant model or a report's variant result: both have these."""

    key: str
    lambda_value: float | None


def variant_label(variant: Labelled) -> str:
    """`llm-l060 (λ=0.6)`: the key, and the creativity weight where there is one."""
    lam = variant.lambda_value
    return f"{variant.key} (λ={lam:g})" if lam is not None else variant.key


def pct(value: float | None, digits: int = 1) -> str:
    """+8.1 % (typographic minus for negatives); an en dash when unknown."""
    if value is None:
        return "–"
    text = f"{abs(value) * 100:.{digits}f} %"
    return ("−" if value < 0 else "+") + text


def interval(ci: Sequence[float | None] | None) -> str:
    if not ci:
        return "[–]"
    lower, upper = ci
    return f"[{pct(lower) if lower is not None else '−∞'}, {pct(upper) if upper is not None else '+∞'}]"
