"""Power, sample size and days needed or left, for the planning form and running tests.

Model (stated, because planning numbers are only as good as it): the relative lift is tested
with the normal approximation, its variance by the same delta method as the tests,

    Var(lift_hat) = (sigma_t^2 / n_t + (1 + lift)^2 sigma_c^2 / n_c) / mu^2,

where mu and sigma_c^2 are the baseline mean and per-unit variance (for a ratio metric the
delta-method variance of :class:`~analytics.stats.statistics.RatioStatistic`) and sigma_t^2
is the treatment's per-unit variance under the alternative: ``treatment_variance`` if given;
for a 0/1 metric (baseline variance = mu (1 - mu)) the Bernoulli variance at the treatment's
rate mu (1 + lift); otherwise the baseline's. (Planning a 5 % rate with +10 % on the control's
variance alone gave 0.783 power at the "80 %" sample size; see tests/analytics/stats/test_power.py.)
The power of each method:

* fixed: P(|Z| > z_{1-alpha/2}) (or the one-sided version), Z ~ N(lift / se, s^2), where s is
  the spread of the relative-lift z statistic under the alternative (:func:`relative_z_spread`,
  s < 1 because a high estimate comes with a wide standard error; s = 1 on the absolute scale,
  ``config.difference_type``, where the lift is lift * mean with its own standard error);
* cs / msprt: the probability of rejecting at *any* of ``looks`` equally spaced looks up to
  that sample size (default ``planned_looks``, i.e. daily over the planned days), no stop before
  both arms have ``min_units_per_arm`` units: the crossing probability of the Brownian motion
  of the z statistic through the mixture boundaries, by numerical integration
  (:func:`~analytics.stats.group_sequential.crossing_probability`). ``looks=1`` is the power
  of one look at the end;
* group_sequential: the exact probability of crossing any boundary of the planned design
  (``planned_looks`` equal looks, numerical integration), with the sample size being the
  maximum (final-look) sample size. For the sequential methods each boundary c is moved to
  mu + (c - mu) / s so that a standard Brownian motion crosses it when the real z would.

Sample sizes are in units of the two arms compared; ``units_total`` also counts the other
arms through the traffic shares, and days divide that by the experiment's daily units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize, special

from analytics.stats import group_sequential as gs
from analytics.stats.config import DEFAULT_CONFIG, SequentialMethod, StatsConfig
from analytics.stats.frequentist import comparison_problem
from analytics.stats.power_model import mixture_boundaries, relative_z_spread, treatment_variance_for
from analytics.stats.results import ResultMixin, finite_or_none
from analytics.stats.sequential import equal_information_fractions
from analytics.stats.statistics import Statistic

PlanMethod = SequentialMethod | str  # "fixed" or a sequential method
_MAX_UNITS = 1e12


def power_at(
    n_pair: float,
    *,
    baseline_mean: float,
    baseline_variance: float,
    relative_lift: float,
    control_fraction: float = 0.5,
    method: PlanMethod = "fixed",
    config: StatsConfig = DEFAULT_CONFIG,
    treatment_variance: float | None = None,
    looks: int | None = None,
    variance_reduction: float = 0.0,
) -> float:
    """Power to detect ``relative_lift`` with ``n_pair`` units in control + treatment.

    ``control_fraction`` is control's share of those units. ``treatment_variance``: the
    treatment's per-unit variance (default: see :func:`treatment_variance_for`). ``looks``
    (cs/msprt only): equally spaced looks up to ``n_pair`` (default ``config.planned_looks``).
    ``variance_reduction``: the share of per-unit variance CUPED is expected to remove (e.g. the
    ``variance_reduction`` of a past :func:`~analytics.stats.cuped.regression_adjusted_test`):
    both arms' variances are multiplied by 1 - variance_reduction.
    Assumes valid inputs; use :func:`sample_size` for checked, reportable results.
    """
    if treatment_variance is None:
        treatment_variance = treatment_variance_for(baseline_mean, baseline_variance, relative_lift)
    relative = config.difference_type == "relative"
    n_c, n_t = n_pair * control_fraction, n_pair * (1.0 - control_fraction)
    # numpy scalars: an overflow becomes inf (and a power of 0 or 1) instead of an exception.
    mean, lift = np.float64(baseline_mean), np.float64(relative_lift)
    if not 0.0 <= variance_reduction < 1.0:
        raise ValueError("variance_reduction must lie in [0, 1)")
    kept = 1.0 - variance_reduction
    var_c, var_t = np.float64(baseline_variance) * kept, np.float64(treatment_variance) * kept
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if relative:
            se = np.sqrt((var_t / n_t + (1.0 + lift) ** 2 * var_c / n_c) / (mean * mean))
            signal = abs(lift) / se
        else:  # the absolute difference lift * mean, tested with its own standard error
            se = np.sqrt(var_t / n_t + var_c / n_c)
            signal = abs(lift * mean) / se
    alpha = config.alpha

    def spread(t: float) -> float:
        """The z statistic's spread at information fraction t (1 on the absolute scale)."""
        if not relative or not (np.isfinite(signal) and signal > 0):
            return 1.0
        try:
            value = relative_z_spread(float(mean), float(var_c), n_c * t, float(var_t), n_t * t, float(lift))
        except (ArithmeticError, ValueError):
            return 1.0
        return value if math.isfinite(value) and value > 0 else 1.0

    if method == "fixed":
        s1 = spread(1.0)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            if config.sides == "two-sided":
                crit = -special.ndtri(alpha / 2.0)
                return float(special.ndtr((signal - crit) / s1) + special.ndtr((-signal - crit) / s1))
            # One-sided: the power in the direction the test looks (the lift is assumed to point there).
            return float(special.ndtr((signal + special.ndtri(alpha)) / s1))
    if not (np.isfinite(signal) and np.isfinite(se) and se > 0):
        return 1.0 if signal == np.inf else 0.0
    if method in ("cs", "msprt"):
        count = int(looks if looks is not None else config.planned_looks)
        if count < 1:
            raise ValueError("looks must be a positive integer")
        fractions, boundaries = mixture_boundaries(
            n_pair,
            se=float(se),
            signal=float(signal),
            control_fraction=control_fraction,
            looks=count,
            method=method,
            config=config,
            # msprt_tau is relative; on the absolute scale the tests scale it by the control mean.
            tau=config.msprt_tau * (1.0 if relative else abs(float(mean))),
            spread=spread,
        )
        if not any(math.isfinite(c) for c in boundaries):
            return 0.0
        return gs.crossing_probability(boundaries, fractions, float(signal))
    if method == "group_sequential":
        fractions = equal_information_fractions(config.planned_looks, config.planned_looks)
        raw = gs.group_sequential_boundaries(fractions, alpha)
        moved = [
            c if not math.isfinite(c) else float(signal) * math.sqrt(t) + (c - float(signal) * math.sqrt(t)) / spread(t)
            for c, t in zip(raw, fractions, strict=True)
        ]
        return gs.crossing_probability(moved, fractions, float(signal))
    raise ValueError(f"unknown method {method!r}")


@dataclass(frozen=True)
class SampleSizeResult(ResultMixin):
    method: str
    alpha: float
    power: float
    relative_lift: float | None
    baseline_mean: float | None
    baseline_variance: float | None
    control_share: float | None
    treatment_share: float | None
    units_control: int | None = None
    units_treatment: int | None = None
    units_compared: int | None = None  # control + treatment
    units_total: int | None = None  # all arms, through the traffic shares
    daily_units: float | None = None
    days: float | None = None
    error: str | None = None


def _plan_problem(
    baseline_mean: float, baseline_variance: float, relative_lift: float, power: float, shares: tuple[float, float]
) -> str | None:
    numbers = {"baseline mean": baseline_mean, "baseline variance": baseline_variance, "relative lift": relative_lift}
    for name, value in numbers.items():
        if finite_or_none(value) is None:
            return f"{name} must be a finite number"
    if baseline_mean == 0:
        return "baseline mean is zero: a relative lift is undefined"
    if not baseline_variance > 0:
        return "baseline variance must be positive"
    if relative_lift == 0 or relative_lift <= -1:
        return "relative lift must be non-zero and greater than -100 %"
    if not (0 < power < 1):
        return "power must lie strictly between 0 and 1"
    control_share, treatment_share = shares
    if not (control_share > 0 and treatment_share > 0 and control_share + treatment_share <= 1 + 1e-9):
        return "traffic shares must be positive and add up to at most 1"
    return None


def _units_needed(
    *,
    baseline_mean: float,
    baseline_variance: float,
    relative_lift: float,
    control_fraction: float,
    power: float,
    method: PlanMethod,
    config: StatsConfig,
    treatment_variance: float | None = None,
    looks: int | None = None,
    variance_reduction: float = 0.0,
) -> float | None:
    """Smallest control + treatment units with at least ``power``, or None if out of reach."""

    def gap(log_n: float) -> float:
        return (
            power_at(
                math.exp(log_n),
                baseline_mean=baseline_mean,
                baseline_variance=baseline_variance,
                relative_lift=relative_lift,
                control_fraction=control_fraction,
                method=method,
                config=config,
                treatment_variance=treatment_variance,
                looks=looks,
                variance_reduction=variance_reduction,
            )
            - power
        )

    low, high = math.log(4.0), math.log(_MAX_UNITS)
    if gap(high) < 0:
        return None
    if gap(low) >= 0:
        return 4.0
    try:
        return math.exp(optimize.brentq(gap, low, high, xtol=1e-9))
    except ValueError:  # a NaN power: inputs beyond floating point (e.g. mean and lift of 1e154)
        return None


def sample_size(
    *,
    baseline_mean: float,
    baseline_variance: float,
    relative_lift: float,
    power: float = 0.8,
    control_share: float = 0.5,
    treatment_share: float = 0.5,
    daily_units: float | None = None,
    method: PlanMethod = "fixed",
    config: StatsConfig = DEFAULT_CONFIG,
    treatment_variance: float | None = None,
    looks: int | None = None,
    variance_reduction: float = 0.0,
) -> SampleSizeResult:
    """Units (and days, given the experiment's ``daily_units``) to detect ``relative_lift``.

    ``control_share``/``treatment_share``: each arm's share of all experiment traffic (e.g.
    0.25 each with four arms). For a rate p per unit, ``baseline_variance`` is p (1 - p); for a
    running or past experiment pass the observed statistic's ``mean`` and ``variance``.
    ``treatment_variance``, ``looks`` and ``variance_reduction`` (CUPED): as in :func:`power_at`.
    """
    base = SampleSizeResult(
        method=str(method),
        alpha=config.alpha,
        power=power,
        relative_lift=finite_or_none(relative_lift),
        baseline_mean=finite_or_none(baseline_mean),
        baseline_variance=finite_or_none(baseline_variance),
        control_share=finite_or_none(control_share),
        treatment_share=finite_or_none(treatment_share),
        daily_units=finite_or_none(daily_units),
    )
    reason = _plan_problem(baseline_mean, baseline_variance, relative_lift, power, (control_share, treatment_share))
    if reason is None and method not in ("fixed", "cs", "msprt", "group_sequential"):
        reason = f"unknown method {method!r}"
    if reason is None and daily_units is not None and not (finite_or_none(daily_units) or 0) > 0:
        reason = "daily units must be positive"
    if reason is None and not (finite_or_none(variance_reduction) is not None and 0 <= variance_reduction < 1):
        reason = "variance reduction must lie in [0, 1)"
    if reason:
        return replace(base, error=reason)
    control_fraction = control_share / (control_share + treatment_share)
    n_pair = _units_needed(
        baseline_mean=baseline_mean,
        baseline_variance=baseline_variance,
        relative_lift=relative_lift,
        control_fraction=control_fraction,
        power=power,
        method=method,
        config=config,
        treatment_variance=treatment_variance,
        looks=looks,
        variance_reduction=variance_reduction,
    )
    if n_pair is None:
        return replace(base, error="the lift is too small to detect with any realistic number of units")
    units_control = math.ceil(n_pair * control_fraction)
    units_treatment = math.ceil(n_pair * (1.0 - control_fraction))
    total = max(units_control / control_share, units_treatment / treatment_share)
    if not total < _MAX_UNITS:  # also catches inf from vanishing traffic shares
        return replace(base, error="the lift is too small to detect with any realistic number of units")
    units_total = math.ceil(total)
    return replace(
        base,
        units_control=units_control,
        units_treatment=units_treatment,
        units_compared=units_control + units_treatment,
        units_total=units_total,
        days=finite_or_none(units_total / daily_units) if daily_units else None,
    )


@dataclass(frozen=True)
class DaysLeftResult(ResultMixin):
    method: str
    relative_lift: float | None
    power: float
    days_elapsed: float | None
    units_so_far: int | None = None  # control + treatment
    units_needed: int | None = None  # control + treatment, at the observed split
    daily_units: float | None = None  # control + treatment per day so far
    current_power: float | None = None
    days_left: float | None = None
    error: str | None = None


def days_left(
    control: Statistic,
    treatment: Statistic,
    *,
    relative_lift: float,
    days_elapsed: float,
    power: float = 0.8,
    method: PlanMethod | None = None,
    config: StatsConfig = DEFAULT_CONFIG,
    looks: int | None = None,
) -> DaysLeftResult:
    """Estimated days until a running test reaches ``power`` for ``relative_lift``.

    Uses the control arm's observed mean and variance as the baseline, the observed
    control/treatment split and the traffic so far (units / days elapsed). ``method``
    defaults to ``config.sequential_method``.
    """
    method = method or config.sequential_method
    base = DaysLeftResult(
        method=str(method),
        relative_lift=finite_or_none(relative_lift),
        power=power,
        days_elapsed=finite_or_none(days_elapsed),
    )
    reason = comparison_problem(control, treatment)
    if reason is None and not (finite_or_none(days_elapsed) or 0) > 0:
        reason = "days elapsed must be positive"
    if reason is None:
        reason = _plan_problem(control.mean, control.variance, relative_lift, power, (0.5, 0.5))
    if reason is None and method not in ("fixed", "cs", "msprt", "group_sequential"):
        reason = f"unknown method {method!r}"
    if reason:
        return replace(base, error=reason)
    n_now = control.n + treatment.n
    control_fraction = control.n / n_now
    kwargs = {
        "baseline_mean": control.mean,
        "baseline_variance": control.variance,
        "relative_lift": relative_lift,
        "control_fraction": control_fraction,
        "method": method,
        "config": config,
        "looks": looks,
    }
    current = power_at(n_now, **kwargs)  # type: ignore[arg-type]
    needed = _units_needed(power=power, **kwargs)  # type: ignore[arg-type]
    rate = n_now / days_elapsed
    if needed is None:
        return replace(
            base,
            units_so_far=n_now,
            daily_units=rate,
            current_power=finite_or_none(current),
            error="the lift is too small to detect with any realistic number of units",
        )
    return replace(
        base,
        units_so_far=n_now,
        units_needed=math.ceil(needed),
        daily_units=rate,
        current_power=finite_or_none(current),
        days_left=finite_or_none(max(0.0, (needed - n_now) / rate)),
    )
