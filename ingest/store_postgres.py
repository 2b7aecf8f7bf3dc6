"""Idempotent storage of an event batch on PostgreSQL, in one statement.

The batch is COPYed into a session temp table, then one statement inserts the new events (ON
CONFLICT on the idempotency key skips stored ones), aggregates exactly the inserted rows per
(experiment, unit, variant) and upserts them into the totals. The same statement keeps the
per-product and per-category breakdowns: it upserts per (unit, product) and (unit, category)
totals, takes each row's old value as new − delta from the upsert's RETURNING, and moves the per
(variant, product) sufficient statistics (n, Σx, Σx², Σxy) by exactly new² − old²
(ingest.breakdown_stats). Events of excluded products (some arm shows the control's copy there)
stay out of the pooled unit totals and the category rows, and are flagged in the product rows.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db import connection

from ingest.breakdown_stats import COLUMNS, CROSS, STAT_FIELDS
from ingest.models import Dimension, EventType
from ingest.rows import ROW_COLUMNS

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


def store_postgres(rows: list[list], write_key_id: int | None, received_at: datetime) -> Counter:
    with connection.cursor() as cursor:
        cursor.execute(_PG_STAGE)
        with cursor.cursor.copy(f"COPY ingest_stage_v2 ({', '.join(ROW_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(_PG_MERGE, {"write_key_id": write_key_id, "received_at": received_at})
        stored = Counter({experiment_id: count for experiment_id, count in cursor.fetchall()})
        cursor.execute("DELETE FROM ingest_stage_v2")
        return stored
