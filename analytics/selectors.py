"""Reads for reports: per-variant sufficient statistics from the per-unit totals.

One aggregate query over `UnitTotals` gives, per variant, the unit count and every sum, sum of
squares and cross sum that the ratio and mean metrics need; `analytics.stats` does the rest.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from django.db import connection
from django.db.models import Count, F, FloatField, Q, Sum, Value
from django.db.models.functions import Cast, Coalesce, Least

from analytics.stats import RatioStatistic, SampleMeanStatistic, cap_threshold
from experiments.models import Experiment, Variant
from ingest.models import QuarantinedEvent, UnitTotals

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


class _MemoizedMoments:
    """Mean, variance and validity computed once per statistic, through the engine's own properties.

    The engine's statistics recompute them with numpy at every access, which is cheap once and not
    cheap a few thousand times: a report with daily looks asks that often (2 to 3x faster reports).
    Frozen dataclasses without slots keep an instance __dict__, where cached_property stores.
    """

    @functools.cached_property
    def mean(self) -> float:
        return super().mean  # type: ignore[misc]

    @functools.cached_property
    def variance(self) -> float:
        return super().variance  # type: ignore[misc]

    @functools.cached_property
    def _problem(self) -> str | None:
        return super().problem()  # type: ignore[misc]

    def problem(self) -> str | None:
        return self._problem


class MemoRatioStatistic(_MemoizedMoments, RatioStatistic):
    pass


class MemoSampleMeanStatistic(_MemoizedMoments, SampleMeanStatistic):
    pass


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

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> VariantAggregates:
        """From :meth:`as_dict` (e.g. a stored snapshot); fields it lacks count as zero."""
        return cls(**{f.name: data.get(f.name, 0) for f in fields(cls)})

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def statistic(self, metric: str) -> RatioStatistic | SampleMeanStatistic:
        numerator, denominator = METRICS[metric]
        if denominator is None:
            return MemoSampleMeanStatistic(
                n=self.units, sum=getattr(self, numerator), sum_squares=getattr(self, f"sq_{numerator}")
            )
        return MemoRatioStatistic(
            n=self.units,
            m_sum=getattr(self, numerator),
            m_sum_squares=getattr(self, f"sq_{numerator}"),
            d_sum=getattr(self, denominator),
            d_sum_squares=getattr(self, f"sq_{denominator}"),
            m_d_sum_of_products=getattr(self, f"x_{numerator}_{denominator}"),
        )


def _aggregations(caps: Mapping[str, float] | None = None) -> dict:
    """The aggregate expressions of `VariantAggregates`; `caps` (column -> cap): each unit's total of the column
    counts as min(total, cap), in every sum, square and cross product (winsorisation)."""

    def total(expression) -> Coalesce:
        return Coalesce(Sum(expression, output_field=FloatField()), 0.0, output_field=FloatField())

    def value(column: str):
        cap = (caps or {}).get(column)
        if cap is None:
            return F(column)
        return Least(Cast(column, FloatField()), Value(float(cap), output_field=FloatField()))

    # Names get a prefix: an annotation called `clicks` would shadow the column in F("clicks").
    aggregations: dict = {"agg_units": Count("id")}
    for column in COLUMNS:
        aggregations[f"agg_{column}"] = total(value(column))
        aggregations[f"agg_sq_{column}"] = total(value(column) * value(column))
    for numerator, denominator in PRODUCTS:
        aggregations[f"agg_x_{numerator}_{denominator}"] = total(value(numerator) * value(denominator))
    aggregations["agg_units_without_impression"] = Count("id", filter=Q(impressions=0))
    return aggregations


def variant_aggregates(
    *, experiment: Experiment, caps: Mapping[str, float] | None = None
) -> dict[int, VariantAggregates]:
    """Per variant id: its sufficient statistics (variants without units get zeros); `caps` as in `_aggregations`."""
    rows = (
        UnitTotals.objects.filter(experiment=experiment).values("variant_id").order_by().annotate(**_aggregations(caps))
    )
    result = {
        row.pop("variant_id"): VariantAggregates(**{name.removeprefix("agg_"): value for name, value in row.items()})
        for row in rows
    }
    for variant_id in Variant.objects.filter(experiment=experiment).values_list("id", flat=True):
        result.setdefault(variant_id, VariantAggregates.empty())
    return result


def variant_aggregates_holdout(*, experiment: Experiment, in_holdout) -> dict[int, VariantAggregates]:
    """Like `variant_aggregates`, over the units for which `in_holdout(unit)` is true only.

    Bandit-mode experiments are analysed on their fixed, evenly split holdout slice. Membership is
    a hash of the unit, so the sums are taken here, in one pass over the experiment's unit rows.
    """
    names = [f.name for f in fields(VariantAggregates)]
    sums: dict[int, dict[str, float]] = {}
    rows = UnitTotals.objects.filter(experiment=experiment).values_list("variant_id", "unit", *COLUMNS)
    for variant_id, unit, *values in rows.iterator(chunk_size=5000):
        if not in_holdout(unit):
            continue
        acc = sums.setdefault(variant_id, dict.fromkeys(names, 0.0))
        per_unit = dict(zip(COLUMNS, (float(v or 0) for v in values), strict=True))
        acc["units"] += 1
        acc["units_without_impression"] += per_unit["impressions"] == 0
        for column, value in per_unit.items():
            acc[column] += value
            acc[f"sq_{column}"] += value * value
        for numerator, denominator in PRODUCTS:
            acc[f"x_{numerator}_{denominator}"] += per_unit[numerator] * per_unit[denominator]
    result = {
        variant_id: VariantAggregates(
            **{k: (int(v) if k in ("units", "units_without_impression") else v) for k, v in acc.items()}
        )
        for variant_id, acc in sums.items()
    }
    for variant_id in Variant.objects.filter(experiment=experiment).values_list("id", flat=True):
        result.setdefault(variant_id, VariantAggregates.empty())
    return result


def nonzero_percentile(*, experiment: Experiment, column: str, percentile: float) -> float | None:
    """The `percentile` (0-100) of the units' non-zero totals of `column`, all arms pooled (linear interpolation,
    numpy's and PostgreSQL's percentile_cont); None when no unit has any."""
    if column not in COLUMNS:
        raise ValueError(f"unknown column {column!r}")
    rows = UnitTotals.objects.filter(experiment=experiment, **{f"{column}__gt": 0})
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT percentile_cont(%s) WITHIN GROUP (ORDER BY {column}) FROM experiments_unittotals "  # noqa: S608
            f"WHERE experiment_id = %s AND {column} > 0"  # the column is one of COLUMNS
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [percentile / 100.0, experiment.pk])
            found = cursor.fetchone()[0]
        return None if found is None else float(found)
    values = [float(v) for v in rows.values_list(column, flat=True).iterator(chunk_size=5000)]
    return cap_threshold([values], percentile=percentile) if values else None


def capped_unit_counts(*, experiment: Experiment, caps: Mapping[str, float]) -> dict[str, int]:
    """Per capped column: the units whose total exceeds its cap (one query)."""
    if not caps:
        return {}
    counts = {f"n_{c}": Count("id", filter=Q(**{f"{c}__gt": cap})) for c, cap in caps.items()}
    found = UnitTotals.objects.filter(experiment=experiment).aggregate(**counts)
    return {column: int(found[f"n_{column}"] or 0) for column in caps}


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


def variant_aggregates_many(*, experiment_ids: Iterable[int]) -> dict[int, dict[int, VariantAggregates]]:
    """`variant_aggregates` for several experiments in one query: {experiment id: {variant id: ...}}."""
    ids = list(experiment_ids)
    result: dict[int, dict[int, VariantAggregates]] = {experiment_id: {} for experiment_id in ids}
    if not ids:
        return result
    rows = (
        UnitTotals.objects.filter(experiment_id__in=ids)
        .values("experiment_id", "variant_id")
        .order_by()
        .annotate(**_aggregations())
    )
    for row in rows:
        experiment_id, variant_id = row.pop("experiment_id"), row.pop("variant_id")
        result[experiment_id][variant_id] = VariantAggregates(
            **{name.removeprefix("agg_"): value for name, value in row.items()}
        )
    for experiment_id, variant_id in Variant.objects.filter(experiment_id__in=ids).values_list("experiment_id", "id"):
        result[experiment_id].setdefault(variant_id, VariantAggregates.empty())
    return result


def snapshots_for(*, experiment: Experiment):
    """The experiment's report snapshots, oldest day first."""
    from analytics.models import ReportSnapshot

    return list(ReportSnapshot.objects.filter(experiment=experiment).order_by("day"))


def copy_scores(*, variant_ids: Iterable[int]) -> dict[int, dict[str, float | None]]:
    """Per variant: the generator's scores of the candidate it was made from (latest, if several).

    Variants written by hand (the control, usually) have no candidate and are left out: their
    diversity is unknown, and embedding copy here would load a model into the web process.
    """
    from django.apps import apps

    try:
        candidate_model = apps.get_model("generator", "Candidate")
    except LookupError:
        return {}
    scores: dict[int, dict[str, float | None]] = {}
    rows = (
        candidate_model.objects.filter(variant_id__in=list(variant_ids))
        .order_by("variant_id", "-id")
        .values("variant_id", "diversity", "novelty", "p_conv", "reward", "lambda_value")
    )
    for row in rows:
        scores.setdefault(row.pop("variant_id"), row)
    return scores


def quarantine_counts(*, experiment: Experiment) -> tuple[int, int, dict[str, int]]:
    """Events ingestion quarantined for the experiment (implausible streams): (events, units, by reason)."""
    rows = QuarantinedEvent.objects.filter(experiment=experiment)
    by_reason = dict(rows.values_list("reason").annotate(n=Count("id")).order_by("reason"))
    units = rows.values("unit").distinct().count() if by_reason else 0
    return sum(by_reason.values()), units, by_reason
