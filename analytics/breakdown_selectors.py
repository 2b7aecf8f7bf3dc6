"""Reads for the breakdowns of a report: per product and per category (catalog experiments) and
per segment (the unit attributes of `ingest`), as arrays over the rows (split from
`analytics.selectors`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np
from django.db import connection
from django.db.models import OuterRef, Subquery

from analytics.selectors import VariantAggregates, _aggregations
from experiments.models import Experiment, Variant
from ingest.models import UnitTotals

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
    from ingest.breakdown_stats import STAT_FIELDS
    from ingest.models import BreakdownStats, Dimension

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
    from ingest.breakdown_stats import STAT_FIELDS
    from ingest.models import BreakdownStats, Dimension

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
