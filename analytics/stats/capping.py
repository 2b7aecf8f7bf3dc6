"""Capping (winsorisation) of per-unit values before the sufficient statistics are built.

A few whales dominate the variance of revenue per unit: one 5,000 basket among 2,000 visitors
moves the mean as much as a real lift. Capping each unit's total at a threshold trades a
small, known bias (the capped mass, reported) for a much smaller variance.

Rules that keep the comparison fair:

* one threshold for all arms, computed on the pooled units (a per-arm percentile would cap
  the better arm harder and bias the lift towards zero);
* the threshold is an absolute value or a percentile of the pooled per-unit values
  (``ignore_zeros``: of the non-zero values only, as for revenue where most units are 0);
* only the upper tail is capped (values here are non-negative totals); a unit's value
  becomes min(value, cap);
* the share of units capped and the share of the total removed are reported, so the reader
  sees how much the headline number depends on the cap.

For ratio metrics cap the numerator (e.g. revenue per unit in revenue / orders) per unit and
build :class:`~analytics.stats.statistics.RatioStatistic` from the capped array. For CUPED, cap
the pre-period covariate with its own threshold (it only needs to be a good predictor).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analytics.stats.results import ResultMixin
from analytics.stats.statistics import ArrayLike, FloatArray


@dataclass(frozen=True)
class CapSummary(ResultMixin):
    """What capping did to one set of units (one arm, or all arms together)."""

    cap: float | None  # None: nothing to cap (no units, or no non-zero units with ignore_zeros)
    units: int
    capped_units: int  # units whose value exceeded the cap
    capped_share: float | None  # capped_units / units
    total_before: float
    total_after: float
    capped_mass_share: float | None  # (total_before - total_after) / total_before


def _values(values: ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(array)):
        raise ValueError("per-unit values must be finite")
    return array


def cap_threshold(
    values_by_arm: Sequence[ArrayLike] | Mapping[str, ArrayLike], *, percentile: float, ignore_zeros: bool = False
) -> float | None:
    """The ``percentile`` (0-100, e.g. 99) of the per-unit values pooled over all arms.

    Linear interpolation between order statistics (numpy's default). None if no values qualify.
    """
    if not (0.0 < percentile <= 100.0):
        raise ValueError("percentile must lie in (0, 100]")
    arms = list(values_by_arm.values()) if isinstance(values_by_arm, Mapping) else list(values_by_arm)
    pooled = np.concatenate([_values(v) for v in arms]) if arms else np.empty(0)
    if ignore_zeros:
        pooled = pooled[pooled != 0]
    if pooled.size == 0:
        return None
    return float(np.percentile(pooled, percentile))


def cap_values(values: ArrayLike, cap: float | None) -> tuple[FloatArray, CapSummary]:
    """``min(value, cap)`` per unit and a summary; ``cap=None`` leaves the values unchanged."""
    array = _values(values)
    if cap is not None and not math.isfinite(cap):
        raise ValueError("cap must be finite")
    capped = array if cap is None else np.minimum(array, cap)
    before, after = float(array.sum()), float(capped.sum())
    count = 0 if cap is None else int((array > cap).sum())
    return capped, CapSummary(
        cap=cap,
        units=int(array.size),
        capped_units=count,
        capped_share=count / array.size if array.size else None,
        total_before=before,
        total_after=after,
        capped_mass_share=(before - after) / before if before > 0 else None,
    )


@dataclass(frozen=True)
class CappingResult(ResultMixin):
    """The capped arms (in input order/names), one summary per arm, and the pooled summary."""

    cap: float | None
    method: str  # "absolute" or "percentile"
    percentile: float | None
    arms: dict[str, CapSummary]
    pooled: CapSummary


def cap_arms(
    values_by_arm: Mapping[str, ArrayLike],
    *,
    cap: float | None = None,
    percentile: float | None = None,
    ignore_zeros: bool = False,
) -> tuple[dict[str, FloatArray], CappingResult]:
    """Cap every arm's per-unit values at one threshold: ``cap`` (absolute) or ``percentile`` (pooled).

    Returns the capped arrays by arm name (feed them to ``SampleMeanStatistic.from_values``
    or ``RatioStatistic.from_units``) and the summary for the report.
    """
    if (cap is None) == (percentile is None):
        raise ValueError("give exactly one of cap (absolute) or percentile")
    threshold = (
        cap if cap is not None else cap_threshold(values_by_arm, percentile=percentile, ignore_zeros=ignore_zeros)
    )
    capped: dict[str, FloatArray] = {}
    summaries: dict[str, CapSummary] = {}
    for name, values in values_by_arm.items():
        capped[name], summaries[name] = cap_values(values, threshold)
    pooled_values = np.concatenate([_values(v) for v in values_by_arm.values()]) if values_by_arm else np.empty(0)
    _, pooled = cap_values(pooled_values, threshold)
    return capped, CappingResult(
        cap=threshold,
        method="absolute" if cap is not None else "percentile",
        percentile=percentile,
        arms=summaries,
        pooled=pooled,
    )
