"""Breakdowns: one treatment-vs-control test per row (a product, a category) at once, on arrays.

A catalog experiment of 10,000 products has 10,000 rows per metric and arm: the scalar
:func:`analytics.stats.frequentist.fixed_horizon_test` per row costs too much for a page, so
the same kernel (delta-method ratio or mean moments, Welch t with Welch-Satterthwaite degrees
of freedom, the relative lift's delta-method variance) runs vectorised over rows. Rows where a
test is undefined (fewer than two units, a zero denominator or control mean, zero variance) get
NaN, which the caller shows as "no result"; there is no Fisher fallback per row. The p-values
are adjusted across every row and treatment arm of one metric (the family of the breakdown).

Breakdowns are exploratory: they look at many slices, and a slice's lift is not the experiment's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analytics.stats.config import Correction, StatsConfig
from analytics.stats.frequentist import fixed_horizon_arrays, lift_moments, welch_dof
from analytics.stats.multiple import benjamini_hochberg, holm
from analytics.stats.statistics import FloatArray, mean_moments, ratio_moments


@dataclass(frozen=True)
class ArmArrays:
    """Sufficient statistics of one arm over the rows: sums over units of per-unit totals (a ratio
    metric m / d), or of one per-unit value (a mean metric: ``d_*`` are None)."""

    n: FloatArray
    m_sum: FloatArray
    m_sum_squares: FloatArray
    d_sum: FloatArray | None = None
    d_sum_squares: FloatArray | None = None
    m_d_sum_of_products: FloatArray | None = None

    def moments(self) -> tuple[FloatArray, FloatArray]:
        """Mean and per-unit variance of each row."""
        if self.d_sum is None:
            return mean_moments(self.n, self.m_sum, self.m_sum_squares)
        return ratio_moments(
            self.n, self.m_sum, self.m_sum_squares, self.d_sum, self.d_sum_squares, self.m_d_sum_of_products
        )


@dataclass(frozen=True)
class RowLifts:
    """Per row: both arms' values and the treatment's lift, interval and (adjusted) p-value; NaN where
    undefined. ``relative`` says which lift ``estimate``, the interval and the p-value are of."""

    control_mean: FloatArray
    treatment_mean: FloatArray
    relative: bool
    estimate: FloatArray
    ci_lower: FloatArray
    ci_upper: FloatArray
    p_value: FloatArray
    std_error: FloatArray | None = None  # of ``estimate``; NaN where undefined


def row_lifts(control: ArmArrays, treatment: ArmArrays, *, relative: bool, config: StatsConfig) -> RowLifts:
    """The fixed-horizon test of every row (gbstats' two-sided Welch t, as the pooled report)."""
    mean_a, var_a = control.moments()
    mean_b, var_b = treatment.moments()
    n_a, n_b = np.asarray(control.n, dtype=float), np.asarray(treatment.n, dtype=float)
    estimate, variance = lift_moments(mean_a, var_a, n_a, mean_b, var_b, n_b, relative=relative)
    dof = welch_dof(var_a, n_a, var_b, n_b)
    with np.errstate(invalid="ignore"):
        defined = (n_a > 1) & (n_b > 1) & np.isfinite(variance) & (variance > 0) & np.isfinite(estimate)
    std_error = np.where(defined, np.sqrt(np.where(defined, variance, 1.0)), np.nan)
    _, p_value, lower, upper = fixed_horizon_arrays(
        np.where(defined, estimate, np.nan), std_error, dof, alpha=config.alpha, sides=config.sides, test=config.test
    )
    return RowLifts(
        control_mean=mean_a,
        treatment_mean=mean_b,
        relative=relative,
        estimate=np.where(np.isfinite(estimate), estimate, np.nan),
        ci_lower=np.where(defined, lower, np.nan),
        ci_upper=np.where(defined, upper, np.nan),
        p_value=np.where(defined, p_value, np.nan),
        std_error=std_error,
    )


def adjust_rows(p_values: Mapping[str, FloatArray], method: Correction) -> dict[str, FloatArray]:
    """Adjust the p-values of every row and treatment arm of one metric as one family (NaN stays NaN):
    :func:`analytics.stats.multiple.adjust_p_values` on arrays (the same Holm and BH kernels)."""
    if method not in ("holm", "bh", "none"):
        raise ValueError("method must be 'holm', 'bh' or 'none'")
    names: Sequence[str] = list(p_values)
    flat = np.concatenate([np.asarray(p_values[name], dtype=float) for name in names]) if names else np.array([])
    valid = np.isfinite(flat) & (flat >= 0) & (flat <= 1)
    adjusted = np.full(flat.shape, np.nan)
    if valid.any():
        kernel = {"holm": holm, "bh": benjamini_hochberg}.get(method)
        adjusted[valid] = kernel(flat[valid]) if kernel else flat[valid]
    result: dict[str, FloatArray] = {}
    start = 0
    for name in names:
        size = len(p_values[name])
        result[name] = adjusted[start : start + size]
        start += size
    return result
