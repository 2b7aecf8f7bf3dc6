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
import os
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from common import bench_experiment, django_setup
from report_catalog import catalog_case
from report_common import CTR, P_CART, P_ORDER, copy_lines, delete_rows, events_copy, median_seconds, vacuum_analyze

KEY = "bench-report"
PRICE = 20.0


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
    units = np.char.add("u", (first_unit + unit_of).astype(str))
    revenue = np.where(types == 3, (PRICE * rng.integers(1, 4, size=total)).astype(str), "\\N")
    event_ids = np.char.add(np.char.add(units, "-"), offsets.astype(str))
    variants = np.asarray(variant_ids)[arm][unit_of].astype(str)
    return copy_lines(experiment_id, start, seconds, (variants, event_ids, types, units, revenue))


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

    timings["delete old rows"] = delete_rows(
        experiment.pk, ("analytics_reportsnapshot", "experiments_unittotals", "experiments_event")
    )

    rng = np.random.default_rng(2505_23809)
    began = time.perf_counter()
    loaded = events_copy(
        "experiment_id, variant_id, event_id, type, unit, ts, revenue, received_at",
        units,
        lambda first, n_units: _chunk_lines(
            rng,
            first,
            n_units,
            experiment_id=experiment.pk,
            variant_ids=[v.pk for v in variants],
            weights=weights,
            imp_mean=imp_mean,
            start=start,
            days=days,
        ),
    )
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
    timings["VACUUM ANALYZE"] = vacuum_analyze(("experiments_event", "experiments_unittotals"))

    began = time.perf_counter()
    written = snapshot_backfill(experiment=experiment, replace=True)
    timings[f"backfill {written} daily snapshots from raw events"] = time.perf_counter() - began
    assert ReportSnapshot.objects.filter(experiment=experiment).count() == written
    return timings


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
    from analytics.event_scans import daily_aggregates_from_events, pre_exposure_sums, variant_aggregates_from_events
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
    # The raw-event contenders assemble the plain analysis (no capping, no CUPED); the timed report is the
    # default one, with both, and the numbers are checked on a plain report_build.
    options = ReportOptions(revenue_cap_percentile=0, caps="", cuped_lookback_days=0)

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
    t_report, report = median_seconds(from_totals, args.repeat)
    t_aggregate, _ = median_seconds(lambda: variant_aggregates(experiment=experiment), args.repeat)
    t_cuped, _ = median_seconds(
        lambda: pre_exposure_sums(experiment=experiment, lookback_days=ReportOptions().cuped_lookback_days),
        args.repeat,
    )
    plain = services.report_build(experiment=experiment, backfill="never", options=options)
    t_headline, headline = median_seconds(raw_headline, max(1, min(args.repeat, 3)))
    t_full, full = median_seconds(raw_full, 1)

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
        for a, b in zip(numbers(plain), numbers(other), strict=True)
    )
    looks = len(report.timeseries)
    print(
        f"\n{report.units:,} units, {have_events:,} events, {looks} daily looks, "
        f"{len(ALL_METRICS)} metrics × {len(variants) - 1} treatments; PostgreSQL, "
        f"max_parallel_workers_per_gather={workers}; median of {args.repeat} runs (raw full: 1 run)"
    )
    print(f"  report from per-unit totals + snapshots      {t_report:8.3f} s")
    print(f"    of which the per-unit totals aggregate     {t_aggregate:8.3f} s")
    print(f"    of which CUPED's pre-exposure query        {t_cuped:8.3f} s")
    print(f"  raw scan: headline from events               {t_headline:8.3f} s   ratio {t_headline / t_report:6.1f}×")
    print(f"  raw scan: headline + daily looks from events {t_full:8.3f} s   ratio {t_full / t_report:6.1f}×")
    print(f"  same numbers from both paths (capping and CUPED off): {'yes' if same else 'NO'}")
    print(
        f"  aims: under 1 s: {'met' if t_report < 1 else 'MISSED'}; at least 20× faster than computing the same "
        f"report from raw events: {'met' if t_full / t_report >= 20 else 'MISSED'} ({t_full / t_report:.0f}×); "
        f"than the headline-only raw scan: {t_headline / t_report:.0f}×"
    )


if __name__ == "__main__":
    main()
