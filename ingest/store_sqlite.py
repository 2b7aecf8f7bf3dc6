"""Idempotent storage of an event batch on SQLite (the embedded default): the steps of the
PostgreSQL statement (ingest.store_postgres) with plain bulk inserts and row updates."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db.models import F

from catalog.models import Product
from ingest.breakdown_stats import COLUMNS, TYPE_FIELDS, stats_moved
from ingest.models import BreakdownStats, BreakdownUnitTotals, Dimension, Event, EventType, UnitTotals
from ingest.rows import row_event_fields, rows_by_experiment


def store_sqlite(rows: list[list], write_key_id: int | None, received_at: datetime) -> Counter:
    new_rows: list[list] = []
    for experiment_id, batch in rows_by_experiment(rows).items():
        existing = set(
            Event.objects.filter(experiment_id=experiment_id, event_id__in={r[2] for r in batch}).values_list(
                "event_id", flat=True
            )
        )
        for row in batch:
            if row[2] not in existing:
                existing.add(row[2])  # a duplicate inside the batch itself
                new_rows.append(row)
    Event.objects.bulk_create(
        [Event(**row_event_fields(r), write_key_id=write_key_id, received_at=received_at) for r in new_rows]
    )
    _totals_add([r for r in new_rows if not r[8]])
    _breakdowns_add(new_rows)
    return Counter(r[0] for r in new_rows)


def _totals_add(rows: list[list]) -> None:
    deltas: dict[tuple[int, str, int], dict] = {}
    for experiment_id, variant_id, _event_id, event_type, unit, ts_iso, revenue, *_ in rows:
        ts = datetime.fromisoformat(ts_iso)
        delta = deltas.setdefault(
            (experiment_id, unit, variant_id),
            {"counts": [0, 0, 0, 0], "revenue": 0.0, "first_exposure": None, "first_seen": ts, "last_seen": ts},
        )
        delta["counts"][event_type] += 1
        delta["revenue"] += revenue or 0.0
        if event_type == EventType.IMPRESSION and (delta["first_exposure"] is None or ts < delta["first_exposure"]):
            delta["first_exposure"] = ts
        delta["first_seen"] = min(delta["first_seen"], ts)
        delta["last_seen"] = max(delta["last_seen"], ts)
    for (experiment_id, unit, variant_id), delta in deltas.items():
        totals, _ = UnitTotals.objects.get_or_create(
            experiment_id=experiment_id,
            unit=unit,
            variant_id=variant_id,
            defaults={"first_seen": delta["first_seen"], "last_seen": delta["last_seen"]},
        )
        for name, count in zip(TYPE_FIELDS, delta["counts"], strict=True):
            setattr(totals, name, getattr(totals, name) + count)
        totals.revenue += delta["revenue"]
        if delta["first_exposure"] is not None:
            totals.first_exposure = min(filter(None, (totals.first_exposure, delta["first_exposure"])))
        totals.first_seen = min(totals.first_seen, delta["first_seen"])
        totals.last_seen = max(totals.last_seen, delta["last_seen"])
        totals.save()


def _breakdowns_add(rows: list[list]) -> None:
    """The per-product and per-category totals and statistics of new rows (the PostgreSQL merge's
    `per_key` … `stats_upserted` steps, one row at a time)."""
    categories = dict(
        Product.objects.filter(pk__in={r[7] for r in rows if r[7] is not None}).values_list("pk", "category_id")
    )
    deltas: dict[tuple[int, str, int, int, int], list[float]] = {}
    excluded: set[tuple[int, int]] = set()
    for experiment_id, variant_id, _event_id, event_type, unit, _ts, revenue, product_id, is_excluded in rows:
        if product_id is None:
            continue
        keys = [(Dimension.PRODUCT.value, product_id)]
        if is_excluded:
            excluded.add((experiment_id, product_id))
        elif categories.get(product_id) is not None:
            keys.append((Dimension.CATEGORY.value, categories[product_id]))
        for dimension, key in keys:
            delta = deltas.setdefault((experiment_id, unit, variant_id, dimension, key), [0, 0, 0, 0, 0.0])
            delta[event_type] += 1
            delta[4] += revenue or 0.0
    moved_by_key: dict[tuple[int, int, int, int], dict[str, float]] = {}
    for (experiment_id, unit, variant_id, dimension, key), delta in sorted(deltas.items()):
        totals, _ = BreakdownUnitTotals.objects.get_or_create(
            experiment_id=experiment_id, unit=unit, variant_id=variant_id, dimension=dimension, key=key
        )
        old = tuple(float(getattr(totals, c)) for c in COLUMNS)
        for name, change in zip(COLUMNS, delta, strict=True):
            setattr(totals, name, getattr(totals, name) + change)
        totals.save()
        moved = stats_moved(old, tuple(float(getattr(totals, c)) for c in COLUMNS))
        acc = moved_by_key.setdefault((experiment_id, variant_id, dimension, key), dict.fromkeys(moved, 0))
        for name, value in moved.items():
            acc[name] += value
    for (experiment_id, variant_id, dimension, key), moved in sorted(moved_by_key.items()):
        is_excluded = dimension == Dimension.PRODUCT and (experiment_id, key) in excluded
        BreakdownStats.objects.get_or_create(
            experiment_id=experiment_id, variant_id=variant_id, dimension=dimension, key=key
        )
        updates = {name: F(name) + value for name, value in moved.items()}
        if is_excluded:
            updates["excluded"] = True
        BreakdownStats.objects.filter(
            experiment_id=experiment_id, variant_id=variant_id, dimension=dimension, key=key
        ).update(**updates)
