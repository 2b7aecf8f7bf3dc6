"""Reads for reports: per-variant sufficient statistics from the per-unit totals.

One aggregate query over `UnitTotals` gives, per variant, the unit count and every sum, sum of
squares and cross sum that the ratio and mean metrics need; `analytics.stats` does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import Coalesce

from analytics.stats import RatioStatistic, SampleMeanStatistic
from experiments.models import Experiment, UnitTotals, Variant

# metric -> (numerator, denominator) per unit; None denominator = a mean per unit.
METRICS: dict[str, tuple[str, str | None]] = {
    "ctr": ("clicks", "impressions"),
    "cvr": ("orders", "impressions"),
    "click_to_order": ("orders", "clicks"),
    "atc_rate": ("add_to_carts", "clicks"),
    "orders_per_unit": ("orders", None),
    "revenue_per_unit": ("revenue", None),
}
COLUMNS = ("impressions", "clicks", "add_to_carts", "orders", "revenue")
# The cross sums the ratio metrics need (numerator × denominator per unit).
PRODUCTS = tuple(sorted({(num, den) for num, den in METRICS.values() if den is not None}))


@dataclass(frozen=True)
class VariantAggregates:
    """Sufficient statistics of one variant over its units (sums over units of per-unit totals)."""

    units: int
    impressions: float
    clicks: float
    add_to_carts: float
    orders: float
    revenue: float
    sq_impressions: float
    sq_clicks: float
    sq_add_to_carts: float
    sq_orders: float
    sq_revenue: float
    x_clicks_impressions: float
    x_orders_impressions: float
    x_orders_clicks: float
    x_add_to_carts_clicks: float
    units_without_impression: int

    @classmethod
    def empty(cls) -> VariantAggregates:
        return cls(**{f.name: 0 for f in fields(cls)})

    def statistic(self, metric: str) -> RatioStatistic | SampleMeanStatistic:
        numerator, denominator = METRICS[metric]
        if denominator is None:
            return SampleMeanStatistic(
                n=self.units, sum=getattr(self, numerator), sum_squares=getattr(self, f"sq_{numerator}")
            )
        return RatioStatistic(
            n=self.units,
            m_sum=getattr(self, numerator),
            m_sum_squares=getattr(self, f"sq_{numerator}"),
            d_sum=getattr(self, denominator),
            d_sum_squares=getattr(self, f"sq_{denominator}"),
            m_d_sum_of_products=getattr(self, f"x_{numerator}_{denominator}"),
        )


def _aggregations() -> dict:
    def total(expression) -> Coalesce:
        return Coalesce(Sum(expression, output_field=FloatField()), 0.0, output_field=FloatField())

    # Names get a prefix: an annotation called `clicks` would shadow the column in F("clicks").
    aggregations: dict = {"agg_units": Count("id")}
    for column in COLUMNS:
        aggregations[f"agg_{column}"] = total(F(column))
        aggregations[f"agg_sq_{column}"] = total(F(column) * F(column))
    for numerator, denominator in PRODUCTS:
        aggregations[f"agg_x_{numerator}_{denominator}"] = total(F(numerator) * F(denominator))
    aggregations["agg_units_without_impression"] = Count("id", filter=Q(impressions=0))
    return aggregations


def variant_aggregates(*, experiment: Experiment) -> dict[int, VariantAggregates]:
    """Per variant id: its sufficient statistics (variants without units get zeros)."""
    rows = UnitTotals.objects.filter(experiment=experiment).values("variant_id").order_by().annotate(**_aggregations())
    result = {
        row.pop("variant_id"): VariantAggregates(**{name.removeprefix("agg_"): value for name, value in row.items()})
        for row in rows
    }
    for variant_id in Variant.objects.filter(experiment=experiment).values_list("id", flat=True):
        result.setdefault(variant_id, VariantAggregates.empty())
    return result


def units_in_several_variants(*, experiment: Experiment) -> int:
    """Units with totals in more than one variant (should be 0: the server derives the variant)."""
    return (
        UnitTotals.objects.filter(experiment=experiment)
        .values("unit")
        .order_by()
        .annotate(variants=Count("variant_id", distinct=True))
        .filter(variants__gt=1)
        .count()
    )
