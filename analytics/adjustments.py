"""The report's adjustments read from the database before it is assembled: the caps of per-unit totals
(winsorisation) and CUPED's pre-exposure covariate (split from `analytics.services`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from analytics.event_scans import pre_exposure_sums, prior_orders_sums
from analytics.report.cuped import PreExposure
from analytics.report.options import ReportOptions
from analytics.report.types import Capping, RevenueCapping
from analytics.selectors import METRICS, VariantAggregates, capped_unit_counts, nonzero_percentile, variant_aggregates
from experiments.models import Experiment


@contextmanager
def consistent_reads() -> Iterator[None]:
    """Several reads from one snapshot of the database: a REPEATABLE READ transaction on PostgreSQL (SQLite's
    transactions read one snapshot already). Inside an outer transaction, that one's snapshot holds."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


@dataclasses.dataclass(frozen=True)
class Capped:
    """The current aggregates with the report's caps applied, and what capping did."""

    aggregates: dict[int, VariantAggregates]
    caps: dict[str, float]  # column -> threshold, for the columns that had one
    capping: list[Capping]
    revenue_capping: RevenueCapping | None


def report_capped(
    *, experiment: Experiment, aggregates: dict[int, VariantAggregates], options: ReportOptions
) -> Capped:
    """The aggregates with each capped column's per-unit totals winsorised at one threshold for all arms (a
    per-arm one would cap the better arm harder): its percentile of the non-zero totals pooled, or its
    absolute cap. Capping a count changes every sum, square and cross product it enters: one aggregate query."""
    rules = options.cap_rules
    if not rules:
        return Capped(aggregates, {}, [], None)
    caps: dict[str, float] = {}
    for rule in rules:
        threshold = (
            rule.absolute
            if rule.absolute is not None
            else nonzero_percentile(experiment=experiment, column=rule.column, percentile=float(rule.percentile))
        )
        if threshold is not None:
            caps[rule.column] = threshold
    capped = variant_aggregates(experiment=experiment, caps=caps) if caps else aggregates
    counts = capped_unit_counts(experiment=experiment, caps=caps)
    units = sum(int(a.units) for a in aggregates.values())
    capping = []
    for rule in rules:
        before = sum(getattr(a, rule.column) for a in aggregates.values())
        after = sum(getattr(a, rule.column) for a in capped.values())
        n = counts.get(rule.column, 0)
        capping.append(
            Capping(
                column=rule.column,
                metrics=[m for m, (num, den) in METRICS.items() if rule.column in (num, den)],
                percentile=rule.percentile,
                cap=caps.get(rule.column),
                units=units,
                capped_units=n,
                capped_unit_share=n / units if units else None,
                total_before=float(before),
                total_after=float(after),
                capped_share=max(before - after, 0.0) / before if before else None,
            )
        )
    revenue = next((c for c in capping if c.column == "revenue"), None)
    revenue_capping = None
    if revenue is not None:
        where = (
            f"above the {revenue.percentile:g}th percentile of units with revenue (all arms pooled)"
            if revenue.percentile is not None
            else f"above {revenue.cap:g}"
        )
        revenue_capping = RevenueCapping(
            percentile=revenue.percentile or 0.0,
            cap=revenue.cap,
            units=units,
            capped_units=revenue.capped_units,
            capped_unit_share=revenue.capped_unit_share,
            revenue_before=revenue.total_before,
            revenue_after=revenue.total_after,
            capped_revenue_share=revenue.capped_share,
            note=(
                f"Per-unit revenue {where} is capped at it before revenue per unit is tested; the variants' "
                "revenue shows the uncapped totals. Only the current totals are capped: the daily looks before "
                "today are not."
            ),
        )
    return Capped(capped, caps, capping, revenue_capping)


def pre_exposure_read(experiment: Experiment, options: ReportOptions, caps: dict[str, float]) -> PreExposure | None:
    """CUPED's covariate: the units' totals before their first exposure, capped alike (None: CUPED is off)."""
    if options.cuped_lookback_days <= 0:
        return None
    sums = pre_exposure_sums(experiment=experiment, lookback_days=options.cuped_lookback_days, caps=caps)
    if not any(s["units_with_pre"] for s in sums.values()):
        # None of the platform's own history: the storefront's count of prior orders, where it sends one.
        by_number = prior_orders_sums(experiment=experiment, caps=caps)
        if any(s["units_with_pre"] for s in by_number.values()):
            return PreExposure(lookback_days=options.cuped_lookback_days, sums=by_number, source="prior_orders")
    return PreExposure(lookback_days=options.cuped_lookback_days, sums=sums)
