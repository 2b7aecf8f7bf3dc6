"""The report's novelty types: daily lifts, their trend, and the lift by exposure cohort."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from analytics.report.base import Interval, JsonType, Scale, frozen
from analytics.report.jsonform import spec


@frozen
class PeriodLift(JsonType):
    """One treatment vs control over one period (a day, an exposure cohort), on the metric's test scale."""

    estimate: float | None = spec(description="the lift on `scale` (relative: a fraction; absolute: per unit)")
    scale: Scale
    ci: Interval | None = spec(description="fixed-horizon interval, pointwise: valid for this period read alone")
    p_value: float | None = spec(description="unadjusted")


@frozen
class PeriodMetric(JsonType):
    values: dict[str, float | None] = spec(description="variant key → the metric's value in this period")
    lifts: dict[str, PeriodLift] = spec(description="treatment key → lift vs control")


@frozen
class DailyLift(JsonType):
    """One UTC day's activity alone: the units with events that day, their totals of that day."""

    day: date
    partial: bool = spec(description="the day is not over (or its last snapshot came before midnight)")
    units: dict[str, int] = spec(description="variant key → units with events that day")
    metrics: dict[str, PeriodMetric]


@frozen
class LiftTrend(JsonType):
    """Inverse-variance weighted line through the daily lifts of one metric and treatment."""

    days: int = spec(description="days with a lift")
    slope: float | None = spec(description="change of the daily lift per day, on the metric's scale")
    ci: Interval | None
    p_value: float | None
    mean_lift: float | None = spec(description="the weighted mean daily lift")
    fitted: Interval | None = spec(description="the line's lift on the first day and on the last day")
    fading: bool = spec(description="the slope is significant and points toward zero: a novelty effect")
    error: str | None = None


@frozen
class ExposureCohort(JsonType):
    """The units first exposed in the experiment's first week, or later, each over its whole history."""

    cohort: Literal["week_1", "later"]
    units: dict[str, int]
    metrics: dict[str, PeriodMetric]


@frozen
class CohortDifference(JsonType):
    """The later cohort's lift minus week 1's (disjoint units: independent lifts, z-test)."""

    estimate: float | None
    ci: Interval | None
    p_value: float | None


@frozen
class Novelty(JsonType):
    """Is the lift fading? Daily lifts, their trend, and the lift by exposure cohort."""

    metrics: list[str]
    note: str
    daily: list[DailyLift] = spec(description="oldest first; days whose snapshot has no day statistics are missing")
    trend: dict[str, dict[str, LiftTrend]] = spec(description="metric → treatment key → trend of the daily lift")
    cohort_boundary: datetime | None = spec(description="units first exposed before this are the week-1 cohort")
    cohorts: list[ExposureCohort]
    cohort_difference: dict[str, dict[str, CohortDifference]] = spec(
        description="metric → treatment key → later cohort's lift minus week 1's"
    )
    fading: list[str] = spec(description="`variant: metric` whose daily lift fades significantly")
