"""Fixed-horizon test of treatment vs control: absolute and relative lift, CI, p-value.

Matches gbstats' ``TwoSidedTTest`` (Welch t with Welch-Satterthwaite degrees of freedom,
relative-lift variance by the delta method) so numbers agree with GrowthBook; ``test="z"``
uses the normal distribution instead. Valid for one pre-planned look only: looking every day
and stopping at the first p < alpha inflates the false-positive rate (see
:mod:`analytics.stats.sequential` for the always-valid alternatives).

The array functions at the top are the vectorised kernel shared with the simulations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special
from scipy import stats as sps

from analytics.stats.config import DEFAULT_CONFIG, Sides, StatsConfig, TestKind
from analytics.stats.results import ResultMixin, finite_or_none
from analytics.stats.statistics import (
    ArrayLike,
    FloatArray,
    ProportionStatistic,
    RatioStatistic,
    SampleMeanStatistic,
    Statistic,
    safe_mean,
    safe_n,
    statistic_problem,
)


def lift_moments(
    mean_a: ArrayLike,
    var_a: ArrayLike,
    n_a: ArrayLike,
    mean_b: ArrayLike,
    var_b: ArrayLike,
    n_b: ArrayLike,
    *,
    relative: bool,
) -> tuple[FloatArray, FloatArray]:
    """Point estimate of the lift of b over a and the variance of that estimate.

    Relative lift (mean_b / mean_a - 1) uses the first-order delta method on the ratio of two
    independent means: Var ~ var_b / (mean_a^2 n_b) + mean_b^2 var_a / (mean_a^4 n_a).
    """
    mean_a, var_a, n_a = (np.asarray(x, dtype=float) for x in (mean_a, var_a, n_a))
    mean_b, var_b, n_b = (np.asarray(x, dtype=float) for x in (mean_b, var_b, n_b))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if relative:
            estimate = (mean_b - mean_a) / mean_a
            variance = var_b / (mean_a**2 * n_b) + var_a * mean_b**2 / (mean_a**4 * n_a)
        else:
            estimate = mean_b - mean_a
            variance = var_b / n_b + var_a / n_a
    return estimate, variance


def welch_dof(var_a: ArrayLike, n_a: ArrayLike, var_b: ArrayLike, n_b: ArrayLike) -> FloatArray:
    """Welch-Satterthwaite degrees of freedom from per-unit variances (as gbstats computes them)."""
    var_a, n_a, var_b, n_b = (np.asarray(x, dtype=float) for x in (var_a, n_a, var_b, n_b))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        va, vb = var_a / n_a, var_b / n_b
        return (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))


def fixed_horizon_arrays(
    estimate: ArrayLike,
    std_error: ArrayLike,
    dof: ArrayLike,
    *,
    alpha: float,
    sides: Sides,
    test: TestKind,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Statistic, p-value, CI lower and CI upper (±inf for the open side of one-sided CIs)."""
    estimate = np.asarray(estimate, dtype=float)
    std_error = np.asarray(std_error, dtype=float)
    # scipy.special's t and normal functions instead of a frozen scipy.stats distribution: the
    # same numbers, without ~1 ms of set-up per call (which dominated the simulations).
    if test == "z":

        def sf(x: FloatArray) -> FloatArray:
            return special.ndtr(-x)

        def isf(q: float) -> FloatArray:
            return -special.ndtri(q)

    else:
        df = np.asarray(dof, dtype=float)

        def sf(x: FloatArray) -> FloatArray:
            return special.stdtr(df, -x)

        def isf(q: float) -> FloatArray:
            return -special.stdtrit(df, q)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        statistic = estimate / std_error
    # sf rather than 1 - cdf: keeps small p-values accurate instead of rounding them to 0.
    if sides == "two-sided":
        p_value = 2.0 * sf(np.abs(statistic))
        half = isf(alpha / 2.0) * std_error
        lower, upper = estimate - half, estimate + half
    elif sides == "greater":
        p_value = sf(statistic)
        lower, upper = estimate - isf(alpha) * std_error, np.full_like(estimate, np.inf)
    else:
        p_value = sf(-statistic)
        lower, upper = np.full_like(estimate, -np.inf), estimate + isf(alpha) * std_error
    return statistic, np.minimum(p_value, 1.0), lower, upper


@dataclass(frozen=True)
class LiftEstimate(ResultMixin):
    """One lift (absolute or relative) with its interval and test; all None with ``reason``."""

    estimate: float | None = None
    std_error: float | None = None
    ci_lower: float | None = None  # None also means "unbounded" on the open side of a one-sided CI
    ci_upper: float | None = None
    p_value: float | None = None
    statistic: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class FixedHorizonResult(ResultMixin):
    """Fixed-horizon comparison. The top-level estimate/CI/p-value repeat the lift that
    ``difference_type`` selects; ``error`` says why they are None."""

    test: str
    sides: str
    alpha: float
    difference_type: str
    control_n: int | None
    treatment_n: int | None
    control_mean: float | None
    treatment_mean: float | None
    dof: float | None
    absolute: LiftEstimate
    relative: LiftEstimate
    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None
    significant: bool | None
    error: str | None = None
    # "welch_t"/"z" normally; "pooled_variance" or "fisher_exact" when an arm has zero variance
    # (e.g. no conversions), see :func:`zero_variance_arm`.
    method: str | None = None
    warning: str | None = None


def lift_fields(absolute: LiftEstimate, relative: LiftEstimate, config: StatsConfig) -> dict[str, Any]:
    """A :class:`FixedHorizonResult`'s two lifts and its headline: the lift ``config.difference_type``
    selects, significant when its p-value is below alpha, ``error`` its reason when it has none."""
    primary = relative if config.difference_type == "relative" else absolute
    return {
        "absolute": absolute,
        "relative": relative,
        "estimate": primary.estimate,
        "ci_lower": primary.ci_lower,
        "ci_upper": primary.ci_upper,
        "p_value": primary.p_value,
        "significant": None if primary.p_value is None else primary.p_value < config.alpha,
        "error": primary.reason,
    }


def comparison_problem(control: Statistic, treatment: Statistic) -> str | None:
    """Why control and treatment cannot be compared at all (shared by every test)."""
    reason = statistic_problem(control, "control") or statistic_problem(treatment, "treatment")
    if reason:
        return reason
    if control.kind != treatment.kind:
        return f"control is a {control.kind} statistic but treatment is a {treatment.kind} statistic"
    for arm, stat in (("control", control), ("treatment", treatment)):
        if not stat.variance > 0:
            return f"zero variance in {arm}"
    return None


def relative_problem(control: Statistic) -> str | None:
    if control.mean == 0:
        return "baseline (control) mean is zero: relative lift is undefined"
    return None


def zero_variance_arm(control: Statistic, treatment: Statistic) -> str | None:
    """The arm ("control"/"treatment") whose zero variance is the *only* obstacle to a test.

    An arm with no conversions (or every unit converting) has zero per-unit variance, but the
    arms can still be compared: under the null hypothesis both share one variance, estimated
    from the pooled arms (:func:`pooled_statistic`). None if the arms have another problem,
    or if the pooled variance is zero too (then there is nothing to test).
    """
    reason = comparison_problem(control, treatment)
    if reason is None or not reason.startswith("zero variance in "):
        return None
    if not pooled_statistic(control, treatment).variance > 0:
        return None
    return "control" if not control.variance > 0 else "treatment"


def pooled_statistic(control: Statistic, treatment: Statistic) -> Statistic:
    """Both arms' sums added: the sample under the null hypothesis of no difference.

    For proportions its variance is the pooled p (1 - p) of the classical pooled two-proportion
    test; for per-unit and ratio metrics it is the variance around the common mean or ratio.
    """
    n = control.n + treatment.n
    if isinstance(control, ProportionStatistic):
        return ProportionStatistic(n=n, sum=control.sum + treatment.sum)
    if isinstance(control, SampleMeanStatistic):
        return SampleMeanStatistic(
            n=n, sum=control.sum + treatment.sum, sum_squares=control.sum_squares + treatment.sum_squares
        )
    names = ("m_sum", "m_sum_squares", "d_sum", "d_sum_squares", "m_d_sum_of_products")
    return RatioStatistic(n=n, **{k: getattr(control, k) + getattr(treatment, k) for k in names})


def pooled_lift_moments(control: Statistic, treatment: Statistic, *, relative: bool) -> tuple[float, float]:
    """Lift and its variance with the pooled per-unit variance in both arms (zero-variance arms)."""
    pooled = pooled_statistic(control, treatment).variance
    estimate, variance = lift_moments(
        control.mean, pooled, control.n, treatment.mean, pooled, treatment.n, relative=relative
    )
    return float(estimate), float(variance)


def arm_lift_moments(control: Statistic, treatment: Statistic, *, relative: bool) -> tuple[float, float] | str:
    """The lift of treatment over control and the variance of that estimate, or why the arms cannot
    be compared (the Bayesian summary and the sequential tests start from it).

    An arm whose zero variance (no conversions) is the only obstacle is compared with the variance
    pooled over both arms, as in :func:`fixed_horizon_test`.
    """
    reason = comparison_problem(control, treatment)
    pooled = reason is not None and zero_variance_arm(control, treatment) is not None
    if pooled:
        reason = None
    if reason is None and relative:
        reason = relative_problem(control)
    if reason:
        return reason
    if pooled:
        return pooled_lift_moments(control, treatment, relative=relative)
    return lift_moments(
        control.mean, control.variance, control.n, treatment.mean, treatment.variance, treatment.n, relative=relative
    )


# Fisher's exact test sums the hypergeometric pmf over the support (at most this many points);
# beyond it the pooled normal test is used (it is then as accurate, and scipy's fisher_exact can
# take minutes on counts of billions).
FISHER_MAX_SUPPORT = 100_000


def fisher_p_value(control: ProportionStatistic, treatment: ProportionStatistic, sides: Sides) -> float | None:
    """Fisher's exact test of two proportions, conditional on the total number of conversions.

    X = treatment conversions ~ Hypergeometric(n_c + n_t, K, n_t) under H0 (K = all conversions).
    Two-sided: the total probability of tables no more likely than the observed one (R's and
    scipy's rule, relative tolerance 1e-7). None when the support exceeds
    ``FISHER_MAX_SUPPORT`` (the caller then uses the normal approximation).
    """
    n_c, n_t = int(control.n), int(treatment.n)
    x, k = int(treatment.sum), int(control.sum + treatment.sum)
    low, high = max(0, k - n_c), min(k, n_t)
    if high - low + 1 > FISHER_MAX_SUPPORT:
        return None
    dist = sps.hypergeom(n_c + n_t, k, n_t)
    if sides == "greater":
        return float(min(1.0, dist.sf(x - 1)))
    if sides == "less":
        return float(min(1.0, dist.cdf(x)))
    support = np.arange(low, high + 1)
    log_pmf = dist.logpmf(support)
    observed = dist.logpmf(x)
    return float(min(1.0, np.exp(log_pmf[log_pmf <= observed + math.log1p(1e-7)]).sum()))


def _lift_estimate(
    estimate: FloatArray,
    std_error: FloatArray,
    dof: ArrayLike,
    config: StatsConfig,
    *,
    exact_p_value: float | None = None,
    p_value_required: bool = True,
) -> LiftEstimate:
    """The test of one lift from its estimate and standard error; ``exact_p_value`` replaces the
    normal or t p-value (Fisher's exact test)."""
    statistic, p_value, lower, upper = fixed_horizon_arrays(
        estimate, std_error, dof, alpha=config.alpha, sides=config.sides, test=config.test
    )
    if exact_p_value is not None:
        p_value = exact_p_value
    values = {k: finite_or_none(v) for k, v in (("estimate", estimate), ("std_error", std_error))}
    if (
        values["estimate"] is None
        or values["std_error"] is None
        or (p_value_required and finite_or_none(p_value) is None)
    ):
        return LiftEstimate(reason="numerical overflow in the lift computation")
    return LiftEstimate(
        estimate=values["estimate"],
        std_error=values["std_error"],
        ci_lower=finite_or_none(lower),
        ci_upper=finite_or_none(upper),
        p_value=finite_or_none(p_value),
        statistic=finite_or_none(statistic),
    )


def _pooled_lift(control: Statistic, treatment: Statistic, config: StatsConfig, *, relative: bool) -> LiftEstimate:
    estimate, variance = pooled_lift_moments(control, treatment, relative=relative)
    exact = fisher_p_value(control, treatment, config.sides) if isinstance(control, ProportionStatistic) else None
    return _lift_estimate(
        estimate, np.sqrt(variance), control.n + treatment.n - 2, config, exact_p_value=exact, p_value_required=False
    )


def _lift(control: Statistic, treatment: Statistic, config: StatsConfig, *, relative: bool) -> LiftEstimate:
    estimate, variance = lift_moments(
        control.mean, control.variance, control.n, treatment.mean, treatment.variance, treatment.n, relative=relative
    )
    dof = welch_dof(control.variance, control.n, treatment.variance, treatment.n)
    return _lift_estimate(estimate, np.sqrt(variance), dof, config)


def fixed_horizon_test(
    control: Statistic, treatment: Statistic, config: StatsConfig = DEFAULT_CONFIG
) -> FixedHorizonResult:
    """Welch t (or z) test of treatment vs control on both absolute and relative lift.

    An arm with zero variance (no conversions, or all units converting) is still tested:
    Fisher's exact test for :class:`ProportionStatistic` (the interval uses the pooled
    standard error), otherwise a t test (n - 2 degrees of freedom) with the pooled per-unit
    variance; ``method`` and ``warning`` say so.
    """
    reason = comparison_problem(control, treatment)
    zero_arm = zero_variance_arm(control, treatment)
    welch = config.test == "welch_t"
    warning = None
    if zero_arm:
        method = "fisher_exact" if isinstance(control, ProportionStatistic) else "pooled_variance"
        warning = f"zero variance in {zero_arm}: tested with the variance pooled over both arms" + (
            " and Fisher's exact test" if method == "fisher_exact" else ""
        )
        lift, dof = _pooled_lift, float(control.n + treatment.n - 2) if welch else None
    else:
        method = None if reason else config.test
        lift, dof = _lift, None
        if reason is None and welch:
            dof = finite_or_none(welch_dof(control.variance, control.n, treatment.variance, treatment.n))
    if reason and not zero_arm:
        absolute = relative = LiftEstimate(reason=reason)
    else:
        absolute = lift(control, treatment, config, relative=False)
        rel_reason = relative_problem(control)
        relative = LiftEstimate(reason=rel_reason) if rel_reason else lift(control, treatment, config, relative=True)
    return FixedHorizonResult(
        test=config.test,
        sides=config.sides,
        alpha=config.alpha,
        difference_type=config.difference_type,
        control_n=safe_n(control),
        treatment_n=safe_n(treatment),
        control_mean=safe_mean(control),
        treatment_mean=safe_mean(treatment),
        dof=dof,
        **lift_fields(absolute, relative, config),
        method=method,
        warning=warning,
    )
