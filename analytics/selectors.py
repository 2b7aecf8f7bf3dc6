"""Reads for reports: per-variant sufficient statistics from the per-unit totals.

One aggregate query over `UnitTotals` gives, per variant, the unit count and every sum, sum of
squares and cross sum that the ratio and mean metrics need; `analytics.stats` does the rest.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime

import numpy as np
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, FloatField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from analytics.stats import RatioStatistic, SampleMeanStatistic
from experiments.models import Experiment, Variant
from ingest.models import EventType, QuarantinedEvent, UnitTotals

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


def unit_revenues(*, experiment: Experiment) -> dict[int, list[float]]:
    """Per variant id: the per-unit revenue of its units with revenue (one query; units without any add
    nothing to the sums that capping changes, and the share of units capped counts them from the aggregates)."""
    result: dict[int, list[float]] = {}
    rows = UnitTotals.objects.filter(experiment=experiment, revenue__gt=0).values_list("variant_id", "revenue")
    for variant_id, revenue in rows.iterator(chunk_size=5000):
        result.setdefault(variant_id, []).append(float(revenue))
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


# --- Raw-event scans: the one-off backfill of snapshots, and the benchmark's baseline ---------------------------

_EVENT_TOTALS = {
    "impressions": f"SUM(CASE WHEN type = {EventType.IMPRESSION.value} THEN 1 ELSE 0 END)",
    "clicks": f"SUM(CASE WHEN type = {EventType.CLICK.value} THEN 1 ELSE 0 END)",
    "add_to_carts": f"SUM(CASE WHEN type = {EventType.ADD_TO_CART.value} THEN 1 ELSE 0 END)",
    "orders": f"SUM(CASE WHEN type = {EventType.ORDER.value} THEN 1 ELSE 0 END)",
    # Only orders carry revenue; the ingest path sums it the same way.
    "revenue": f"SUM(CASE WHEN type = {EventType.ORDER.value} THEN COALESCE(revenue, 0) ELSE 0 END)",
}
# Cast per-unit values to floats at once: PostgreSQL sums bigints as numeric, which is slower.
_FLOAT = "CAST({} AS DOUBLE PRECISION)"


def _more_sort_memory(cursor) -> None:
    """The per-unit (and per-day) groups of a big experiment outgrow PostgreSQL's default 4 MB of
    sort and hash memory and spill to disk; allow more for this one transaction (SET LOCAL)."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL work_mem = '256MB'")


# Excluded products' events (some arm had no approved copy there) are not in the per-unit totals:
# scans of the raw events leave them out too (experiments.services.experiment_excluded_products).
_NOT_EXCLUDED = (
    " AND (product_id IS NULL OR product_id NOT IN (SELECT vc.product_id FROM experiments_variantcopy vc"
    " JOIN experiments_variant v ON v.id = vc.variant_id WHERE v.experiment_id = %s AND vc.status <> 'approved'))"
)


def _excluded_ids(experiment: Experiment) -> list[int]:
    """The parameters of `_NOT_EXCLUDED`."""
    return [experiment.pk]


def _day_expression() -> str:
    if connection.vendor == "postgresql":
        return "CAST((ts AT TIME ZONE 'UTC') AS date)"
    return "date(ts)"  # SQLite keeps UTC timestamps as ISO text


def _aggregates_row(row: Mapping[str, float | None]) -> VariantAggregates:
    return VariantAggregates(**{f.name: (row.get(f.name) or 0) for f in fields(VariantAggregates)})


def _unit_sums() -> list[str]:
    """The select list that sums per-unit rows (columns named as `COLUMNS`) into `VariantAggregates`."""
    sums = ["COUNT(*) AS units"]
    for column in COLUMNS:
        sums.append(f"SUM({column}) AS {column}")
        sums.append(f"SUM({column} * {column}) AS sq_{column}")
    for numerator, denominator in PRODUCTS:
        sums.append(f"SUM({numerator} * {denominator}) AS x_{numerator}_{denominator}")
    sums.append("SUM(CASE WHEN impressions = 0 THEN 1 ELSE 0 END) AS units_without_impression")
    return sums


def variant_aggregates_from_events(*, experiment: Experiment) -> dict[int, VariantAggregates]:
    """The same numbers as :func:`variant_aggregates`, computed from the raw events.

    Groups the events by unit and then by variant: a full scan of the experiment's events, kept
    for checks and as the benchmark's baseline (reports read the per-unit totals instead).
    """
    per_unit = ", ".join(f"{_FLOAT.format(sql)} AS {name}" for name, sql in _EVENT_TOTALS.items())
    sums = _unit_sums()
    sql = (
        f"WITH per_unit AS (SELECT variant_id, unit, {per_unit} FROM experiments_event "  # noqa: S608 - fixed SQL
        f"WHERE experiment_id = %s{_NOT_EXCLUDED} GROUP BY variant_id, unit) "
        f"SELECT variant_id, {', '.join(sums)} FROM per_unit GROUP BY variant_id"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        _more_sort_memory(cursor)
        cursor.execute(sql, [experiment.pk, *_excluded_ids(experiment)])
        names = [column[0] for column in cursor.description]
        result = {row[0]: _aggregates_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()}
    for variant_id in Variant.objects.filter(experiment=experiment).values_list("id", flat=True):
        result.setdefault(variant_id, VariantAggregates.empty())
    return result


def _daily_sql() -> str:
    """Per (variant, day): how much each sufficient statistic grew that day.

    A unit's contribution to a sum of squares on day d is cum(d)^2 - cum(d-1)^2, so only the units
    active on day d appear in that day's row; the caller adds the deltas up day by day. Window
    functions give each unit's cumulative totals (both PostgreSQL and SQLite >= 3.25 have them).
    """
    day = _day_expression()
    daily = ", ".join(f"{_FLOAT.format(sql)} AS d_{name}" for name, sql in _EVENT_TOTALS.items())
    running = ", ".join(f"SUM(d_{name}) OVER w AS c_{name}" for name in COLUMNS)
    deltas = ["SUM(CASE WHEN nth = 1 THEN 1 ELSE 0 END) AS units"]
    for column in COLUMNS:
        deltas.append(f"SUM(d_{column}) AS {column}")
        deltas.append(
            f"SUM(c_{column} * c_{column} - (c_{column} - d_{column}) * (c_{column} - d_{column})) AS sq_{column}"
        )
    for n, d in PRODUCTS:
        deltas.append(f"SUM(c_{n} * c_{d} - (c_{n} - d_{n}) * (c_{d} - d_{d})) AS x_{n}_{d}")
    # A unit leaves "without impression" on the day of its first impression.
    deltas.append(
        "SUM(CASE WHEN nth = 1 AND c_impressions = 0 THEN 1 "
        "WHEN nth > 1 AND c_impressions > 0 AND c_impressions = d_impressions THEN -1 ELSE 0 END) "
        "AS units_without_impression"
    )
    return (
        f"WITH daily AS (SELECT variant_id, unit, {day} AS day, {daily} FROM experiments_event "  # noqa: S608
        f"WHERE experiment_id = %s{_NOT_EXCLUDED} GROUP BY variant_id, unit, {day}), "
        f"cumulative AS (SELECT *, {running}, ROW_NUMBER() OVER w AS nth FROM daily "
        "WINDOW w AS (PARTITION BY variant_id, unit ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) "
        f"SELECT day, variant_id, {', '.join(deltas)} FROM cumulative GROUP BY day, variant_id ORDER BY day, variant_id"
    )


def _day_only_sql(*, bounded: bool) -> str:
    """Per (day, variant): the sufficient statistics of that day's activity alone (the units with events
    that day, their per-unit totals of that day), for the daily lift. `bounded`: a ts range too."""
    day = _day_expression()
    per_unit = ", ".join(f"{_FLOAT.format(sql)} AS {name}" for name, sql in _EVENT_TOTALS.items())
    window = " AND ts >= %s AND ts < %s" if bounded else ""
    return (
        f"WITH per_unit AS (SELECT variant_id, unit, {day} AS day, {per_unit} FROM experiments_event "  # noqa: S608
        f"WHERE experiment_id = %s{window}{_NOT_EXCLUDED} GROUP BY variant_id, unit, {day}) "
        f"SELECT day, variant_id, {', '.join(_unit_sums())} FROM per_unit GROUP BY day, variant_id "
        "ORDER BY day, variant_id"
    )


def day_aggregates_from_events(
    *, experiment: Experiment, start: datetime | None = None, end: datetime | None = None
) -> dict[date, dict[int, VariantAggregates]]:
    """Per UTC day with events (in [start, end) when given): each variant's statistics of that day alone.

    One scan of the experiment's events (of the range: the (experiment, ts) index); the snapshots keep
    the result (`ReportSnapshot.day_variants`) so that reports never scan events for the daily lift.
    """
    bounded = start is not None and end is not None
    params: list = [experiment.pk, *((start, end) if bounded else ()), *_excluded_ids(experiment)]
    with transaction.atomic(), connection.cursor() as cursor:
        _more_sort_memory(cursor)
        cursor.execute(_day_only_sql(bounded=bounded), params)
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    result: dict[date, dict[int, VariantAggregates]] = {}
    for row in rows:
        result.setdefault(_as_date(row["day"]), {})[row["variant_id"]] = _aggregates_row(row)
    return result


def cohort_aggregates(*, experiment: Experiment, boundary: datetime) -> dict[str, dict[int, VariantAggregates]]:
    """Per exposure cohort ("first": first exposed before `boundary`, "later": from it on) and variant:
    the statistics of the cohort's units over their whole history, in one query over the unit totals.
    A unit without an impression counts from its first event."""
    first = Q(first_exposure__lt=boundary) | Q(first_exposure=None, first_seen__lt=boundary)
    cohort = Case(When(first, then=Value("first")), default=Value("later"), output_field=CharField())
    rows = (
        UnitTotals.objects.filter(experiment=experiment)
        .annotate(cohort=cohort)
        .values("cohort", "variant_id")
        .order_by()
        .annotate(**_aggregations())
    )
    result: dict[str, dict[int, VariantAggregates]] = {"first": {}, "later": {}}
    for row in rows:
        cohort, variant_id = row.pop("cohort"), row.pop("variant_id")
        result[cohort][variant_id] = VariantAggregates(
            **{name.removeprefix("agg_"): value for name, value in row.items()}
        )
    return result


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def daily_aggregates_from_events(*, experiment: Experiment) -> list[tuple[date, dict[int, VariantAggregates]]]:
    """Cumulative per-variant statistics at the end of each UTC day that has events, oldest first.

    One scan of the experiment's raw events (the backfill of snapshots for traffic that predates
    them); each day's statistics equal what `variant_aggregates` would have returned that midnight.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        _more_sort_memory(cursor)
        cursor.execute(_daily_sql(), [experiment.pk, *_excluded_ids(experiment)])
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    names = [f.name for f in fields(VariantAggregates)]
    running: dict[int, dict[str, float]] = {
        variant_id: dict.fromkeys(names, 0)
        for variant_id in Variant.objects.filter(experiment=experiment).values_list("id", flat=True)
    }
    days: list[tuple[date, dict[int, VariantAggregates]]] = []
    for day, day_rows in itertools.groupby(rows, key=lambda row: _as_date(row["day"])):
        for row in day_rows:
            totals = running.setdefault(row["variant_id"], dict.fromkeys(names, 0))
            for name in names:
                totals[name] += row[name] or 0
        days.append((day, {variant_id: VariantAggregates(**values) for variant_id, values in running.items()}))
    return days


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


# --- Breakdowns of catalog experiments: per product and per category -------------------------------------------


@dataclass(frozen=True)
class BreakdownData:
    """Per row (a product or a category) and variant: the sufficient statistics of `BreakdownStats`,
    as arrays over the rows (`stats[variant_id][field]`), with the rows' labels."""

    dimension: str
    keys: list[str]
    titles: list[str]
    categories: list[str | None]
    excluded: np.ndarray
    stats: dict[int, dict[str, np.ndarray]]

    def units(self) -> np.ndarray:
        return sum((arm["units"] for arm in self.stats.values()), np.zeros(len(self.keys)))


def breakdown_data(*, experiment: Experiment, dimension: str) -> BreakdownData:
    """Two queries: the experiment's statistics rows of the dimension, and the rows' labels."""
    from catalog.models import Category, Product
    from ingest.models import BreakdownStats, Dimension
    from ingest.store import STAT_FIELDS

    code = Dimension.PRODUCT if dimension == "product" else Dimension.CATEGORY
    # A plain cursor: Django's per-row conversions cost more than the query at 30,000 rows.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT key, variant_id, excluded, {', '.join(STAT_FIELDS)} FROM {BreakdownStats._meta.db_table} "  # noqa: S608
            "WHERE experiment_id = %s AND dimension = %s",
            [experiment.pk, int(code)],
        )
        rows = cursor.fetchall()
    index: dict[int, int] = {}
    for row in rows:
        index.setdefault(row[0], len(index))
    size = len(index)
    variant_ids = list(Variant.objects.filter(experiment=experiment).values_list("id", flat=True))
    stats = {v: {name: np.zeros(size) for name in STAT_FIELDS} for v in variant_ids}
    excluded = np.zeros(size, dtype=bool)
    if rows:
        # Columns at once: a Python loop over 30,000 rows × 16 fields costs more than the query.
        row_index = np.fromiter((index[row[0]] for row in rows), dtype=np.int64, count=len(rows))
        row_variant = np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows))
        values = np.array([row[3:] for row in rows], dtype=float)
        np.logical_or.at(excluded, row_index, np.fromiter((row[2] for row in rows), dtype=bool, count=len(rows)))
        for variant_id in np.unique(row_variant).tolist():
            mask = row_variant == variant_id
            arm = stats.setdefault(variant_id, {name: np.zeros(size) for name in STAT_FIELDS})
            for j, name in enumerate(STAT_FIELDS):
                arm[name][row_index[mask]] = values[mask, j]
    keys: list[str] = [""] * size
    titles: list[str] = [""] * size
    categories: list[str | None] = [None] * size
    if code == Dimension.PRODUCT:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.id, p.sku, p.title, c.name FROM {Product._meta.db_table} p "  # noqa: S608
                f"JOIN {Category._meta.db_table} c ON c.id = p.category_id "
                "WHERE p.id IN (SELECT product_id FROM experiments_experimentproduct WHERE experiment_id = %s)",
                [experiment.pk],
            )
            for pk, sku, title, category in cursor.fetchall():
                i = index.get(pk)
                if i is not None:
                    keys[i], titles[i], categories[i] = sku, title, category
    else:
        for pk, name in Category.objects.filter(pk__in=list(index)).values_list("pk", "name"):
            keys[index[pk]] = titles[index[pk]] = name
    return BreakdownData(
        dimension=dimension, keys=keys, titles=titles, categories=categories, excluded=excluded, stats=stats
    )


def category_aggregates_many(*, experiment_ids: Iterable[int]) -> dict[int, dict[int, dict[int, VariantAggregates]]]:
    """Per experiment id, category id and variant id: the per-category statistics of catalog experiments
    (excluded products left out), in one query: {experiment id: {category id: {variant id: ...}}}."""
    from ingest.models import BreakdownStats, Dimension
    from ingest.store import STAT_FIELDS

    result: dict[int, dict[int, dict[int, VariantAggregates]]] = {}
    rows = BreakdownStats.objects.filter(experiment_id__in=list(experiment_ids), dimension=Dimension.CATEGORY)
    for experiment_id, key, variant_id, *values in rows.values_list("experiment_id", "key", "variant_id", *STAT_FIELDS):
        result.setdefault(experiment_id, {}).setdefault(key, {})[variant_id] = VariantAggregates(
            **dict(zip(STAT_FIELDS, values, strict=True))
        )
    return result


def segment_data(*, experiment: Experiment, segment: str) -> BreakdownData:
    """Per value of a unit attribute (`ingest.UnitAttributes`; "unknown" for units that sent none) and
    variant: the statistics of its units, as a breakdown's rows (one grouped query over the unit totals)."""
    from ingest.models import UnitAttributes

    value = Subquery(
        UnitAttributes.objects.filter(experiment_id=OuterRef("experiment_id"), unit=OuterRef("unit")).values(segment)[
            :1
        ]
    )
    rows = (
        UnitTotals.objects.filter(experiment=experiment)
        .annotate(segment_value=value)
        .values("segment_value", "variant_id")
        .order_by()
        .annotate(**_aggregations())
    )
    names = [f.name for f in fields(VariantAggregates)]
    index: dict[str, int] = {}
    per_row: list[tuple[int, int, dict]] = []
    for row in rows:
        key = row.pop("segment_value") or "unknown"
        variant_id = row.pop("variant_id")
        per_row.append((index.setdefault(key, len(index)), variant_id, row))
    size = len(index)
    stats = {
        v: {name: np.zeros(size) for name in names}
        for v in Variant.objects.filter(experiment=experiment).values_list("id", flat=True)
    }
    for i, variant_id, row in per_row:
        arm = stats.setdefault(variant_id, {name: np.zeros(size) for name in names})
        for name, value_ in row.items():
            arm[name.removeprefix("agg_")][i] += float(value_ or 0)
    keys = list(index)
    return BreakdownData(
        dimension=segment,
        keys=keys,
        titles=list(keys),
        categories=[None] * size,
        excluded=np.zeros(size, dtype=bool),
        stats=stats,
    )
