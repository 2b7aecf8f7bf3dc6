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
from typing import Literal

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
    units_with_pre_exposure_data: int = spec(
        description="units with the covariate: any event in the window (other experiments), or prior_orders sent"
    )
    metrics: list[str] = spec(description="metrics whose lift is CUPED-adjusted")
    note: str
    covariate: Literal["events", "prior_orders"] = spec(
        default="events",
        description="events: each metric before the first exposure; prior_orders: the storefront's count",
    )
    imbalanced: list[str] = spec(
        default_factory=list,
        description="`variant: metric` left unadjusted: the covariate's mean differs between the arms (p < 0.001)",
    )


@dataclass(frozen=True)
class PreExposure:
    """Per variant id, the sums of `analytics.event_scans.pre_exposure_columns()` over its units: their totals
    before their first exposure (`pre_*`) and the products with their totals in the experiment."""

    lookback_days: int
    sums: Mapping[int, Mapping[str, float]]
    # events: `analytics.event_scans.pre_exposure_sums`; prior_orders: `prior_orders_sums` (one number per unit,
    # the covariate of every metric: x for a mean, the ratio x / 1 for a ratio metric).
    source: Literal["events", "prior_orders"] = "events"

    @property
    def units_with_data(self) -> int:
        return int(sum(s["units_with_pre"] for s in self.sums.values()))

    def statistics(self, metric: str, current: Mapping[int, VariantAggregates]) -> dict[int, AdjustedStatistic]:
        """Per variant id: the metric's regression-adjusted statistic, from the `current` sums of the experiment
        (the report's last look, revenue capped alike) and the covariate's (the same metric, pre-exposure)."""
        numerator, denominator = METRICS[metric]
        build = _adjusted if self.source == "events" else _adjusted_by_number
        return {
            key: build(current[key].as_dict(), self.sums[key], numerator, denominator)
            for key in self.sums
            if key in current
        }


def _post_mean(post: Mapping[str, float], column: str) -> SampleMeanStatistic:
    return SampleMeanStatistic(n=int(post["units"]), sum=post[column], sum_squares=post[f"sq_{column}"])


def _post_ratio(post: Mapping[str, float], m: str, d: str) -> RatioStatistic:
    return RatioStatistic(
        n=int(post["units"]),
        m_sum=post[m],
        m_sum_squares=post[f"sq_{m}"],
        d_sum=post[d],
        d_sum_squares=post[f"sq_{d}"],
        m_d_sum_of_products=post[f"x_{m}_{d}"],
    )


def _adjusted(
    post: Mapping[str, float], pre: Mapping[str, float], numerator: str, denominator: str | None
) -> AdjustedStatistic:
    """The metric adjusted by the same metric before exposure (`pre_exposure_sums`)."""
    n = int(post["units"])
    if denominator is None:
        return RegressionAdjustedStatistic(
            n=n,
            post=_post_mean(post, numerator),
            pre=SampleMeanStatistic(n=n, sum=pre[f"pre_{numerator}"], sum_squares=pre[f"sq_pre_{numerator}"]),
            post_pre_sum_of_products=pre[f"x_{numerator}_pre_{numerator}"],
        )
    m, d = numerator, denominator
    return RegressionAdjustedRatioStatistic(
        n=n,
        post=_post_ratio(post, m, d),
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


def _adjusted_by_number(
    post: Mapping[str, float], pre: Mapping[str, float], numerator: str, denominator: str | None
) -> AdjustedStatistic:
    """The metric adjusted by one number per unit (x, 0 where unknown): for a ratio metric m / d, the
    covariate is the ratio x / 1, whose influence function is x minus its mean."""
    n = int(post["units"])
    x = SampleMeanStatistic(n=n, sum=pre["pre_x"], sum_squares=pre["sq_pre_x"])
    if denominator is None:
        return RegressionAdjustedStatistic(
            n=n, post=_post_mean(post, numerator), pre=x, post_pre_sum_of_products=pre[f"x_{numerator}_pre_x"]
        )
    m, d = numerator, denominator
    return RegressionAdjustedRatioStatistic(
        n=n,
        post=_post_ratio(post, m, d),
        pre=RatioStatistic(
            n=n, m_sum=x.sum, m_sum_squares=x.sum_squares, d_sum=n, d_sum_squares=n, m_d_sum_of_products=x.sum
        ),
        m_a_sum_of_products=pre[f"x_{m}_pre_x"],
        m_b_sum_of_products=post[m],
        d_a_sum_of_products=pre[f"x_{d}_pre_x"],
        d_b_sum_of_products=post[d],
    )
