"""Bayesian summary: chance to beat control and expected loss, normal approximation.

As in gbstats' ``EffectBayesianABTest``: the likelihood of the lift is normal with the
frequentist estimate and its (delta-method) standard error; with the default flat prior the
posterior is that same normal, with a proper Gaussian prior (``StatsConfig.prior_*``, on the
scale of ``difference_type``) the usual precision-weighted combination.

Expected loss is the posterior mean of what is given up by a choice:
    loss of shipping treatment = E[max(-lift, 0)] = s phi(m/s) - m Phi(-m/s)
    loss of keeping control    = E[max(lift, 0)]  = m Phi(m/s) + s phi(m/s)
(closed forms of the normal partial expectation; gbstats reaches the same numbers through
truncated-normal means).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from analytics.stats.config import DEFAULT_CONFIG, StatsConfig
from analytics.stats.frequentist import arm_lift_moments
from analytics.stats.results import ResultMixin, finite_or_none
from analytics.stats.statistics import ArrayLike, FloatArray, Statistic


def normal_posterior(estimate: ArrayLike, variance: ArrayLike, config: StatsConfig) -> tuple[FloatArray, FloatArray]:
    """Posterior mean and standard deviation of the lift."""
    estimate = np.asarray(estimate, dtype=float)
    variance = np.asarray(variance, dtype=float)
    if not config.prior_proper:
        return estimate, np.sqrt(variance)
    precision = 1.0 / variance + 1.0 / config.prior_variance
    mean = (estimate / variance + config.prior_mean / config.prior_variance) / precision
    return mean, np.sqrt(1.0 / precision)


def chance_to_beat(mean: ArrayLike, sd: ArrayLike) -> FloatArray:
    return special.ndtr(np.asarray(mean, dtype=float) / np.asarray(sd, dtype=float))


def expected_losses(mean: ArrayLike, sd: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(loss of shipping treatment, loss of keeping control)."""
    mean = np.asarray(mean, dtype=float)
    sd = np.asarray(sd, dtype=float)
    ratio = mean / sd
    density = np.exp(-0.5 * ratio * ratio) / math.sqrt(2.0 * math.pi)
    treatment_loss = sd * density - mean * special.ndtr(-ratio)
    control_loss = mean * special.ndtr(ratio) + sd * density
    # Both are non-negative expectations; clip rounding noise in the far tails.
    return np.maximum(treatment_loss, 0.0), np.maximum(control_loss, 0.0)


@dataclass(frozen=True)
class BayesianResult(ResultMixin):
    """Posterior summary of the lift (scale given by ``difference_type``)."""

    difference_type: str
    alpha: float
    prior_proper: bool
    chance_to_beat_control: float | None = None
    expected_loss_treatment: float | None = None  # if treatment is shipped
    expected_loss_control: float | None = None  # if control is kept
    posterior_mean: float | None = None
    posterior_sd: float | None = None
    ci_lower: float | None = None  # equal-tailed 1 - alpha credible interval
    ci_upper: float | None = None
    error: str | None = None


def bayesian_test(
    control: Statistic,
    treatment: Statistic,
    config: StatsConfig = DEFAULT_CONFIG,
    *,
    lift: tuple[float, float] | None = None,
) -> BayesianResult:
    """Chance to beat control, expected loss and credible interval for treatment vs control.

    ``lift``: a precomputed (estimate, std_error) on ``config``'s scale, e.g. CUPED-adjusted (gbstats'
    Bayesian test on a regression-adjusted statistic reads the adjusted mean and variance the same way).
    """
    base = BayesianResult(difference_type=config.difference_type, alpha=config.alpha, prior_proper=config.prior_proper)
    if lift is not None:
        estimate, variance = lift[0], lift[1] ** 2
    else:
        moments = arm_lift_moments(control, treatment, relative=config.difference_type == "relative")
        if isinstance(moments, str):
            return replace(base, error=moments)
        estimate, variance = moments
    mean, sd = normal_posterior(estimate, variance, config)
    if finite_or_none(mean) is None or not (finite_or_none(sd) or 0) > 0:
        return replace(base, error="numerical overflow in the lift computation")
    loss_treatment, loss_control = expected_losses(mean, sd)
    quantile = -special.ndtri(config.alpha / 2.0)
    return BayesianResult(
        difference_type=config.difference_type,
        alpha=config.alpha,
        prior_proper=config.prior_proper,
        chance_to_beat_control=finite_or_none(chance_to_beat(mean, sd)),
        expected_loss_treatment=finite_or_none(loss_treatment),
        expected_loss_control=finite_or_none(loss_control),
        posterior_mean=finite_or_none(mean),
        posterior_sd=finite_or_none(sd),
        ci_lower=finite_or_none(mean - quantile * sd),
        ci_upper=finite_or_none(mean + quantile * sd),
    )
