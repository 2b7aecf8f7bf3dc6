"""The catalog case of bench/report.py (--products N, N > 1): a running three-arm experiment over N
products, its events COPYed in and every derived table built from them as ingestion keeps them;
the report with its breakdowns from the statistics tables against the same numbers from the raw
events."""

from __future__ import annotations

import dataclasses
import importlib
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from report_common import CTR, P_CART, P_ORDER, copy_lines, delete_rows, events_copy, median_seconds, vacuum_analyze

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
    units = np.char.add("c", unit_index.astype(str))
    event_ids = np.char.add(
        np.char.add(np.char.add(units, "-"), pair_of.astype(str)), np.char.add("-", offsets.astype(str))
    )
    revenue = np.where(types == 3, "20", "\\N")
    variants = np.asarray(variant_ids)[arm[unit_of_pair[pair_of]]].astype(str)
    products = np.asarray(product_ids)[product_of_pair[pair_of]].astype(str)
    return copy_lines(experiment_id, start, seconds, (variants, event_ids, types, units, revenue, products))


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


def _catalog_totals(*, dimension: int | None = None, key: str | None = None, excluded_out: bool) -> str:
    """INSERT … SELECT of per-unit totals from the raw events: the pooled unit totals (no `key`), or
    the per (unit, `key`) totals of a breakdown `dimension`; `excluded_out` leaves the excluded
    products' events out."""
    pooled = key is None
    return _CATALOG_TOTALS.format(
        table="experiments_unittotals" if pooled else "ingest_breakdownunittotals",
        extra_columns="" if pooled else "dimension, key,",
        extra_values="" if pooled else f"{dimension}, {key},",
        time_columns=", first_exposure, first_seen, last_seen" if pooled else "",
        time_values=", min(ts) FILTER (WHERE type = 0), min(ts), max(ts)" if pooled else "",
        where="AND NOT (e.product_id = ANY(%(excluded)s))" if excluded_out else "",
        group="" if pooled else f", {key}",
    )


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
    timings["delete old rows"] = delete_rows(
        experiment.pk,
        ("ingest_breakdownstats", "ingest_breakdownunittotals", "experiments_unittotals", "experiments_event"),
    )
    rng = np.random.default_rng(10_000)
    began = time.perf_counter()
    loaded = events_copy(
        "experiment_id, variant_id, event_id, type, unit, ts, revenue, product_id, received_at",
        units,
        lambda first, n_units: _catalog_chunk(
            rng,
            first,
            n_units,
            experiment_id=experiment.pk,
            variant_ids=variant_ids,
            product_ids=product_ids,
            start=start,
            days=days,
        ),
    )
    timings[f"COPY {loaded:,} events"] = time.perf_counter() - began
    params = {"experiment": experiment.pk, "excluded": excluded or [-1]}
    steps = {
        "unit totals (excluded products left out)": _catalog_totals(excluded_out=True),
        "per (unit, product) totals": _catalog_totals(dimension=0, key="e.product_id", excluded_out=False),
        "per (unit, category) totals": _catalog_totals(dimension=1, key="p.category_id", excluded_out=True),
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
    timings["VACUUM ANALYZE"] = vacuum_analyze(
        ("experiments_event", "experiments_unittotals", "ingest_breakdownunittotals", "ingest_breakdownstats")
    )
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

    t_page, page_report = median_seconds(page, args.repeat)
    pooled_only = dataclasses.replace(page_report, breakdowns=[], excluded_products=None)
    t_breakdowns, _ = median_seconds(
        lambda: services.report_with_breakdowns(
            pooled_only, experiment=experiment, variants=variants, options=options, top=20
        ),
        args.repeat,
    )
    t_report, report = median_seconds(from_stats, args.repeat)
    t_json, _ = median_seconds(lambda: report.to_dict(), args.repeat)
    t_raw, (_, raw_breakdowns) = median_seconds(from_events, 1)
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
