"""The report build: an experiment's typed report from its per-unit totals and daily snapshots,
with revenue capping, the catalog breakdowns, data quality and, in bandit mode, the holdout slice.

`report_build` reads; it lives with the services because it may also ask for a one-off backfill
of snapshots (an experiment whose traffic predates them), which is a write done by a Celery task.
Snapshots are taken in `analytics.snapshots`; the λ report is `analytics.lambdas.lambda_report_build`.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Literal

from django.utils import timezone

from analytics.adjustments import consistent_reads, pre_exposure_read, report_capped
from analytics.breakdown_selectors import breakdown_data
from analytics.models import ReportSnapshot
from analytics.report.assembly import report_assemble
from analytics.report.breakdown_types import ExcludedProducts
from analytics.report.breakdowns import breakdown_analyse, breakdown_metrics
from analytics.report.cuped import PreExposure
from analytics.report.looks import Look, look_from_snapshot, looks_with_live
from analytics.report.metrics import arms_of
from analytics.report.novelty import report_with_novelty
from analytics.report.options import ALL_METRICS, ReportOptions
from analytics.report.segments import report_with_segment
from analytics.report.types import (
    Allocation,
    Capping,
    DataQuality,
    Report,
    RevenueCapping,
    SnapshotInfo,
    TrafficCounts,
)
from analytics.selectors import (
    VariantAggregates,
    copy_scores,
    quarantine_counts,
    snapshots_for,
    units_in_several_variants,
    variant_aggregates,
    variant_aggregates_holdout,
)
from analytics.snapshots import snapshot_backfill, snapshot_backfill_request, snapshots_incomplete
from experiments.models import Experiment, Variant
from experiments.services import experiment_excluded_products

Backfill = Literal["enqueue", "now", "never"]


def _snapshot_info(snapshots: list[ReportSnapshot], backfill: Literal["pending", "done"] | None) -> SnapshotInfo:
    return SnapshotInfo(
        count=len(snapshots),
        first_day=snapshots[0].day if snapshots else None,
        last_day=snapshots[-1].day if snapshots else None,
        backfill=backfill,
    )


def report_build(
    *,
    experiment: Experiment,
    options: ReportOptions | None = None,
    metrics: tuple[str, ...] = ALL_METRICS,
    with_timeseries: bool = True,
    backfill: Backfill = "enqueue",
    now: datetime | None = None,
    breakdown_rows: int | None = None,
    with_novelty: bool | None = None,
) -> Report:
    """The experiment's report from its per-unit totals (current numbers) and snapshots (daily looks).

    `with_novelty`: add the daily lift and the exposure cohorts (one more query); None: with the timeseries.

    `breakdown_rows`: list that many top rows of each breakdown (by units) and summarise the rest; None: all.

    Missing daily looks are backfilled from the raw events once: by a queued task (`enqueue`,
    for web requests), right here (`now`, for the command) or not at all (`never`).
    """
    options = (options or ReportOptions()).planned(experiment)
    now = now or timezone.now()
    options = options or ReportOptions()
    if experiment.allocation_mode == Experiment.AllocationMode.BANDIT:
        report = _bandit_report_build(experiment=experiment, options=options, metrics=metrics, now=now)
        return report_with_data_quality(report, experiment=experiment)
    variants = list(experiment.variants.all())
    # The current totals, their capped sums and CUPED's cross sums from one snapshot of the database:
    # events stored between the reads would make them disagree.
    with consistent_reads():
        aggregates = variant_aggregates(experiment=experiment)
        has_units = any(a.units for a in aggregates.values())
        capped = report_capped(experiment=experiment, aggregates=aggregates, options=options)
        pre_exposure = pre_exposure_read(experiment, options, capped.caps) if has_units else None
    snapshots = snapshots_for(experiment=experiment)
    state: Literal["pending", "done"] | None = None
    if has_units and snapshots_incomplete(experiment=experiment, snapshots=snapshots):
        state = "pending"
        if backfill == "now":
            snapshot_backfill(experiment=experiment, now=now)
            state = "done"
        elif backfill == "enqueue":
            snapshot_backfill_request(experiment)
        if backfill != "never":
            snapshots = snapshots_for(experiment=experiment)  # an eager or finished task has written them
            if not snapshots_incomplete(experiment=experiment, snapshots=snapshots):
                state = "done"
    report = _report_from(
        experiment=experiment,
        variants=variants,
        live=aggregates,
        capped_live=capped.aggregates if capped.caps else None,
        revenue_capping=capped.revenue_capping,
        capping=capped.capping,
        pre_exposure=pre_exposure,
        snapshots=snapshots,
        options=options,
        now=now,
        metrics=metrics,
        with_timeseries=with_timeseries,
        units_in_several_variants=snapshots[-1].units_in_several_variants if snapshots else None,
        backfill=state,
    )
    report = report_with_breakdowns(
        report, experiment=experiment, variants=variants, options=options, top=breakdown_rows
    )
    report = report_with_segment(report, experiment=experiment, variants=variants, options=options)
    if with_timeseries if with_novelty is None else with_novelty:
        report = report_with_novelty(
            report,
            experiment=experiment,
            variants=variants,
            snapshots=snapshots,
            options=options,
            metrics=metrics,
            now=now,
        )
    return report_with_data_quality(report, experiment=experiment)


EXCLUDED_REASON = (
    "some arm had no approved copy for these products and showed the control's copy there (the experiment "
    "started with control_fallback): their events are left out of the pooled analysis and shown, flagged, "
    "in the product breakdown"
)


def report_with_breakdowns(
    report: Report,
    *,
    experiment: Experiment,
    variants: list[Variant],
    options: ReportOptions,
    top: int | None = None,
) -> Report:
    """A catalog experiment's report with its excluded products and its per-product and per-category
    breakdowns (read from the per-product statistics: rows per product and arm, never per unit)."""
    products = experiment.products.count()
    arms = arms_of(variants)
    if products < 2 or arms is None:
        return report
    excluded = experiment_excluded_products(experiment)
    warnings = list(report.warnings)
    if excluded:
        warnings.append(f"{len(excluded)} of {products} products are out of the pooled analysis: {EXCLUDED_REASON}.")
    metrics = breakdown_metrics(experiment.primary_metric)
    correction = options.correction_for(experiment)
    config = options.config(experiment)
    breakdowns = []
    for dimension in ("product", "category"):
        data = breakdown_data(experiment=experiment, dimension=dimension)
        if dimension == "category" and len(data.keys) < 2:
            continue  # one category: its row is the pooled result
        breakdowns.append(
            breakdown_analyse(
                data,
                arms=arms,
                metrics=metrics,
                config=config,
                correction=correction,
                alpha=experiment.alpha,
                top=top,
            )
        )
    return dataclasses.replace(
        report,
        warnings=warnings,
        excluded_products=ExcludedProducts(count=len(excluded), skus=excluded[:100], reason=EXCLUDED_REASON),
        breakdowns=breakdowns,
    )


RATE_METRICS = ("ctr", "cvr", "click_to_order", "atc_rate")


def report_with_data_quality(report: Report, *, experiment: Experiment) -> Report:
    """The report with what ingestion quarantined, and a warning for any rate above 100 %: such a
    number cannot be a real conversion rate, so the page and the JSON say so next to it."""
    events, units, by_reason = quarantine_counts(experiment=experiment)
    impossible = [
        f"{variant.key}: {metric} {result.value:.1%}"
        for variant in report.variants
        for metric, result in variant.metrics.items()
        if metric in RATE_METRICS and result.value is not None and result.value > 1.0
    ]
    warnings = list(report.warnings)
    if impossible:
        warnings.append(
            "impossible rates (above 100 %): " + "; ".join(impossible) + ". The events behind them are not"
            " plausible visitors; check the data-quality panel before reading any lift."
        )
    if events:
        warnings.append(f"{events} implausible event(s) of {units} unit(s) were quarantined, not counted.")
    quality = DataQuality(
        quarantined_events=events, quarantined_units=units, quarantined_by_reason=by_reason, impossible_rates=impossible
    )
    return dataclasses.replace(report, data_quality=quality, warnings=warnings)


def _report_from(
    *,
    experiment: Experiment,
    variants: list[Variant],
    live: dict[int, VariantAggregates],
    snapshots: list[ReportSnapshot],
    options: ReportOptions,
    now: datetime,
    metrics: tuple[str, ...],
    with_timeseries: bool,
    units_in_several_variants: int | None,
    backfill: Literal["pending", "done"] | None,
    holdout: bool = False,
    revenue_capping: RevenueCapping | None = None,
    capping: list[Capping] | None = None,
    capped_live: dict[int, VariantAggregates] | None = None,
    pre_exposure: PreExposure | None = None,
) -> Report:
    """The report from the daily snapshots (all traffic, or the `holdout` slice) and the live totals."""
    live_look = Look(day=now.astimezone(UTC).date(), taken_at=now, source="live", aggregates=live)
    looks = looks_with_live([look_from_snapshot(s, holdout=holdout) for s in snapshots], live_look)
    if capped_live is not None:
        # The last look is the current totals (live, or the snapshot they equal): it gets the capped revenue.
        looks[-1] = dataclasses.replace(looks[-1], aggregates=capped_live)
    return report_assemble(
        experiment=experiment,
        variants=variants,
        looks=looks,
        options=options,
        now=now,
        metrics=metrics,
        with_timeseries=with_timeseries,
        copy_scores=copy_scores(variant_ids=[v.pk for v in variants]),
        units_in_several_variants=units_in_several_variants,
        snapshot_info=_snapshot_info(snapshots, backfill),
        revenue_capping=revenue_capping,
        capping=capping or [],
        uncapped=live if capped_live is not None else None,
        pre_exposure=pre_exposure,
    )


def _bandit_report_build(
    *, experiment: Experiment, options: ReportOptions, metrics: tuple[str, ...], now: datetime
) -> Report:
    """A bandit-mode experiment's report: the fixed holdout slice, analysed alone, plus the history.

    Outside the holdout, traffic shares follow the data (Thompson sampling), so per-arm means
    there are biased (an arm that looked bad early got less traffic and had less chance to
    recover) and day-of-week effects confound arms whose share changed over time. The holdout
    slice is an ordinary randomized test with equal, constant shares: the usual fixed-horizon
    and sequential analyses are valid on it. Its daily looks come from the snapshots that stored
    the slice (`holdout_variants`, taken by the periodic task since the experiment started in
    bandit mode); days before the first such snapshot have no look of the slice.
    """
    import copy

    from experiments.adaptive import allocation_history
    from experiments.assignment import snapshot_build

    snapshot = snapshot_build(experiment)
    allocation = snapshot.allocation
    variants = []
    for variant in experiment.variants.all():
        shown = copy.copy(variant)
        shown.weight = 1.0  # the holdout slice splits evenly: what the SRM check must expect
        variants.append(shown)
    holdout = variant_aggregates_holdout(experiment=experiment, in_holdout=allocation.in_holdout)
    everything = variant_aggregates(experiment=experiment)
    snapshots = [s for s in snapshots_for(experiment=experiment) if s.holdout_variants is not None]
    report = _report_from(
        experiment=experiment,
        variants=variants,
        live=holdout,
        snapshots=snapshots,
        holdout=True,
        options=options,
        now=now,
        metrics=metrics,
        with_timeseries=True,
        # Units outside the holdout may change variant at a re-weighting (by design); inside it they
        # never do, and only they are analysed, so the "several variants" warning does not apply.
        units_in_several_variants=None,
        backfill=None,  # the slice's past days cannot be rebuilt from totals taken later
    )
    return report.with_allocation(
        Allocation(
            mode="bandit",
            method="holdout_slice",
            holdout_share=allocation.holdout,
            floor=experiment.bandit_floor,
            method_note=(
                f"Adaptive λ: {allocation.holdout:.0%} of traffic is a fixed slice split evenly between all arms; "
                "lifts, intervals, p-values and the decision use that slice only, which stays a valid randomized "
                "test while the rest of the traffic follows Thompson sampling (validated by simulation: "
                "python -m analytics.stats.adaptive)."
            ),
            history=allocation_history(experiment=experiment),
            units_moved_by_reweighting=units_in_several_variants(experiment=experiment),
            all_traffic={
                v.key: TrafficCounts(
                    units=int(everything[v.pk].units),
                    impressions=int(everything[v.pk].impressions),
                    clicks=int(everything[v.pk].clicks),
                    orders=int(everything[v.pk].orders),
                )
                for v in variants
                if v.pk in everything
            },
        )
    )
