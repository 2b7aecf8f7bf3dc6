"""Sufficient statistics for one variant and one metric.

Every metric is computed from per-unit totals (the unit is the visitor), so an arm is fully
described by a handful of sums over its units:

* :class:`SampleMeanStatistic` for "per unit" metrics (orders per unit, revenue per unit):
  ``n``, ``sum``, ``sum_squares`` of the per-unit values.
* :class:`ProportionStatistic` for 0/1 per-unit metrics (visitor converted or not):
  ``n``, ``sum``; variance p (1 - p) as in gbstats.
* :class:`RatioStatistic` for ratio metrics (CTR = clicks / impressions, CVR = orders /
  impressions, orders / clicks, add-to-carts / clicks): numerator and denominator sums,
  their sums of squares and the cross sum. Numerator and denominator are correlated within
  a visitor (more impressions, more clicks), so the variance of the ratio needs the delta
  method *with* the covariance term; treating impressions as independent trials would
  understate the variance.

``mean`` is the metric value; ``variance`` is the per-unit variance, so that the variance of
``mean`` is ``variance / n`` (for ratios, asymptotically). Undefined values are NaN here; the
test functions check :meth:`problem` and the zero cases first and never let a NaN out.

The ``*_moments`` functions are the vectorised versions that the simulations use, so the
simulated validation runs through the same arithmetic as the dataclasses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

ArrayLike: TypeAlias = npt.ArrayLike
FloatArray: TypeAlias = npt.NDArray[np.float64]

# Variances below this fraction of the raw second moment are floating-point residue of
# ``sum_squares - sum**2 / n`` (its rounding error is ~1e-16 of that moment), not signal.
_ZERO_VARIANCE_RTOL = 1e-12
# Slack for the Cauchy-Schwarz consistency check sum**2 <= n * sum_squares.
_CONSISTENCY_RTOL = 1e-9


def mean_moments(n: ArrayLike, total: ArrayLike, total_squares: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Mean and per-unit sample variance (ddof=1) from sums; NaN where undefined."""
    n = np.asarray(n, dtype=float)
    total = np.asarray(total, dtype=float)
    total_squares = np.asarray(total_squares, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        raw = total_squares - total * total / n
        variance = np.where(n > 1, raw / (n - 1), np.nan)
        scale = np.abs(total_squares) / n
        variance = np.where(variance <= _ZERO_VARIANCE_RTOL * scale, 0.0, variance)
    return mean, variance


def proportion_moments(n: ArrayLike, total: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Share of units with a 1 and the Bernoulli variance p (1 - p); NaN where undefined."""
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = np.where(n > 0, np.asarray(total, dtype=float) / n, np.nan)
    return mean, mean * (1.0 - mean)


def ratio_moments(
    n: ArrayLike,
    m_sum: ArrayLike,
    m_sum_squares: ArrayLike,
    d_sum: ArrayLike,
    d_sum_squares: ArrayLike,
    m_d_sum_of_products: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Ratio of sums and its delta-method per-unit variance; NaN where undefined.

    With r = mean_m / mean_d, Var(r_hat) ~ (var_m - 2 r cov_md + r^2 var_d) / (mean_d^2 n).
    This is the same quantity as the textbook three-term expansion
    var_m/mu_d^2 - 2 cov mu_m/mu_d^3 + mu_m^2 var_d/mu_d^4, written so that it is visibly
    the variance of (m - r d) / mu_d and therefore non-negative up to rounding.
    """
    n = np.asarray(n, dtype=float)
    m_sum = np.asarray(m_sum, dtype=float)
    d_sum = np.asarray(d_sum, dtype=float)
    _, var_m = mean_moments(n, m_sum, m_sum_squares)
    _, var_d = mean_moments(n, d_sum, d_sum_squares)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean_d = d_sum / n
        ratio = np.where((n > 0) & (d_sum != 0), m_sum / d_sum, np.nan)
        cov = np.where(n > 1, (np.asarray(m_d_sum_of_products, dtype=float) - m_sum * d_sum / n) / (n - 1), np.nan)
        numerator = var_m - 2.0 * ratio * cov + ratio * ratio * var_d
        scale = var_m + ratio * ratio * var_d
        numerator = np.where(numerator <= _ZERO_VARIANCE_RTOL * scale, 0.0, numerator)
        variance = numerator / (mean_d * mean_d)
    return ratio, variance


def _check_common(n: float, values: dict[str, float]) -> str | None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer | float):
        return "n must be a number"
    if not math.isfinite(float(n)) or n < 0 or float(n) != int(n):
        return "n must be a non-negative whole number"
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            return f"{name} must be a number"
        if not math.isfinite(float(value)):
            return f"{name} is not finite"
    return None


def _check_squares(n: float, total: float, total_squares: float, name: str) -> str | None:
    if total_squares < 0:
        return f"{name} sum of squares is negative"
    if n == 0 and (total != 0 or total_squares != 0):
        return f"{name} sums are non-zero with zero units"
    # Cauchy-Schwarz: (sum x)^2 <= n * sum x^2 for any real per-unit values. Compared through
    # square roots: squaring a huge float would overflow (and ``**`` raises on overflow).
    if abs(total) > math.sqrt(n) * math.sqrt(total_squares) * (1 + _CONSISTENCY_RTOL) + 1e-9:
        return f"{name} sum of squares is smaller than sum^2 / n (inconsistent sums)"
    return None


def values_array(values: Iterable[float]) -> FloatArray:
    """Per-unit values as a float array (an iterator is read once)."""
    return np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)


@dataclass(frozen=True)
class SampleMeanStatistic:
    """Per-unit metric: ``sum`` and ``sum_squares`` of per-unit totals over ``n`` units."""

    n: int
    sum: float
    sum_squares: float

    kind: Literal["mean"] = "mean"

    @classmethod
    def from_values(cls, values: Iterable[float]) -> SampleMeanStatistic:
        x = values_array(values)
        return cls(n=int(x.size), sum=float(x.sum()), sum_squares=float((x * x).sum()))

    @property
    def mean(self) -> float:
        return float(mean_moments(self.n, self.sum, self.sum_squares)[0])

    @property
    def variance(self) -> float:
        return float(mean_moments(self.n, self.sum, self.sum_squares)[1])

    def problem(self) -> str | None:
        """Why these sums cannot be real data, or None if they can."""
        return _check_common(self.n, {"sum": self.sum, "sum_squares": self.sum_squares}) or _check_squares(
            self.n, self.sum, self.sum_squares, "metric"
        )


@dataclass(frozen=True)
class ProportionStatistic:
    """0/1 per-unit metric: ``sum`` is the number of units with a 1."""

    n: int
    sum: float

    kind: Literal["proportion"] = "proportion"

    @classmethod
    def from_values(cls, values: Iterable[float]) -> ProportionStatistic:
        x = values_array(values)
        return cls(n=int(x.size), sum=float(x.sum()))

    @property
    def sum_squares(self) -> float:
        return float(self.sum)

    @property
    def mean(self) -> float:
        return float(proportion_moments(self.n, self.sum)[0])

    @property
    def variance(self) -> float:
        # p (1 - p), as gbstats' ProportionStatistic and the unpooled Wald test of two
        # proportions (statsmodels' test_proportions_2indep, method="wald") use it.
        return float(proportion_moments(self.n, self.sum)[1])

    def problem(self) -> str | None:
        reason = _check_common(self.n, {"sum": self.sum})
        if reason:
            return reason
        if self.sum < 0 or self.sum > self.n:
            return "proportion sum must lie between 0 and n"
        return None


@dataclass(frozen=True)
class RatioStatistic:
    """Ratio metric sum(m) / sum(d) over ``n`` units, e.g. clicks / impressions.

    ``m_d_sum_of_products`` is the sum over units of numerator * denominator; it carries the
    within-unit covariance that the delta method needs.
    """

    n: int
    m_sum: float
    m_sum_squares: float
    d_sum: float
    d_sum_squares: float
    m_d_sum_of_products: float

    kind: Literal["ratio"] = "ratio"

    @classmethod
    def from_units(cls, numerators: Iterable[float], denominators: Iterable[float]) -> RatioStatistic:
        m, d = values_array(numerators), values_array(denominators)
        if m.shape != d.shape:
            raise ValueError("numerators and denominators must have the same length")
        return cls(
            n=int(m.size),
            m_sum=float(m.sum()),
            m_sum_squares=float((m * m).sum()),
            d_sum=float(d.sum()),
            d_sum_squares=float((d * d).sum()),
            m_d_sum_of_products=float((m * d).sum()),
        )

    def _moments(self) -> tuple[FloatArray, FloatArray]:
        return ratio_moments(
            self.n, self.m_sum, self.m_sum_squares, self.d_sum, self.d_sum_squares, self.m_d_sum_of_products
        )

    @property
    def mean(self) -> float:
        return float(self._moments()[0])

    @property
    def variance(self) -> float:
        return float(self._moments()[1])

    @property
    def numerator(self) -> SampleMeanStatistic:
        return SampleMeanStatistic(n=self.n, sum=self.m_sum, sum_squares=self.m_sum_squares)

    @property
    def denominator(self) -> SampleMeanStatistic:
        return SampleMeanStatistic(n=self.n, sum=self.d_sum, sum_squares=self.d_sum_squares)

    @property
    def covariance(self) -> float:
        if self.n <= 1:
            return math.nan
        return (self.m_d_sum_of_products - self.m_sum * self.d_sum / self.n) / (self.n - 1)

    def problem(self) -> str | None:
        reason = _check_common(
            self.n,
            {
                "m_sum": self.m_sum,
                "m_sum_squares": self.m_sum_squares,
                "d_sum": self.d_sum,
                "d_sum_squares": self.d_sum_squares,
                "m_d_sum_of_products": self.m_d_sum_of_products,
            },
        )
        if reason:
            return reason
        reason = _check_squares(self.n, self.m_sum, self.m_sum_squares, "numerator") or _check_squares(
            self.n, self.d_sum, self.d_sum_squares, "denominator"
        )
        if reason:
            return reason
        # Cauchy-Schwarz on the cross sum: (sum m d)^2 <= sum m^2 * sum d^2.
        bound = math.sqrt(self.m_sum_squares) * math.sqrt(self.d_sum_squares)
        if abs(self.m_d_sum_of_products) > bound * (1 + _CONSISTENCY_RTOL) + 1e-9:
            return "cross sum exceeds the Cauchy-Schwarz bound (inconsistent sums)"
        return None


Statistic: TypeAlias = SampleMeanStatistic | ProportionStatistic | RatioStatistic


def statistic_problem(stat: Statistic, arm: str) -> str | None:
    """The first reason why ``stat`` cannot be analysed on its own, phrased for a report."""
    if not isinstance(stat, SampleMeanStatistic | ProportionStatistic | RatioStatistic):
        return f"{arm}: unsupported statistic type {type(stat).__name__}"
    reason = stat.problem()
    if reason:
        return f"{arm}: invalid statistic ({reason})"
    if stat.n == 0:
        return f"no units in {arm}"
    if stat.n < 2:
        return f"fewer than 2 units in {arm}"
    if isinstance(stat, RatioStatistic) and stat.d_sum == 0:
        return f"denominator total is zero in {arm}"
    return None


def safe_n(stat: object) -> int | None:
    """``stat.n`` as an int for reports, or None if it is not a valid unit count."""
    n = getattr(stat, "n", None)
    if isinstance(n, bool) or not isinstance(n, int | float | np.integer | np.floating):
        return None
    return int(n) if math.isfinite(float(n)) and n >= 0 and float(n) == int(n) else None


def safe_mean(stat: object) -> float | None:
    """``stat.mean`` for reports, or None if the statistic is invalid or the mean undefined."""
    if not isinstance(stat, SampleMeanStatistic | ProportionStatistic | RatioStatistic) or stat.problem():
        return None
    mean = stat.mean
    return mean if math.isfinite(mean) else None
