"""CUPED in the report: each arm's regression-adjusted statistics from its units' pre-exposure totals,
and the types that show the adjustment beside the unadjusted numbers.

The covariate of a metric is the same metric over the lookback window before the unit's first
exposure (`analytics.event_scans.pre_exposure_sums`): clicks and impressions for CTR, revenue for
revenue per unit; per-unit revenue is capped at the report's cap in both periods. theta is pooled
over the two arms of each comparison (`analytics.stats.cuped`), so a unit without pre-exposure
data simply contributes x = 0; where no unit has any, theta is 0 and the lift is the unadjusted
one (then the report says CUPED was not applied).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analytics.report.base import Interval, JsonType, frozen
from analytics.report.jsonform import spec
from analytics.selectors import METRICS, VariantAggregates
from analytics.stats.cuped import AdjustedStatistic, RegressionAdjustedRatioStatistic, RegressionAdjustedStatistic
from analytics.stats.statistics import RatioStatistic, SampleMeanStatistic


@frozen
class UnadjustedLift(JsonType):
    """The comparison without the covariate: what the lift read before CUPED."""

    absolute: float | None
    relative: float | None
    ci: Interval | None
    ci_absolute: Interval | None
    p_value: float | None
    p_value_adjusted: float | None
    estimate: float | None = spec(description="on the metric's scale")
    estimate_ci: Interval | None


@frozen
class CupedLift(JsonType):
    """How much the pre-exposure covariate sharpened this comparison."""

    theta: float = spec(description="Cov(metric, covariate) / Var(covariate), pooled over both arms")
    variance_reduction: float | None = spec(
        description="share of the headline lift's variance removed: 1 - Var(adjusted) / Var(unadjusted)"
    )


@frozen
class CupedSummary(JsonType):
    """CUPED's covariate in this report: the units' own behaviour before their first exposure."""

    lookback_days: int
    units: int
    units_with_pre_exposure_data: int = spec(description="units with any event in the window (other experiments)")
    metrics: list[str] = spec(description="metrics whose lift is CUPED-adjusted")
    note: str


@dataclass(frozen=True)
class PreExposure:
    """Per variant id, the sums of `analytics.event_scans.pre_exposure_columns()` over its units: their totals
    before their first exposure (`pre_*`) and the products with their totals in the experiment."""

    lookback_days: int
    sums: Mapping[int, Mapping[str, float]]

    @property
    def units_with_data(self) -> int:
        return int(sum(s["units_with_pre"] for s in self.sums.values()))

    def statistics(self, metric: str, current: Mapping[int, VariantAggregates]) -> dict[int, AdjustedStatistic]:
        """Per variant id: the metric's regression-adjusted statistic, from the `current` sums of the experiment
        (the report's last look, revenue capped alike) and the covariate's (the same metric, pre-exposure)."""
        numerator, denominator = METRICS[metric]
        return {
            key: _adjusted(current[key].as_dict(), self.sums[key], numerator, denominator)
            for key in self.sums
            if key in current
        }


def _adjusted(
    post: Mapping[str, float], pre: Mapping[str, float], numerator: str, denominator: str | None
) -> AdjustedStatistic:
    n = int(post["units"])
    if denominator is None:
        return RegressionAdjustedStatistic(
            n=n,
            post=SampleMeanStatistic(n=n, sum=post[numerator], sum_squares=post[f"sq_{numerator}"]),
            pre=SampleMeanStatistic(n=n, sum=pre[f"pre_{numerator}"], sum_squares=pre[f"sq_pre_{numerator}"]),
            post_pre_sum_of_products=pre[f"x_{numerator}_pre_{numerator}"],
        )
    m, d = numerator, denominator
    return RegressionAdjustedRatioStatistic(
        n=n,
        post=RatioStatistic(
            n=n,
            m_sum=post[m],
            m_sum_squares=post[f"sq_{m}"],
            d_sum=post[d],
            d_sum_squares=post[f"sq_{d}"],
            m_d_sum_of_products=post[f"x_{m}_{d}"],
        ),
        pre=RatioStatistic(
            n=n,
            m_sum=pre[f"pre_{m}"],
            m_sum_squares=pre[f"sq_pre_{m}"],
            d_sum=pre[f"pre_{d}"],
            d_sum_squares=pre[f"sq_pre_{d}"],
            m_d_sum_of_products=pre[f"x_pre_{m}_pre_{d}"],
        ),
        m_a_sum_of_products=pre[f"x_{m}_pre_{m}"],
        m_b_sum_of_products=pre[f"x_{m}_pre_{d}"],
        d_a_sum_of_products=pre[f"x_{d}_pre_{m}"],
        d_b_sum_of_products=pre[f"x_{d}_pre_{d}"],
    )
