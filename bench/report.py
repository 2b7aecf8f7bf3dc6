"""Time to build a lift report from the per-unit totals and daily snapshots, against computing the
same numbers from the raw events, in the same run, on PostgreSQL.

Data: one three-arm experiment with 1,000,000 units and about 10,000,000 events over 28 days,
COPYed into experiments_event once, with the per-unit totals built from them by one
INSERT … SELECT … GROUP BY and the daily snapshots by the one-off backfill. Later runs reuse the
data when it is there (--reload rebuilds it).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/copylift_bench python bench/report.py \
        [--units 1000000] [--events 10000000] [--days 28] [--repeat 5] [--reload]

Catalog case (--products N, N > 1): a running three-arm experiment over N products (default
1,000,000 units × 10,000 products, --catalog-units): events with a product COPYed in, the unit
totals, per-(unit, product|category) totals and per-(variant, product|category) statistics built
from them by INSERT … SELECT (what ingestion keeps incrementally), 1 % of the products excluded.
Contenders: the report with its breakdowns from the statistics tables (report_build), and the
same numbers from the raw events (pooled per-unit scan + per (unit, product) and (unit, category)
scans, then the same analysis).

    DATABASE_URL=... python bench/report.py --products 10000 [--catalog-units 1000000] [--repeat 3]

The three contenders, each a whole report (SRM, six metrics × two treatments with fixed-horizon,
sequential path and Bayesian results, decision, daily timeseries):
- report:        sufficient statistics from experiments_unittotals (one aggregate query) + daily
                 looks from analytics_reportsnapshot: what the pages, API and command do;
- raw headline:  sufficient statistics from experiments_event, grouped by unit then by variant
                 (the daily looks still from the snapshots): the minimum raw-scan baseline;
- raw full:      the headline and every daily look from experiments_event: the same report with
                 no derived tables at all.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from common import bench_experiment, django_setup

KEY = "bench-report"
CTR = (0.10, 0.108, 0.112)  # per impression, for the control and the two LLM arms
P_CART, P_ORDER = 0.5, 0.6  # given a click, given an add-to-cart
PRICE = 20.0
CHUNK_UNITS = 50_000


def _ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _chunk_lines(
    rng: np.random.Generator,
    first_unit: int,
    n_units: int,
    *,
    experiment_id: int,
    variant_ids: list[int],
    weights: np.ndarray,
    imp_mean: float,
    start: datetime,
    days: int,
) -> tuple[bytes, int]:
    """COPY text for the events of units [first_unit, first_unit + n_units), and how many events."""
    arm = rng.choice(len(variant_ids), size=n_units, p=weights)
    imps = 1 + rng.poisson(imp_mean - 1, size=n_units)
    clicks = rng.binomial(imps, np.asarray(CTR)[arm])
    carts = rng.binomial(clicks, P_CART)
    orders = rng.binomial(carts, P_ORDER)
    per_unit = imps + clicks + carts + orders
    total = int(per_unit.sum())
    unit_of = np.repeat(np.arange(n_units), per_unit)
    # Event types in funnel order within each unit: imps zeros, then clicks ones, and so on.
    offsets = np.arange(total) - np.repeat(np.cumsum(per_unit) - per_unit, per_unit)
    bounds = np.stack([imps, imps + clicks, imps + clicks + carts], axis=1)[unit_of]
    types = (offsets[:, None] >= bounds).sum(axis=1)
    # A unit arrives on a random day and returns within the next three days (inside the window).
    span = days * 86_400
    first_seen = rng.integers(0, span - 3 * 86_400, size=n_units)
    seconds = first_seen[unit_of] + rng.integers(0, 3 * 86_400, size=total)
    stamps = np.datetime_as_string(
        np.datetime64(start.replace(tzinfo=None), "s") + seconds.astype("timedelta64[s]"), unit="s"
    )
    units = np.char.add("u", (first_unit + unit_of).astype(str))
    revenue = np.where(types == 3, (PRICE * rng.integers(1, 4, size=total)).astype(str), "\\N")
    event_ids = np.char.add(np.char.add(units, "-"), offsets.astype(str))
    variants = np.asarray(variant_ids)[arm][unit_of].astype(str)
    received = start.strftime("%Y-%m-%d %H:%M:%S+00")
    lines = [
        f"{experiment_id}\t{v}\t{e}\t{t}\t{u}\t{s}+00\t{r}\t{received}"
        for v, e, t, u, s, r in zip(
            variants.tolist(),
            event_ids.tolist(),
            types.tolist(),
            units.tolist(),
            stamps.tolist(),
            revenue.tolist(),
            strict=True,
        )
    ]
    return ("\n".join(lines) + "\n").encode(), total


def load(experiment, *, units: int, events: int, days: int) -> dict[str, float]:
    """COPY the events, then build the per-unit totals and the daily snapshots from them."""
    from django.db import connection, transaction

    from analytics.models import ReportSnapshot
    from analytics.snapshots import snapshot_backfill
    from experiments.models import Experiment
    from ingest.models import UnitTotals

    timings: dict[str, float] = {}
    variants = list(experiment.variants.order_by("position", "id"))
    weights = np.array([v.weight for v in variants], dtype=float)
    weights /= weights.sum()
    # E[events per unit] = E[impressions] (1 + E[ctr] (1 + P_CART + P_CART P_ORDER))
    mean_ctr = float((weights * np.asarray(CTR)).sum())
    imp_mean = events / units / (1 + mean_ctr * (1 + P_CART + P_CART * P_ORDER))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=days)
    Experiment.objects.filter(pk=experiment.pk).update(started_at=start)
    experiment.refresh_from_db()

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_reportsnapshot WHERE experiment_id = %s", [experiment.pk])
        cursor.execute("DELETE FROM experiments_unittotals WHERE experiment_id = %s", [experiment.pk])
        cursor.execute("DELETE FROM experiments_event WHERE experiment_id = %s", [experiment.pk])
    timings["delete old rows"] = time.perf_counter() - began

    rng = np.random.default_rng(2505_23809)
    began = time.perf_counter()
    loaded = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY experiments_event (experiment_id, variant_id, event_id, type, unit, ts, revenue, received_at) "
            "FROM STDIN"
        ) as copy,
    ):
        for first in range(0, units, CHUNK_UNITS):
            data, count = _chunk_lines(
                rng,
                first,
                min(CHUNK_UNITS, units - first),
                experiment_id=experiment.pk,
                variant_ids=[v.pk for v in variants],
                weights=weights,
                imp_mean=imp_mean,
                start=start,
                days=days,
            )
            copy.write(data)
            loaded += count
            print(f"\r  COPY events: {loaded:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    timings[f"COPY {loaded:,} events"] = time.perf_counter() - began

    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(
            """
            INSERT INTO experiments_unittotals (experiment_id, unit, variant_id, impressions, clicks, add_to_carts,
                                                orders, revenue, first_exposure, first_seen, last_seen)
            SELECT experiment_id, unit, variant_id,
                   count(*) FILTER (WHERE type = 0), count(*) FILTER (WHERE type = 1),
                   count(*) FILTER (WHERE type = 2), count(*) FILTER (WHERE type = 3),
                   coalesce(sum(revenue) FILTER (WHERE type = 3), 0),
                   min(ts) FILTER (WHERE type = 0), min(ts), max(ts)
            FROM experiments_event WHERE experiment_id = %s
            GROUP BY experiment_id, unit, variant_id
            """,
            [experiment.pk],
        )
    timings[f"INSERT … SELECT … GROUP BY: {UnitTotals.objects.filter(experiment=experiment).count():,} unit totals"] = (
        time.perf_counter() - began
    )
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE experiments_event")
        cursor.execute("VACUUM ANALYZE experiments_unittotals")
    timings["VACUUM ANALYZE"] = time.perf_counter() - began

    began = time.perf_counter()
    written = snapshot_backfill(experiment=experiment, replace=True)
    timings[f"backfill {written} daily snapshots from raw events"] = time.perf_counter() - began
    assert ReportSnapshot.objects.filter(experiment=experiment).count() == written
    return timings


def _median_seconds(fn, repeat: int) -> tuple[float, object]:
    result = fn()  # warm-up: caches, connections, imports
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


CATALOG_KEY = "bench-catalog"


def _catalog_experiment(products: int):
    """A running three-arm experiment over `products` bench products (created once, reused)."""
    from django.utils import timezone

    from catalog.models import Category, Product
    from experiments.models import Experiment, ExperimentProduct, Variant, VariantCopy

    experiment = Experiment.objects.filter(key=CATALOG_KEY).first()
    if experiment is not None and ExperimentProduct.objects.filter(experiment=experiment).count() == products:
        return experiment
    if experiment is not None:
        experiment.delete()
    categories = list(Category.objects.order_by("name"))
    have = set(Product.objects.filter(sku__startswith="BCAT-").values_list("sku", flat=True))
    Product.objects.bulk_create(
        [
            Product(
                sku=f"BCAT-{i:06d}",
                title=f"Catalog bench product {i}",
                brand="Bench",
                price=10 + i % 90,
                category=categories[i % len(categories)],
            )
            for i in range(products)
            if f"BCAT-{i:06d}" not in have
        ],
        batch_size=5000,
    )
    ids = list(Product.objects.filter(sku__startswith="BCAT-").order_by("sku").values_list("pk", flat=True)[:products])
    experiment = Experiment.objects.create(
        key=CATALOG_KEY,
        name="Catalog bench",
        status=Experiment.Status.RUNNING,
        started_at=timezone.now() - timedelta(days=14),
        control_fallback=True,
        product_set={"skus": [f"BCAT-{i:06d}" for i in range(3)] + ["…"]},
    )
    ExperimentProduct.objects.bulk_create(
        [ExperimentProduct(experiment=experiment, product_id=pk) for pk in ids], batch_size=5000
    )
    variants = [
        Variant.objects.create(experiment=experiment, key=f"v{i}", position=i, is_control=i == 0, weight=1.0)
        for i in range(3)
    ]
    # 1 % of the products lack approved copy in the last arm: excluded from the pooled analysis.
    VariantCopy.objects.bulk_create(
        [
            VariantCopy(variant=variants[-1], product_id=pk, copy="", status=VariantCopy.Status.PENDING)
            for pk in ids[::100]
        ],
        batch_size=5000,
    )
    return experiment


def _catalog_chunk(rng, first_unit: int, n_units: int, *, experiment_id, variant_ids, product_ids, start, days):
    """COPY text for the events of a chunk of units: each browses 1-4 products (popular ones more)."""
    n_products = len(product_ids)
    arm = rng.integers(0, len(variant_ids), size=n_units)
    seen = 1 + np.minimum(rng.poisson(0.6, size=n_units), 3)
    unit_of_pair = np.repeat(np.arange(n_units), seen)
    product_of_pair = np.minimum((n_products * rng.random(unit_of_pair.size) ** 2).astype(int), n_products - 1)
    imps = 1 + rng.poisson(0.4, size=unit_of_pair.size)
    ctr = np.asarray(CTR)[arm[unit_of_pair]] * (0.5 + (product_of_pair % 7) / 6)
    clicks = rng.binomial(imps, np.minimum(ctr, 1.0))
    orders = rng.binomial(clicks, P_ORDER * P_CART)
    per_pair = imps + clicks + orders
    pair_of = np.repeat(np.arange(unit_of_pair.size), per_pair)
    offsets = np.arange(pair_of.size) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    bounds = np.stack([imps, imps + clicks], axis=1)[pair_of]
    types = (offsets[:, None] >= bounds).sum(axis=1)
    types = np.where(types == 2, 3, types)  # impression 0, click 1, order 3
    unit_index = first_unit + unit_of_pair[pair_of]
    seconds = rng.integers(0, days * 86_400, size=pair_of.size)
    stamps = np.datetime_as_string(
        np.datetime64(start.replace(tzinfo=None), "s") + seconds.astype("timedelta64[s]"), unit="s"
    )
    units = np.char.add("c", unit_index.astype(str))
    event_ids = np.char.add(
        np.char.add(np.char.add(units, "-"), pair_of.astype(str)), np.char.add("-", offsets.astype(str))
    )
    revenue = np.where(types == 3, "20", "\\N")
    variants = np.asarray(variant_ids)[arm[unit_of_pair[pair_of]]].astype(str)
    products = np.asarray(product_ids)[product_of_pair[pair_of]].astype(str)
    received = start.strftime("%Y-%m-%d %H:%M:%S+00")
    lines = [
        f"{experiment_id}\t{v}\t{e}\t{t}\t{u}\t{s}+00\t{r}\t{p}\t{received}"
        for v, e, t, u, s, r, p in zip(
            variants.tolist(),
            event_ids.tolist(),
            types.tolist(),
            units.tolist(),
            stamps.tolist(),
            revenue.tolist(),
            products.tolist(),
            strict=True,
        )
    ]
    return ("\n".join(lines) + "\n").encode(), len(lines)


_CATALOG_TOTALS = """
INSERT INTO {table} (experiment_id, unit, variant_id, {extra_columns} impressions, clicks, add_to_carts, orders, revenue
                     {time_columns})
SELECT e.experiment_id, e.unit, e.variant_id, {extra_values}
       count(*) FILTER (WHERE type = 0), count(*) FILTER (WHERE type = 1),
       count(*) FILTER (WHERE type = 2), count(*) FILTER (WHERE type = 3),
       coalesce(sum(revenue) FILTER (WHERE type = 3), 0) {time_values}
FROM experiments_event e JOIN experiments_product p ON p.id = e.product_id
WHERE e.experiment_id = %(experiment)s {where}
GROUP BY e.experiment_id, e.unit, e.variant_id {group}
"""


def catalog_load(experiment, *, units: int, days: int) -> dict[str, float]:
    """COPY the events, then build every derived table from them, as ingestion would have."""
    from django.db import connection, transaction

    from experiments.services import experiment_excluded_products

    # The migration's set-based statistics query (it backfills the same table the same way).
    migration = importlib.import_module("ingest.migrations.0003_event_product_breakdowns")
    timings: dict[str, float] = {}
    variant_ids = list(experiment.variants.order_by("position").values_list("pk", flat=True))
    product_ids = list(experiment.products.order_by("sku").values_list("pk", flat=True))
    excluded = list(
        experiment.products.filter(sku__in=experiment_excluded_products(experiment)).values_list("pk", flat=True)
    )
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for table in (
            "ingest_breakdownstats",
            "ingest_breakdownunittotals",
            "experiments_unittotals",
            "experiments_event",
        ):
            cursor.execute(f"DELETE FROM {table} WHERE experiment_id = %s", [experiment.pk])  # noqa: S608
    timings["delete old rows"] = time.perf_counter() - began
    rng = np.random.default_rng(10_000)
    began = time.perf_counter()
    loaded = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY experiments_event (experiment_id, variant_id, event_id, type, unit, ts, revenue, product_id, "
            "received_at) FROM STDIN"
        ) as copy,
    ):
        for first in range(0, units, CHUNK_UNITS):
            data, count = _catalog_chunk(
                rng,
                first,
                min(CHUNK_UNITS, units - first),
                experiment_id=experiment.pk,
                variant_ids=variant_ids,
                product_ids=product_ids,
                start=start,
                days=days,
            )
            copy.write(data)
            loaded += count
            print(f"\r  COPY events: {loaded:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    timings[f"COPY {loaded:,} events"] = time.perf_counter() - began
    params = {"experiment": experiment.pk, "excluded": excluded or [-1]}
    steps = {
        "unit totals (excluded products left out)": _CATALOG_TOTALS.format(
            table="experiments_unittotals",
            extra_columns="",
            extra_values="",
            time_columns=", first_exposure, first_seen, last_seen",
            time_values=", min(ts) FILTER (WHERE type = 0), min(ts), max(ts)",
            where="AND NOT (e.product_id = ANY(%(excluded)s))",
            group="",
        ),
        "per (unit, product) totals": _CATALOG_TOTALS.format(
            table="ingest_breakdownunittotals",
            extra_columns="dimension, key,",
            extra_values="0, e.product_id,",
            time_columns="",
            time_values="",
            where="",
            group=", e.product_id",
        ),
        "per (unit, category) totals": _CATALOG_TOTALS.format(
            table="ingest_breakdownunittotals",
            extra_columns="dimension, key,",
            extra_values="1, p.category_id,",
            time_columns="",
            time_values="",
            where="AND NOT (e.product_id = ANY(%(excluded)s))",
            group=", p.category_id",
        ),
    }
    for name, sql in steps.items():
        began = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(sql, params)
        timings[name] = time.perf_counter() - began
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(migration._stats_sql().replace("GROUP BY", "WHERE experiment_id = %s GROUP BY"), [experiment.pk])
        cursor.execute(
            "UPDATE ingest_breakdownstats SET excluded = TRUE WHERE experiment_id = %s AND dimension = 0 "
            "AND key = ANY(%s)",
            [experiment.pk, excluded or [-1]],
        )
    timings["per (variant, product|category) statistics"] = time.perf_counter() - began
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for table in (
            "experiments_event",
            "experiments_unittotals",
            "ingest_breakdownunittotals",
            "ingest_breakdownstats",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    timings["VACUUM ANALYZE"] = time.perf_counter() - began
    return timings


def _breakdown_from_events(experiment, dimension: str):
    """BreakdownData computed from the raw events: per (variant, row, unit) totals, then sums over units."""
    from django.db import connection, transaction

    from analytics.breakdown_selectors import BreakdownData, breakdown_data
    from ingest.breakdown_stats import STAT_FIELDS

    key = "e.product_id" if dimension == "product" else "p.category_id"
    where = "" if dimension == "product" else "AND NOT e.product_id = ANY(%(excluded)s)"
    sums = ", ".join(
        ["COUNT(*)"]
        + [f"SUM({c})" for c in ("i", "c", "a", "o", "r")]
        + [f"SUM({c} * {c})" for c in ("i", "c", "a", "o", "r")]
        + ["SUM(c * i)", "SUM(o * i)", "SUM(o * c)", "SUM(a * c)", "SUM(CASE WHEN i = 0 THEN 1 ELSE 0 END)"]
    )
    sql = f"""
        WITH per_unit AS (
            SELECT e.variant_id, {key} AS key, e.unit,
                   count(*) FILTER (WHERE type = 0)::float8 AS i, count(*) FILTER (WHERE type = 1)::float8 AS c,
                   count(*) FILTER (WHERE type = 2)::float8 AS a, count(*) FILTER (WHERE type = 3)::float8 AS o,
                   coalesce(sum(revenue) FILTER (WHERE type = 3), 0) AS r
            FROM experiments_event e JOIN experiments_product p ON p.id = e.product_id
            WHERE e.experiment_id = %(experiment)s {where}
            GROUP BY e.variant_id, {key}, e.unit
        )
        SELECT key, variant_id, {sums} FROM per_unit GROUP BY key, variant_id
    """  # noqa: S608 (fixed SQL)
    shape = breakdown_data(experiment=experiment, dimension=dimension)  # labels and the excluded flags
    index = {k: i for i, k in enumerate(shape.keys)}
    labels = dict(
        experiment.products.values_list("pk", "sku")
        if dimension == "product"
        else __import__("catalog.models", fromlist=["Category"]).Category.objects.values_list("pk", "name")
    )
    from experiments.services import experiment_excluded_products

    excluded = experiment_excluded_products(experiment)
    excluded_ids = list(experiment.products.filter(sku__in=excluded).values_list("pk", flat=True)) or [-1]
    stats = {v: {f: np.zeros(len(shape.keys)) for f in STAT_FIELDS} for v in shape.stats}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(sql, {"experiment": experiment.pk, "excluded": excluded_ids})
        for row_key, variant_id, *values in cursor.fetchall():
            i = index[labels[row_key]]
            for f, value in zip(STAT_FIELDS, values, strict=True):
                stats[variant_id][f][i] = value or 0
    return BreakdownData(
        dimension=dimension,
        keys=shape.keys,
        titles=shape.titles,
        categories=shape.categories,
        excluded=shape.excluded,
        stats=stats,
    )


def catalog_case(args) -> None:
    from django.db import connection
    from django.utils import timezone

    from analytics import services
    from analytics.event_scans import variant_aggregates_from_events
    from analytics.report.assembly import report_assemble
    from analytics.report.breakdowns import breakdown_analyse, breakdown_metrics
    from analytics.report.looks import Look
    from analytics.report.metrics import arms_of
    from analytics.report.options import ReportOptions
    from ingest.models import BreakdownStats, Event, UnitTotals

    experiment = _catalog_experiment(args.products)
    have_units = UnitTotals.objects.filter(experiment=experiment).values("unit").count()
    if (
        args.reload
        or not BreakdownStats.objects.filter(experiment=experiment).exists()
        or (abs(have_units - args.catalog_units) > 0.05 * args.catalog_units)
    ):
        print(f"Loading {args.catalog_units:,} units over {args.products:,} products (one-off) …")
        for step, seconds in catalog_load(experiment, units=args.catalog_units, days=args.days).items():
            print(f"  {step:<58} {seconds:8.1f} s")
    else:
        print("Reusing the loaded catalog data (--reload rebuilds it).")
    # A pre-registered plan, as a real catalog test has: without it every report runs the power
    # calculator for the group-sequential plan (~0.6 s here, the same with or without breakdowns).
    type(experiment).objects.filter(pk=experiment.pk).update(planned_units=2 * args.catalog_units)
    experiment.refresh_from_db()
    variants = list(experiment.variants.all())
    options = ReportOptions().planned(experiment)
    arms = arms_of(variants)

    def from_stats():
        return services.report_build(experiment=experiment, backfill="never", with_timeseries=False)

    def page():  # what the report page asks for: every row tested, the top 20 listed
        return services.report_build(experiment=experiment, backfill="never", with_timeseries=False, breakdown_rows=20)

    def from_events():
        now = timezone.now()
        live = variant_aggregates_from_events(experiment=experiment)  # excluded products are not filtered here
        look = Look(day=now.date(), taken_at=now, source="live", aggregates=live)
        report = report_assemble(
            experiment=experiment, variants=variants, looks=[look], options=options, now=now, with_timeseries=False
        )
        breakdowns = [
            breakdown_analyse(
                _breakdown_from_events(experiment, dimension),
                arms=arms,
                metrics=breakdown_metrics(experiment.primary_metric),
                config=options.config(experiment),
                correction=options.correction_for(experiment),
                alpha=experiment.alpha,
            )
            for dimension in ("product", "category")
        ]
        return report, breakdowns

    t_page, page_report = _median_seconds(page, args.repeat)
    pooled_only = dataclasses.replace(page_report, breakdowns=[], excluded_products=None)
    t_breakdowns, _ = _median_seconds(
        lambda: services.report_with_breakdowns(
            pooled_only, experiment=experiment, variants=variants, options=options, top=20
        ),
        args.repeat,
    )
    t_report, report = _median_seconds(from_stats, args.repeat)
    t_json, _ = _median_seconds(lambda: report.to_dict(), args.repeat)
    t_raw, (_, raw_breakdowns) = _median_seconds(from_events, 1)
    same = all(
        a.key == b.key
        and a.units == b.units
        and all(
            (x.relative is None and y.relative is None) or abs((x.relative or 0) - (y.relative or 0)) < 1e-9
            for m in a.metrics
            for x, y in zip(a.metrics[m].lifts.values(), b.metrics[m].lifts.values(), strict=True)
        )
        for mine, theirs in zip(report.breakdowns, raw_breakdowns, strict=True)
        for a, b in zip(mine.rows, theirs.rows, strict=True)
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        workers = cursor.fetchone()[0]
    events = Event.objects.filter(experiment=experiment).count()
    rows = ", ".join(f"{b.rows_total:,} {b.dimension} rows" for b in report.breakdowns)
    print(
        f"\n{report.units:,} pooled units, {events:,} events, {args.products:,} products ({rows}; "
        f"{report.excluded_products.count} excluded), {len(variants) - 1} treatments; PostgreSQL, "
        f"max_parallel_workers_per_gather={workers}; median of {args.repeat} runs (raw: 1 run)"
    )
    print(f"  page report (all rows tested, top 20 listed)    {t_page:8.3f} s   raw/page   {t_raw / t_page:5.1f}×")
    print(f"  full report (all rows listed: JSON, CSV)        {t_report:8.3f} s   raw/full   {t_raw / t_report:6.1f}×")
    print(f"    of which the breakdowns (read + test + list)  {t_breakdowns:8.3f} s")
    print(f"    its JSON (to_dict)                               {t_json:8.3f} s")
    print(f"  the same from raw events (pooled + breakdowns)     {t_raw:8.3f} s")
    print(f"  same breakdown numbers from both paths: {'yes' if same else 'NO'}")
    print(
        f"  aims (page report): under 1 s: {'met' if t_page < 1 else 'MISSED'}; at least 20× the raw scan: "
        f"{'met' if t_raw / t_page >= 20 else 'MISSED'} ({t_raw / t_page:.0f}×)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per contender (median reported)")
    parser.add_argument("--reload", action="store_true", help="rebuild the data even if it is there")
    parser.add_argument("--products", type=int, default=1, help="> 1: the catalog case with this many products")
    parser.add_argument("--catalog-units", type=int, default=1_000_000, help="units of the catalog case")
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/copylift_bench")
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        print("bench/report.py skipped: needs DATABASE_URL on PostgreSQL")
        return
    try:
        _ensure_database(url)
    except Exception as exc:
        print(f"bench/report.py skipped: PostgreSQL not reachable ({exc})")
        return
    django_setup()
    if args.products > 1:
        catalog_case(args)
        return
    from django.db import connection
    from django.utils import timezone

    from analytics import services
    from analytics.event_scans import daily_aggregates_from_events, variant_aggregates_from_events
    from analytics.report.assembly import report_assemble
    from analytics.report.looks import Look, look_from_snapshot, looks_with_live
    from analytics.report.options import ALL_METRICS, ReportOptions
    from analytics.selectors import snapshots_for, variant_aggregates
    from ingest.models import Event, UnitTotals

    experiment = bench_experiment(KEY)
    have_units = UnitTotals.objects.filter(experiment=experiment).count()
    have_events = Event.objects.filter(experiment=experiment).count() if have_units == args.units else 0
    if args.reload or have_units != args.units or abs(have_events - args.events) > 0.02 * args.events:
        print(f"Loading {args.units:,} units and about {args.events:,} events over {args.days} days (one-off) …")
        for step, seconds in load(experiment, units=args.units, events=args.events, days=args.days).items():
            print(f"  {step:<58} {seconds:8.1f} s")
        have_events = Event.objects.filter(experiment=experiment).count()
    else:
        print(f"Reusing the loaded data ({have_units:,} units, {have_events:,} events; --reload rebuilds it).")
    experiment.refresh_from_db()
    variants = list(experiment.variants.all())
    options = ReportOptions()

    def from_totals():
        return services.report_build(experiment=experiment, backfill="never")

    def assemble(live, daily):
        """The report from these numbers, exactly as report_build assembles it."""
        now = timezone.now()
        live_look = Look(day=now.astimezone(UTC).date(), taken_at=now, source="live", aggregates=live)
        looks = looks_with_live(daily, live_look)
        return report_assemble(experiment=experiment, variants=variants, looks=looks, options=options, now=now)

    def raw_headline():
        daily = [look_from_snapshot(s) for s in snapshots_for(experiment=experiment)]
        return assemble(variant_aggregates_from_events(experiment=experiment), daily)

    def raw_full():
        daily = [
            Look(day=day, taken_at=timezone.now(), source="events", aggregates=aggregates)
            for day, aggregates in daily_aggregates_from_events(experiment=experiment)
        ]
        return assemble(variant_aggregates_from_events(experiment=experiment), daily)

    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        workers = cursor.fetchone()[0]
    t_report, report = _median_seconds(from_totals, args.repeat)
    t_aggregate, _ = _median_seconds(lambda: variant_aggregates(experiment=experiment), args.repeat)
    t_headline, headline = _median_seconds(raw_headline, max(1, min(args.repeat, 3)))
    t_full, full = _median_seconds(raw_full, 1)

    # The comparison only means something if both sides computed the same numbers.
    def numbers(r):
        return [
            (v.key, m, v.units, v.metrics[m].value, v.metrics[m].lift.relative if v.metrics[m].lift else None)
            for v in r.variants
            for m in ALL_METRICS
        ]

    same = all(
        a[:3] == b[:3]
        and all(
            x == y or (x is not None and y is not None and abs(x - y) <= 1e-9 * max(1, abs(x)))
            for x, y in zip(a[3:], b[3:], strict=True)
        )
        for other in (headline, full)
        for a, b in zip(numbers(report), numbers(other), strict=True)
    )
    looks = len(report.timeseries)
    print(
        f"\n{report.units:,} units, {have_events:,} events, {looks} daily looks, "
        f"{len(ALL_METRICS)} metrics × {len(variants) - 1} treatments; PostgreSQL, "
        f"max_parallel_workers_per_gather={workers}; median of {args.repeat} runs (raw full: 1 run)"
    )
    print(f"  report from per-unit totals + snapshots      {t_report:8.3f} s")
    print(f"    of which the per-unit totals aggregate     {t_aggregate:8.3f} s")
    print(f"  raw scan: headline from events               {t_headline:8.3f} s   ratio {t_headline / t_report:6.1f}×")
    print(f"  raw scan: headline + daily looks from events {t_full:8.3f} s   ratio {t_full / t_report:6.1f}×")
    print(f"  same numbers from both paths: {'yes' if same else 'NO'}")
    print(
        f"  aims: under 1 s: {'met' if t_report < 1 else 'MISSED'}; at least 20× faster than computing the same "
        f"report from raw events: {'met' if t_full / t_report >= 20 else 'MISSED'} ({t_full / t_report:.0f}×); "
        f"than the headline-only raw scan: {t_headline / t_report:.0f}×"
    )


if __name__ == "__main__":
    main()
