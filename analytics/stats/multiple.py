"""Adjusting p-values across the treatment arms (the lambda arms) of one metric.

Holm-Bonferroni (default) controls the family-wise error rate under any dependence, and the
arms share a control, so their tests are positively dependent; Benjamini-Hochberg controls
the false discovery rate (valid under that positive dependence) and is less conservative.
Both work for any valid p-values, including always-valid sequential ones.

Missing p-values (an arm whose test could not be run) are not part of the family and stay
None, so a degenerate arm neither uses up nor inflates the error budget of the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from analytics.stats.config import Correction
from analytics.stats.statistics import FloatArray


def _step_adjusted(p_values: Sequence[float], step: Callable[[FloatArray, int], FloatArray]) -> list[float]:
    """``step(sorted p-values, m)`` put back in the input order, capped at 1."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(step(p[order], m), 1.0)
    return adjusted.tolist()


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values: max over j <= i of (m - j) p_(j), capped at 1."""
    return _step_adjusted(p_values, lambda p, m: np.maximum.accumulate((m - np.arange(m)) * p))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH step-up adjusted p-values: min over j >= i of m p_(j) / j, capped at 1."""
    return _step_adjusted(p_values, lambda p, m: np.minimum.accumulate((p * m / np.arange(1, m + 1))[::-1])[::-1])


def adjust_p_values(p_values: Sequence[float | None], method: Correction = "holm") -> list[float | None]:
    """Adjusted p-values in the input order; None (or non-finite) inputs stay None."""
    if method not in ("holm", "bh", "none"):
        raise ValueError("method must be 'holm', 'bh' or 'none'")
    valid = [
        i
        for i, p in enumerate(p_values)
        if p is not None and isinstance(p, int | float | np.floating) and math.isfinite(p) and 0 <= p <= 1
    ]
    result: list[float | None] = [None] * len(p_values)
    values = [float(p_values[i]) for i in valid]  # type: ignore[arg-type]
    if method == "holm":
        adjusted = holm(values)
    elif method == "bh":
        adjusted = benjamini_hochberg(values)
    else:
        adjusted = values
    for i, value in zip(valid, adjusted, strict=True):
        result[i] = float(value)
    return result
