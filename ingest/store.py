"""Idempotent storage of event batches, and the per-unit totals kept up to date with them.

PostgreSQL: the batch is COPYed into a session temp table, then one statement inserts the new
events (ON CONFLICT on the idempotency key skips stored ones), aggregates exactly the inserted
rows per (experiment, unit, variant) and upserts them into the totals. The same statement keeps
the per-product and per-category breakdowns: it upserts per (unit, product) and (unit, category)
totals, takes each row's old value as new − delta from the upsert's RETURNING, and moves the
per (variant, product) sufficient statistics (n, Σx, Σx², Σxy) by exactly new² − old². Events of
excluded products (some arm shows the control's copy there) stay out of the pooled unit totals
and the category rows, and are flagged in the product rows. SQLite (the embedded default) takes
the same steps with plain bulk inserts. Both run inside one transaction with the batch record,
so a re-delivered batch changes nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from catalog.models import Product
from ingest.models import (
    BreakdownStats,
    BreakdownUnitTotals,
    Dimension,
    Event,
    EventType,
    IngestBatch,
    IngestStats,
    QuarantinedEvent,
    UnitAttributes,
    UnitTotals,
)
from ingest.plausibility import Rules, UnitCounts, plausibility_split

# Column order of a row as the API queues it. Rows queued before catalog experiments have the
# first seven only (a redelivery after a deploy): `_rows_normalize` pads them.
ROW_COLUMNS = ("experiment_id", "variant_id", "event_id", "type", "unit", "ts", "revenue", "product_id", "excluded")
_V1_COLUMNS = 7
_TYPE_FIELDS = ("impressions", "clicks", "add_to_carts", "orders")
COLUMNS = (*_TYPE_FIELDS, "revenue")
# (numerator, denominator) of the ratio metrics: the cross sums BreakdownStats keeps.
CROSS = (("clicks", "impressions"), ("orders", "impressions"), ("orders", "clicks"), ("add_to_carts", "clicks"))


def _rows_normalize(rows: list[list]) -> list[list]:
    """Every row with all of ROW_COLUMNS: a v1 row has no product and is not excluded."""
    return [list(row) + [None, False][len(row) - _V1_COLUMNS :] if len(row) < len(ROW_COLUMNS) else row for row in rows]


@dataclass(frozen=True)
class StoreResult:
    stored: int
    duplicates: int
    already_processed: bool = False
    quarantined: int = 0


# A session temp table, emptied by DELETE inside each transaction: `ON COMMIT DELETE ROWS`
# truncates at every commit, which costs file operations (measured: ~15 ms a commit). Named
# for its columns: a worker session that made the seven-column table keeps it.
_PG_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS ingest_stage_v2 (
    experiment_id bigint, variant_id bigint, event_id varchar(64), type smallint,
    unit varchar(128), ts timestamptz, revenue double precision, product_id bigint, excluded boolean
)
"""

_COUNTS = f"""count(*) FILTER (WHERE type = {EventType.IMPRESSION.value}) AS impressions,
           count(*) FILTER (WHERE type = {EventType.CLICK.value}) AS clicks,
           count(*) FILTER (WHERE type = {EventType.ADD_TO_CART.value}) AS add_to_carts,
           count(*) FILTER (WHERE type = {EventType.ORDER.value}) AS orders,
           coalesce(sum(revenue) FILTER (WHERE type = {EventType.ORDER.value}), 0) AS revenue"""


def _float(name: str) -> str:
    return f"{name}::float8"


# Per (experiment, variant, dimension, key): how the sufficient statistics move when the unit rows go
# from old (= new - delta) to new. A unit row is new when its old counts are all zero (a stored row
# holds at least one event); it leaves "without impression" when its old impressions were 0.
_MOVED_SUMS = ",\n".join(
    [
        "sum(CASE WHEN o_impressions + o_clicks + o_add_to_carts + o_orders = 0 THEN 1 ELSE 0 END) AS units",
        *(f"sum(n_{c} - o_{c}) AS {c}" for c in COLUMNS),
        *(f"sum(n_{c} * n_{c} - o_{c} * o_{c}) AS sq_{c}" for c in COLUMNS),
        *(f"sum(n_{a} * n_{b} - o_{a} * o_{b}) AS x_{a}_{b}" for a, b in CROSS),
        "sum(CASE WHEN n_impressions = 0 THEN 1 ELSE 0 END) - sum(CASE WHEN o_impressions + o_clicks"
        " + o_add_to_carts + o_orders > 0 AND o_impressions = 0 THEN 1 ELSE 0 END) AS units_without_impression",
    ]
)
STAT_FIELDS = (
    "units",
    *COLUMNS,
    *(f"sq_{c}" for c in COLUMNS),
    *(f"x_{a}_{b}" for a, b in CROSS),
    "units_without_impression",
)

_NEW_OLD = ", ".join(f"{_float('k.' + c)} AS n_{c}, {_float('k.' + c)} - {_float('d.' + c)} AS o_{c}" for c in COLUMNS)

# Event type codes come from EventType, formatted in once (they are constants, not input).
_PG_MERGE = f"""
WITH inserted AS (
    INSERT INTO experiments_event (experiment_id, variant_id, event_id, type, unit, ts, revenue, product_id,
                                   write_key_id, received_at)
    SELECT experiment_id, variant_id, event_id, type, unit, ts, revenue, product_id, %(write_key_id)s, %(received_at)s
    FROM ingest_stage_v2
    ON CONFLICT (experiment_id, event_id) DO NOTHING
    RETURNING experiment_id, variant_id, unit, type, ts, revenue, product_id
), ev AS (
    SELECT i.*, p.category_id, (x.product_id IS NOT NULL) AS excluded
    FROM inserted i
    LEFT JOIN experiments_product p ON p.id = i.product_id
    LEFT JOIN (SELECT DISTINCT experiment_id, product_id FROM ingest_stage_v2 WHERE excluded) x
           ON x.experiment_id = i.experiment_id AND x.product_id = i.product_id
), per_unit AS (
    SELECT experiment_id, unit, variant_id,
           {_COUNTS},
           min(ts) FILTER (WHERE type = {EventType.IMPRESSION.value}) AS first_exposure,
           min(ts) AS first_seen, max(ts) AS last_seen
    -- Excluded products' events stay out of the pooled totals (they are in the product breakdown).
    FROM ev WHERE NOT excluded GROUP BY experiment_id, unit, variant_id
), upserted AS (
    INSERT INTO experiments_unittotals AS t (experiment_id, unit, variant_id, impressions, clicks, add_to_carts,
                                             orders, revenue, first_exposure, first_seen, last_seen)
    -- A fixed order takes row locks in the same order in every worker: no deadlocks between them.
    SELECT * FROM per_unit ORDER BY experiment_id, unit, variant_id
    ON CONFLICT (experiment_id, unit, variant_id) DO UPDATE SET
        impressions = t.impressions + EXCLUDED.impressions,
        clicks = t.clicks + EXCLUDED.clicks,
        add_to_carts = t.add_to_carts + EXCLUDED.add_to_carts,
        orders = t.orders + EXCLUDED.orders,
        revenue = t.revenue + EXCLUDED.revenue,
        first_exposure = LEAST(t.first_exposure, EXCLUDED.first_exposure),
        first_seen = LEAST(t.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(t.last_seen, EXCLUDED.last_seen)
    RETURNING 1
), per_key AS (
    SELECT experiment_id, unit, variant_id, {Dimension.PRODUCT.value} AS dimension, product_id AS key,
           bool_or(excluded) AS excluded, {_COUNTS}
    FROM ev WHERE product_id IS NOT NULL GROUP BY experiment_id, unit, variant_id, product_id
    UNION ALL
    SELECT experiment_id, unit, variant_id, {Dimension.CATEGORY.value}, category_id, false, {_COUNTS}
    FROM ev WHERE category_id IS NOT NULL AND NOT excluded GROUP BY experiment_id, unit, variant_id, category_id
), key_upserted AS (
    INSERT INTO ingest_breakdownunittotals AS t (experiment_id, unit, variant_id, dimension, key, impressions,
                                                 clicks, add_to_carts, orders, revenue)
    SELECT experiment_id, unit, variant_id, dimension, key, impressions, clicks, add_to_carts, orders, revenue
    FROM per_key ORDER BY experiment_id, unit, variant_id, dimension, key
    ON CONFLICT (experiment_id, unit, variant_id, dimension, key) DO UPDATE SET
        impressions = t.impressions + EXCLUDED.impressions,
        clicks = t.clicks + EXCLUDED.clicks,
        add_to_carts = t.add_to_carts + EXCLUDED.add_to_carts,
        orders = t.orders + EXCLUDED.orders,
        revenue = t.revenue + EXCLUDED.revenue
    -- The row after this batch: under a concurrent batch of the same unit, the upsert waits for its
    -- commit and returns the sum of both, so new - this batch's delta is the exact old value.
    RETURNING t.experiment_id, t.unit, t.variant_id, t.dimension, t.key, t.impressions, t.clicks, t.add_to_carts,
              t.orders, t.revenue
), moved AS (
    SELECT k.experiment_id, k.variant_id, k.dimension, k.key, d.excluded,
           {_NEW_OLD}
    FROM key_upserted k JOIN per_key d USING (experiment_id, unit, variant_id, dimension, key)
), stats_delta AS (
    SELECT experiment_id, variant_id, dimension, key, bool_or(excluded) AS excluded,
           {_MOVED_SUMS}
    FROM moved GROUP BY experiment_id, variant_id, dimension, key
), stats_upserted AS (
    INSERT INTO ingest_breakdownstats AS s (experiment_id, variant_id, dimension, key, excluded,
                                            {", ".join(STAT_FIELDS)})
    SELECT experiment_id, variant_id, dimension, key, excluded, {", ".join(STAT_FIELDS)}
    FROM stats_delta ORDER BY experiment_id, variant_id, dimension, key
    ON CONFLICT (experiment_id, variant_id, dimension, key) DO UPDATE SET
        excluded = s.excluded OR EXCLUDED.excluded,
        {", ".join(f"{f} = s.{f} + EXCLUDED.{f}" for f in STAT_FIELDS)}
    RETURNING 1
)
SELECT experiment_id, count(*) FROM inserted GROUP BY experiment_id
"""  # noqa: S608 (only EventType constants and column names are formatted in)


def _store_postgres(rows: list[list], write_key_id: int | None, received_at: datetime) -> Counter:
    with connection.cursor() as cursor:
        cursor.execute(_PG_STAGE)
        with cursor.cursor.copy(f"COPY ingest_stage_v2 ({', '.join(ROW_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(_PG_MERGE, {"write_key_id": write_key_id, "received_at": received_at})
        stored = Counter({experiment_id: count for experiment_id, count in cursor.fetchall()})
        cursor.execute("DELETE FROM ingest_stage_v2")
        return stored


def _store_sqlite(rows: list[list], write_key_id: int | None, received_at: datetime) -> Counter:
    by_experiment: dict[int, list[list]] = defaultdict(list)
    for row in rows:
        by_experiment[row[0]].append(row)
    new_rows: list[list] = []
    for experiment_id, batch in by_experiment.items():
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
        [
            Event(
                experiment_id=r[0],
                variant_id=r[1],
                event_id=r[2],
                type=r[3],
                unit=r[4],
                ts=datetime.fromisoformat(r[5]),
                revenue=r[6],
                product_id=r[7],
                write_key_id=write_key_id,
                received_at=received_at,
            )
            for r in new_rows
        ]
    )
    _totals_add_sqlite([r for r in new_rows if not r[8]])
    _breakdowns_add_sqlite(new_rows)
    return Counter(r[0] for r in new_rows)


def _totals_add_sqlite(rows: list[list]) -> None:
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
        for name, count in zip(_TYPE_FIELDS, delta["counts"], strict=True):
            setattr(totals, name, getattr(totals, name) + count)
        totals.revenue += delta["revenue"]
        if delta["first_exposure"] is not None:
            totals.first_exposure = min(filter(None, (totals.first_exposure, delta["first_exposure"])))
        totals.first_seen = min(totals.first_seen, delta["first_seen"])
        totals.last_seen = max(totals.last_seen, delta["last_seen"])
        totals.save()


def stats_moved(old: tuple[float, ...], new: tuple[float, ...]) -> dict[str, float]:
    """How one unit row moving from `old` to `new` (impressions, clicks, add-to-carts, orders, revenue)
    moves the sufficient statistics of its (variant, product or category): the SQL's `moved` step."""
    o, n = dict(zip(COLUMNS, old, strict=True)), dict(zip(COLUMNS, new, strict=True))
    existed = any(o[c] for c in _TYPE_FIELDS)
    moved = {"units": 0 if existed else 1}
    for c in COLUMNS:
        moved[c] = n[c] - o[c]
        moved[f"sq_{c}"] = n[c] * n[c] - o[c] * o[c]
    for a, b in CROSS:
        moved[f"x_{a}_{b}"] = n[a] * n[b] - o[a] * o[b]
    moved["units_without_impression"] = (n["impressions"] == 0) - (existed and o["impressions"] == 0)
    return moved


def _breakdowns_add_sqlite(rows: list[list]) -> None:
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


def _stats_bump(write_key_id: int | None, experiment_id: int | None, **deltas: int) -> None:
    if write_key_id is None or not any(deltas.values()):
        return
    updates = {name: F(name) + value for name, value in deltas.items()}
    if IngestStats.objects.filter(write_key_id=write_key_id, experiment_id=experiment_id).update(**updates):
        return
    IngestStats.objects.get_or_create(write_key_id=write_key_id, experiment_id=experiment_id)
    IngestStats.objects.filter(write_key_id=write_key_id, experiment_id=experiment_id).update(**updates)


@transaction.atomic
def events_store(
    *,
    batch_id: str,
    rows: list[list],
    write_key_id: int | None,
    rejected: dict[str, int] | None = None,
    received_at: datetime | None = None,
    attributes: list[list] | None = None,
) -> StoreResult:
    """Store one batch exactly once; returns how many events were new and how many duplicates.

    `attributes`: [experiment id, unit, {name: value}] of events that carried unit attributes; a unit's
    first ones are kept (one row per experiment and unit, later ones ignored)."""
    received_at = received_at or timezone.now()
    rejected = rejected or {}
    _, created = IngestBatch.objects.get_or_create(
        batch_id=uuid.UUID(batch_id),
        defaults={
            "write_key_id": write_key_id,
            "received_at": received_at,
            "processed_at": timezone.now(),
            "events": len(rows),
            "stored": 0,
            "duplicates": 0,
            "rejected": sum(rejected.values()),
        },
    )
    if not created:
        return StoreResult(stored=0, duplicates=0, already_processed=True)
    rows = _rows_normalize(rows)
    queued = Counter(row[0] for row in rows)
    rows, quarantined = _plausible(rows, write_key_id, received_at)
    if connection.vendor == "postgresql":
        stored = _store_postgres(rows, write_key_id, received_at) if rows else Counter()
    else:
        stored = _store_sqlite(rows, write_key_id, received_at) if rows else Counter()
    for experiment_id in set(queued) | {int(k) for k in rejected if k}:
        _stats_bump(
            write_key_id,
            experiment_id,
            queued=queued[experiment_id],
            stored=stored[experiment_id],
            quarantined=quarantined[experiment_id],
            duplicates=queued[experiment_id] - stored[experiment_id] - quarantined[experiment_id],
            rejected=rejected.get(str(experiment_id), 0),
        )
    _stats_bump(write_key_id, None, rejected=rejected.get("", 0))
    if attributes:
        _attributes_keep(attributes, received_at)
    total_stored = sum(stored.values())
    total_quarantined = sum(quarantined.values())
    duplicates = sum(queued.values()) - total_stored - total_quarantined
    IngestBatch.objects.filter(batch_id=batch_id).update(stored=total_stored, duplicates=duplicates)
    return StoreResult(stored=total_stored, duplicates=duplicates, quarantined=total_quarantined)


def _attributes_keep(attributes: list[list], received_at: datetime) -> None:
    """One row per (experiment, unit): the batch's first attributes of each unit, unless it has a row already."""
    first: dict[tuple[int, str], dict[str, str]] = {}
    for experiment_id, unit, values in attributes:
        first.setdefault((int(experiment_id), str(unit)), values)
    UnitAttributes.objects.bulk_create(
        [
            UnitAttributes(
                experiment_id=experiment_id,
                unit=unit,
                created_at=received_at,
                **{name: values.get(name, "") for name in ("device", "visitor", "source", "country")},
            )
            for (experiment_id, unit), values in first.items()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )


def _plausible(rows: list[list], write_key_id: int | None, received_at: datetime) -> tuple[list[list], Counter]:
    """The rows to store (new events that pass ingest.plausibility, and already-known ids, which
    storage counts as duplicates) and the quarantined count per experiment. Quarantined rows are
    written here, in the batch's transaction."""
    if not rows:
        return rows, Counter()
    by_experiment: dict[int, list[list]] = defaultdict(list)
    for row in rows:
        by_experiment[row[0]].append(row)
    known: list[list] = []
    new: list[list] = []
    totals: dict[tuple[int, str], UnitCounts] = {}
    for experiment_id, batch in by_experiment.items():
        ids = {r[2] for r in batch}
        stored_ids = set(
            Event.objects.filter(experiment_id=experiment_id, event_id__in=ids).values_list("event_id", flat=True)
        )
        held_ids = set(
            QuarantinedEvent.objects.filter(experiment_id=experiment_id, event_id__in=ids).values_list(
                "event_id", flat=True
            )
        )
        seen: set[str] = set()
        for row in batch:
            if row[2] in stored_ids:
                known.append(row)  # a duplicate of a stored event: storage drops and counts it
            elif row[2] not in held_ids and row[2] not in seen:
                seen.add(row[2])
                new.append(row)
            # else: a duplicate of a quarantined event or of one earlier in this batch: dropped
        units = {r[4] for r in batch if r[2] not in stored_ids}
        for unit, impressions, clicks, orders in (
            UnitTotals.objects.filter(experiment_id=experiment_id, unit__in=units)
            .values("unit")
            .annotate(i=Sum("impressions"), c=Sum("clicks"), o=Sum("orders"))
            .values_list("unit", "i", "c", "o")
        ):
            totals[(experiment_id, unit)] = UnitCounts(impressions, clicks, orders)
        # The pooled totals leave excluded products out; a unit's earlier click on one still lets its
        # order there through. (Excluded products this batch names: the query stays per batch.)
        excluded = {r[7] for r in batch if r[8]}
        if excluded:
            for unit, impressions, clicks, orders in (
                BreakdownUnitTotals.objects.filter(
                    experiment_id=experiment_id, unit__in=units, dimension=Dimension.PRODUCT, key__in=excluded
                )
                .values("unit")
                .annotate(i=Sum("impressions"), c=Sum("clicks"), o=Sum("orders"))
                .values_list("unit", "i", "c", "o")
            ):
                counts = totals.setdefault((experiment_id, unit), UnitCounts())
                counts.impressions += impressions
                counts.clicks += clicks
                counts.orders += orders
    split = plausibility_split(new, totals=totals, rules=Rules.from_settings())
    if split.quarantined:
        QuarantinedEvent.objects.bulk_create(
            [
                QuarantinedEvent(
                    experiment_id=r[0],
                    variant_id=r[1],
                    event_id=r[2],
                    type=r[3],
                    unit=r[4],
                    ts=datetime.fromisoformat(r[5]),
                    revenue=r[6],
                    product_id=r[7],
                    reason=reason,
                    write_key_id=write_key_id,
                    received_at=received_at,
                )
                for r, reason in split.quarantined
            ],
            ignore_conflicts=True,  # a concurrent batch quarantined the same id: it stays once
        )
    return known + split.accepted, Counter(r[0] for r, _ in split.quarantined)


def rejected_count(*, write_key_id: int, rejected: dict[str, int]) -> None:
    """Count refused events of a batch that queued nothing (no valid event: no task)."""
    with transaction.atomic():
        for key, count in rejected.items():
            _stats_bump(write_key_id, int(key) if key else None, rejected=count)
