"""CUPED / regression adjustment with a pre-period covariate (per-unit and ratio metrics).

The pre-experiment value x of a unit predicts its in-experiment value y; subtracting
theta (x - mean x) removes the predictable part of y's variance without biasing the lift,
because assignment is independent of x. The sufficient statistics add the covariate's sums
and the cross sums to the metric's:

* :class:`RegressionAdjustedStatistic`: per-unit metric y with covariate x (n, sum y,
  sum y^2, sum x, sum x^2, sum y x); y and x may be 0/1 (:class:`ProportionStatistic`).
* :class:`RegressionAdjustedRatioStatistic`: ratio metric m / d (e.g. clicks / impressions)
  with a pre-period ratio a / b, adjusted through the delta-method influence functions
  psi_post = (m - R d) / mean d and psi_pre = (a - P b) / mean b; besides both ratios' own
  sums it needs the four cross sums m a, m b, d a, d b.

theta is estimated once, pooled over both arms (sums added, as gbstats'
``compute_theta``: Cov(y, x) / Var(x) of the joint sample), and used in both arms. With
theta = 0 (no spread in the pooled covariate or metric) the test is the unadjusted one, as in
gbstats. Lifts, as in gbstats' ``TwoSidedTTest`` on a ``RegressionAdjustedStatistic``:

    absolute = adj_b - adj_a,            adj = mean y - theta mean x (per arm)
    relative = (adj_b - adj_a) / mean y_a (the *unadjusted* control mean)
    Var(relative) = v_b / (ybar_a^2 n_b) + v_a ybar_b^2 / (ybar_a^4 n_a),  v = adjusted variance
    v = Var(y) + theta^2 Var(x) - 2 theta Cov(y, x), Welch degrees of freedom from v.

The per-unit case matches gbstats 0.8.0 to 4 significant digits (tested). gbstats 0.8.0 has no
ratio version; ours is checked against the influence functions computed on raw units.
``variance_reduction`` = 1 - Var(adjusted lift) / Var(unadjusted lift), the share of the lift's
variance removed (about the squared pre/post correlation).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeAlias

import numpy as np

from analytics.stats.config import DEFAULT_CONFIG, StatsConfig
from analytics.stats.frequentist import (
    FixedHorizonResult,
    LiftEstimate,
    fixed_horizon_arrays,
    fixed_horizon_test,
    lift_fields,
    welch_dof,
)
from analytics.stats.results import ResultMixin, finite_or_none
from analytics.stats.sequential import SequentialResult, sequential_test
from analytics.stats.statistics import (
    ProportionStatistic,
    RatioStatistic,
    SampleMeanStatistic,
    statistic_problem,
    values_array,
)

BaseStatistic: TypeAlias = SampleMeanStatistic | ProportionStatistic


@dataclass(frozen=True)
class RegressionAdjustedStatistic:
    """Per-unit metric ``post`` with pre-period covariate ``pre`` over the same ``n`` units."""

    n: int
    post: BaseStatistic
    pre: BaseStatistic
    post_pre_sum_of_products: float

    kind: Literal["mean_ra"] = "mean_ra"

    @classmethod
    def from_values(
        cls, post: Iterable[float], pre: Iterable[float], *, proportion: bool = False
    ) -> RegressionAdjustedStatistic:
        """From per-unit arrays (``proportion``: both are 0/1 and use the Bernoulli variance)."""
        y, x = values_array(post), values_array(pre)
        if y.shape != x.shape:
            raise ValueError("post and pre values must have the same length")
        kind = ProportionStatistic if proportion else SampleMeanStatistic
        return cls(
            n=int(y.size),
            post=kind.from_values(y),
            pre=kind.from_values(x),
            post_pre_sum_of_products=float((y * x).sum()),
        )

    @property
    def mean(self) -> float:
        """The unadjusted metric value (what the report shows as the arm's mean)."""
        return self.post.mean

    @property
    def covariance(self) -> float:
        if self.n <= 1:
            return math.nan
        return (self.post_pre_sum_of_products - self.post.sum * self.pre.sum / self.n) / (self.n - 1)

    def adjusted(self, theta: float) -> tuple[float, float]:
        """Adjusted mean (mean y - theta mean x) and adjusted per-unit variance."""
        variance = self.post.variance + theta * theta * self.pre.variance - 2.0 * theta * self.covariance
        return self.post.mean - theta * self.pre.mean, max(variance, 0.0)

    def problem(self) -> str | None:
        for name, stat in (("post", self.post), ("pre", self.pre)):
            if type(stat) is not type(self.post):
                return "post and pre statistics must be of the same type"
            if stat.n != self.n:
                return f"{name} statistic has {stat.n} units, expected {self.n}"
            reason = stat.problem()
            if reason:
                return f"{name}: {reason}"
        if not math.isfinite(float(self.post_pre_sum_of_products)):
            return "post_pre_sum_of_products is not finite"
        bound = math.sqrt(self.post.sum_squares) * math.sqrt(self.pre.sum_squares)
        if abs(self.post_pre_sum_of_products) > bound * (1 + 1e-9) + 1e-9:
            return "cross sum exceeds the Cauchy-Schwarz bound (inconsistent sums)"
        return None


@dataclass(frozen=True)
class RegressionAdjustedRatioStatistic:
    """Ratio metric ``post`` (m / d) with pre-period ratio ``pre`` (a / b) over the same units."""

    n: int
    post: RatioStatistic
    pre: RatioStatistic
    m_a_sum_of_products: float
    m_b_sum_of_products: float
    d_a_sum_of_products: float
    d_b_sum_of_products: float

    kind: Literal["ratio_ra"] = "ratio_ra"

    @classmethod
    def from_units(
        cls,
        numerators: Iterable[float],
        denominators: Iterable[float],
        pre_numerators: Iterable[float],
        pre_denominators: Iterable[float],
    ) -> RegressionAdjustedRatioStatistic:
        m, d, a, b = (values_array(v) for v in (numerators, denominators, pre_numerators, pre_denominators))
        if not (m.shape == d.shape == a.shape == b.shape):
            raise ValueError("all per-unit arrays must have the same length")
        return cls(
            n=int(m.size),
            post=RatioStatistic.from_units(m, d),
            pre=RatioStatistic.from_units(a, b),
            m_a_sum_of_products=float((m * a).sum()),
            m_b_sum_of_products=float((m * b).sum()),
            d_a_sum_of_products=float((d * a).sum()),
            d_b_sum_of_products=float((d * b).sum()),
        )

    @property
    def mean(self) -> float:
        return self.post.mean

    @property
    def covariance(self) -> float:
        """Covariance of the post and pre influence functions (m - R d)/mean d and (a - P b)/mean b."""
        n = self.n
        if n <= 1 or self.post.d_sum == 0 or self.pre.d_sum == 0:
            return math.nan
        post, pre = self.post, self.pre

        def cov(xy: float, x: float, y: float) -> float:
            return (xy - x * y / n) / (n - 1)

        r, p = post.mean, pre.mean
        raw = (
            cov(self.m_a_sum_of_products, post.m_sum, pre.m_sum)
            - p * cov(self.m_b_sum_of_products, post.m_sum, pre.d_sum)
            - r * cov(self.d_a_sum_of_products, post.d_sum, pre.m_sum)
            + r * p * cov(self.d_b_sum_of_products, post.d_sum, pre.d_sum)
        )
        return raw / ((post.d_sum / n) * (pre.d_sum / n))

    def adjusted(self, theta: float) -> tuple[float, float]:
        variance = self.post.variance + theta * theta * self.pre.variance - 2.0 * theta * self.covariance
        return self.post.mean - theta * self.pre.mean, max(variance, 0.0)

    def problem(self) -> str | None:
        for name, stat in (("post", self.post), ("pre", self.pre)):
            if stat.n != self.n:
                return f"{name} statistic has {stat.n} units, expected {self.n}"
            reason = stat.problem()
            if reason:
                return f"{name}: {reason}"
        crosses = (
            self.m_a_sum_of_products,
            self.m_b_sum_of_products,
            self.d_a_sum_of_products,
            self.d_b_sum_of_products,
        )
        if not all(math.isfinite(float(v)) for v in crosses):
            return "a cross sum is not finite"
        return None


AdjustedStatistic: TypeAlias = RegressionAdjustedStatistic | RegressionAdjustedRatioStatistic


def _joint(a: AdjustedStatistic, b: AdjustedStatistic) -> AdjustedStatistic:
    """Both arms' sums added: one sample, ignoring the arm (gbstats' ``create_joint_statistic``)."""
    n = a.n + b.n

    def add(x: Any, y: Any) -> Any:  # the three statistic kinds
        if isinstance(x, ProportionStatistic):
            return ProportionStatistic(n=n, sum=x.sum + y.sum)
        if isinstance(x, SampleMeanStatistic):
            return SampleMeanStatistic(n=n, sum=x.sum + y.sum, sum_squares=x.sum_squares + y.sum_squares)
        return RatioStatistic(
            n=n,
            **{k: getattr(x, k) + getattr(y, k) for k in ("m_sum", "m_sum_squares", "d_sum", "d_sum_squares")},
            m_d_sum_of_products=x.m_d_sum_of_products + y.m_d_sum_of_products,
        )

    if isinstance(a, RegressionAdjustedStatistic):
        return RegressionAdjustedStatistic(
            n=n,
            post=add(a.post, b.post),
            pre=add(a.pre, b.pre),
            post_pre_sum_of_products=a.post_pre_sum_of_products + b.post_pre_sum_of_products,
        )
    names = ("m_a_sum_of_products", "m_b_sum_of_products", "d_a_sum_of_products", "d_b_sum_of_products")
    return RegressionAdjustedRatioStatistic(
        n=n, post=add(a.post, b.post), pre=add(a.pre, b.pre), **{k: getattr(a, k) + getattr(b, k) for k in names}
    )


def pooled_theta(control: AdjustedStatistic, treatment: AdjustedStatistic) -> float:
    """Cov(post, pre) / Var(pre) over both arms pooled; 0 when either pooled variance is 0."""
    joint = _joint(control, treatment)
    pre_var, post_var = joint.pre.variance, joint.post.variance
    if not (pre_var > 0 and post_var > 0):
        return 0.0
    theta = joint.covariance / pre_var
    return theta if math.isfinite(theta) else 0.0


@dataclass(frozen=True)
class RegressionAdjustedResult(ResultMixin):
    """The adjusted test (``adjusted``), the same test without the covariate (``unadjusted``),
    theta, and the share of the lift's variance that the covariate removed (configured scale)."""

    theta: float | None
    variance_reduction: float | None
    adjusted: FixedHorizonResult
    unadjusted: FixedHorizonResult
    error: str | None = None


def _adjusted_lift(
    control: AdjustedStatistic, treatment: AdjustedStatistic, theta: float, config: StatsConfig, *, relative: bool
) -> tuple[LiftEstimate, float | None]:
    adj_a, var_a = control.adjusted(theta)
    adj_b, var_b = treatment.adjusted(theta)
    n_a, n_b = control.n, treatment.n
    mean_a, mean_b = control.mean, treatment.mean
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if relative:
            estimate = (adj_b - adj_a) / mean_a
            variance = var_b / (mean_a**2 * n_b) + var_a * mean_b**2 / (mean_a**4 * n_a)
        else:
            estimate = adj_b - adj_a
            variance = var_b / n_b + var_a / n_a
        dof = welch_dof(var_a, n_a, var_b, n_b)
    std_error = math.sqrt(variance) if variance > 0 else math.nan
    statistic, p_value, lower, upper = fixed_horizon_arrays(
        estimate, std_error, dof, alpha=config.alpha, sides=config.sides, test=config.test
    )
    if finite_or_none(estimate) is None or finite_or_none(std_error) is None or finite_or_none(p_value) is None:
        return LiftEstimate(reason="adjusted variance is zero or not finite"), None
    lift = LiftEstimate(
        estimate=float(estimate),
        std_error=std_error,
        ci_lower=finite_or_none(lower),
        ci_upper=finite_or_none(upper),
        p_value=finite_or_none(p_value),
        statistic=finite_or_none(statistic),
    )
    return lift, finite_or_none(dof)


def regression_adjusted_test(
    control: AdjustedStatistic, treatment: AdjustedStatistic, config: StatsConfig = DEFAULT_CONFIG
) -> RegressionAdjustedResult:
    """CUPED-adjusted fixed-horizon test of treatment vs control (pooled theta; see the module doc).

    ``adjusted`` is a :class:`FixedHorizonResult` like :func:`fixed_horizon_test`'s (control and
    treatment means are the unadjusted ones), so the report can show it in the same columns.
    """
    unadjusted = fixed_horizon_test(getattr(control, "post", control), getattr(treatment, "post", treatment), config)
    reason = None
    for arm, stat in (("control", control), ("treatment", treatment)):
        if not isinstance(stat, RegressionAdjustedStatistic | RegressionAdjustedRatioStatistic):
            reason = reason or f"{arm}: not a regression-adjusted statistic"
        elif stat.problem():
            reason = reason or f"{arm}: invalid statistic ({stat.problem()})"
    if reason is None and type(control) is not type(treatment):
        reason = "control and treatment are different kinds of statistic"
    if reason is None:
        for arm, stat in (("control", control), ("treatment", treatment)):
            reason = reason or statistic_problem(stat.post, arm) or statistic_problem(stat.pre, f"{arm} pre-period")
    if reason:
        no_lift = LiftEstimate(reason=reason)
        failed = replace(unadjusted, **lift_fields(no_lift, no_lift, config))
        return RegressionAdjustedResult(None, None, failed, unadjusted, error=reason)
    theta = pooled_theta(control, treatment)
    if theta == 0.0:
        # No usable covariate: the adjusted test is the unadjusted one (as in gbstats).
        return RegressionAdjustedResult(0.0, 0.0, unadjusted, unadjusted)
    absolute, dof = _adjusted_lift(control, treatment, theta, config, relative=False)
    if control.mean == 0:
        relative = LiftEstimate(reason="baseline (control) mean is zero: relative lift is undefined")
    else:
        relative, _ = _adjusted_lift(control, treatment, theta, config, relative=True)
    adjusted = replace(
        unadjusted, dof=dof if config.test == "welch_t" else None, **lift_fields(absolute, relative, config)
    )
    primary = relative if config.difference_type == "relative" else absolute
    before = unadjusted.relative if config.difference_type == "relative" else unadjusted.absolute
    reduction = None
    if primary.std_error is not None and before.std_error:
        reduction = 1.0 - (primary.std_error / before.std_error) ** 2
    return RegressionAdjustedResult(theta=theta, variance_reduction=reduction, adjusted=adjusted, unadjusted=unadjusted)


def regression_adjusted_sequential_test(
    control: AdjustedStatistic,
    treatment: AdjustedStatistic,
    config: StatsConfig = DEFAULT_CONFIG,
    *,
    information_fractions: Sequence[float] | None = None,
    look: int | None = None,
) -> SequentialResult:
    """The configured sequential test (cs, mSPRT or group-sequential) on the CUPED-adjusted lift.

    The adjusted estimate and standard error of :func:`regression_adjusted_test` (configured
    scale) replace the unadjusted ones; unit counts (burn-in, the CS's tuning) and the control
    mean (the mSPRT's tau on the absolute scale) come from the post-period statistics. theta is
    re-estimated at every look from the data so far, as in the fixed-horizon test.
    """
    result = regression_adjusted_test(control, treatment, config)
    post_c, post_t = getattr(control, "post", control), getattr(treatment, "post", treatment)
    lift = result.adjusted.relative if config.difference_type == "relative" else result.adjusted.absolute
    if result.error or lift.estimate is None or not lift.std_error:
        reason = result.error or lift.reason or "adjusted lift is undefined"
        return SequentialResult(
            method=config.sequential_method, alpha=config.alpha, difference_type=config.difference_type, error=reason
        )
    return sequential_test(
        post_c,
        post_t,
        config,
        information_fractions=information_fractions,
        look=look,
        lift=(lift.estimate, lift.std_error),
    )
