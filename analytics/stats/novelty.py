"""Novelty: is a lift fading? Daily lifts, their trend, and lift by exposure cohort.

A cumulative lift averages every day since the start, so an effect that is large in the first
days and gone by the third week still looks like a win. Two views make the fading visible:

- **Daily lift**: each day's lift on that day's activity alone (the units with events that day,
  their per-unit totals of that day), tested like one row of a breakdown (:func:`period_lifts`,
  the vectorised fixed-horizon kernel of :mod:`.breakdown`). Each day's interval is pointwise
  (valid for that day read alone, not for all days at once); :func:`lift_trend` tests whether
  the lift moves over the days.
- **Exposure cohorts**: units first exposed in the first week against those first exposed later,
  each cohort over its whole history. Cohorts hold disjoint units, so their lifts are independent
  and :func:`lift_difference` compares them with a z-test.

Pure: arrays of sufficient statistics in, frozen results out; undefined values are NaN (arrays)
or None (results), never an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from analytics.stats.breakdown import ArmArrays, RowLifts, row_lifts
from analytics.stats.config import StatsConfig


def period_lifts(control: ArmArrays, treatment: ArmArrays, *, relative: bool, config: StatsConfig) -> RowLifts:
    """Per period (a day, a cohort): both arms' values and the treatment's lift, fixed-horizon interval,
    p-value and standard error; NaN where a period has too little data. The same Welch test as a
    breakdown row, so one day's lift reads like the pooled lift computed on that day alone."""
    return row_lifts(control, treatment, relative=relative, config=config)


@dataclass(frozen=True)
class LiftTrend:
    """Inverse-variance weighted least-squares line through the daily lifts (lift = a + slope · day).

    ``slope`` is the change of the lift per day (on the lift's scale); its standard error is scaled
    up by the residual dispersion when the days scatter more than their intervals say
    (``dispersion`` > 1), and tested with a t distribution on ``days - 2`` degrees of freedom.
    ``fading``: the slope is significant at ``alpha`` and points toward zero from the mean lift (a
    positive lift falling, or a negative one rising): the signature of a novelty effect.
    """

    days: int
    slope: float | None
    std_error: float | None
    ci: tuple[float | None, float | None] | None
    p_value: float | None
    mean_lift: float | None
    dispersion: float | None
    fading: bool
    error: str | None = None
    x_mean: float | None = None  # the weighted mean day: the line is mean_lift + slope * (x - x_mean)

    @classmethod
    def none(cls, *, days: int, error: str, mean_lift: float | None = None) -> LiftTrend:
        """No line could be fitted; `error` says why."""
        return cls(
            days=days,
            slope=None,
            std_error=None,
            ci=None,
            p_value=None,
            mean_lift=mean_lift,
            dispersion=None,
            fading=False,
            error=error,
        )

    def at(self, x: float) -> float | None:
        """The line's lift at day ``x``."""
        if self.slope is None or self.mean_lift is None or self.x_mean is None:
            return None
        return self.mean_lift + self.slope * (x - self.x_mean)


def lift_trend(
    estimates: ArrayLike, std_errors: ArrayLike, *, x: ArrayLike | None = None, alpha: float = 0.05
) -> LiftTrend:
    """The trend of daily lifts: ``x`` is the day index (default 0, 1, …); days whose lift or standard
    error is not finite (too little data) are left out. Needs at least three days."""
    y = np.asarray(estimates, dtype=float)
    se = np.asarray(std_errors, dtype=float)
    xs = np.arange(y.size, dtype=float) if x is None else np.asarray(x, dtype=float)
    keep = np.isfinite(y) & np.isfinite(se) & (se > 0) & np.isfinite(xs)
    y, se, xs = y[keep], se[keep], xs[keep]
    k = int(y.size)
    if k < 3:
        return LiftTrend.none(days=k, error="fewer than 3 days with a lift")
    w = 1.0 / se**2
    x_bar = float(np.sum(w * xs) / np.sum(w))
    y_bar = float(np.sum(w * y) / np.sum(w))
    sxx = float(np.sum(w * (xs - x_bar) ** 2))
    if sxx <= 0:
        return LiftTrend.none(days=k, error="all days at one point", mean_lift=y_bar)
    slope = float(np.sum(w * (xs - x_bar) * (y - y_bar)) / sxx)
    residuals = y - (y_bar + slope * (xs - x_bar))
    dof = k - 2
    # Days share units (returning visitors) and may differ by more than chance (weekdays): never
    # trust the intervals more than the scatter of the days around the line.
    dispersion = max(1.0, float(np.sum(w * residuals**2)) / dof)
    std_error = math.sqrt(dispersion / sxx)
    t = slope / std_error
    p_value = float(2 * special.stdtr(dof, -abs(t)))
    crit = float(-special.stdtrit(dof, alpha / 2))
    fading = bool(p_value < alpha and slope * y_bar < 0)
    return LiftTrend(
        days=k,
        slope=slope,
        std_error=std_error,
        ci=(slope - crit * std_error, slope + crit * std_error),
        p_value=p_value,
        mean_lift=y_bar,
        dispersion=dispersion,
        fading=fading,
        x_mean=x_bar,
    )


@dataclass(frozen=True)
class LiftDifference:
    """``later - first``: the difference of two independent lifts (disjoint units), z-test."""

    estimate: float | None
    std_error: float | None
    ci: tuple[float | None, float | None] | None
    p_value: float | None


def lift_difference(
    first: float | None,
    first_se: float | None,
    later: float | None,
    later_se: float | None,
    *,
    alpha: float = 0.05,
) -> LiftDifference:
    """The later cohort's lift minus the first cohort's, with a normal interval and two-sided p-value."""
    values = (first, first_se, later, later_se)
    if any(v is None or not math.isfinite(v) for v in values) or not (first_se and later_se):  # type: ignore[arg-type]
        return LiftDifference(estimate=None, std_error=None, ci=None, p_value=None)
    estimate = float(later) - float(first)  # type: ignore[arg-type]
    std_error = math.sqrt(float(first_se) ** 2 + float(later_se) ** 2)  # type: ignore[arg-type]
    crit = float(-special.ndtri(alpha / 2))
    p_value = float(2 * special.ndtr(-abs(estimate) / std_error))
    return LiftDifference(
        estimate=estimate,
        std_error=std_error,
        ci=(estimate - crit * std_error, estimate + crit * std_error),
        p_value=p_value,
    )
