"""The report's breakdown types: each arm vs control per product, per category or per visitor segment."""

from __future__ import annotations

from typing import Literal

from analytics.report.base import Interval, JsonType, frozen
from analytics.report.jsonform import spec
from analytics.report.options import Correction


@frozen
class BreakdownLift(JsonType):
    """One row's treatment vs control: relative lift, fixed-horizon interval, p-values."""

    relative: float | None
    ci: Interval | None
    p_value: float | None
    p_value_adjusted: float | None = spec(description="adjusted across every row and treatment arm of the metric")
    significant: bool = spec(description="adjusted p < alpha")


@frozen
class BreakdownMetric(JsonType):
    values: dict[str, float | None] = spec(description="variant key → the metric's value in this row")
    lifts: dict[str, BreakdownLift] = spec(description="treatment key → lift vs control")


@frozen
class BreakdownRow(JsonType):
    """One product (or category) of a breakdown."""

    key: str = spec(description="the SKU, or the category's name")
    title: str
    category: str | None = spec(description="the product's category (null in the category breakdown)")
    excluded: bool = spec(description="left out of the pooled analysis: some arm showed the control's copy here")
    units: dict[str, int] = spec(description="variant key → units with events on this row")
    metrics: dict[str, BreakdownMetric]


@frozen
class BreakdownRest(JsonType):
    """The rows a report left out (it was asked for its top rows only), summarised."""

    rows: int
    units: int
    excluded: int
    significant: int


@frozen
class Breakdown(JsonType):
    """Each arm vs control per product or per category: exploratory, adjusted for the many rows."""

    dimension: Literal["product", "category", "device", "visitor", "source", "country"] = spec(
        description="product, category, or a unit attribute (a segment the report was asked for)"
    )
    metrics: list[str]
    correction: Correction
    rows_total: int
    excluded_rows: int
    significant_rows: int = spec(description="rows with an adjusted p < alpha on some metric and arm")
    note: str
    rows: list[BreakdownRow] = spec(description="by units, most first (the top rows only, if the report was asked so)")
    rest: BreakdownRest | None = spec(default=None, description="the rows not listed, summarised; null: all listed")


@frozen
class ExcludedProducts(JsonType):
    """Products left out of the pooled analysis (their events are only in the product breakdown)."""

    count: int
    skus: list[str] = spec(description="the first 100, by SKU")
    reason: str
