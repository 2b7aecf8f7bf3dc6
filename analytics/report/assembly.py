"""`report_assemble`: the lift report of one experiment from its variants and looks (pure, no queries).

It takes the experiment's variants, their current sufficient statistics (from the per-unit
totals) and the daily looks (from the snapshots) and returns the `Report` that the pages, the
API, the CSV export and `manage.py lift_report` all render. `analytics.services.report_build`
does the reads and calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from analytics.report.cuped import CupedSummary, PreExposure
from analytics.report.decision import days_between, decide
from analytics.report.format import METRIC_LABELS
from analytics.report.looks import Look
from analytics.report.metrics import (
    BALANCE_ALPHA,
    Arms,
    GroupSequentialPlan,
    MetricAnalysis,
    arms_of,
    metric_analyse,
    metric_config,
)
from analytics.report.options import ALL_METRICS, ReportOptions
from analytics.report.types import (
    Capping,
    LookSummary,
    MetricResult,
    Plan,
    Product,
    Report,
    RevenueCapping,
    SnapshotInfo,
    Srm,
    VariantResult,
)
from analytics.selectors import VariantAggregates
from analytics.stats import sample_size, srm_test
from analytics.stats.results import finite_or_none
from experiments.models import Experiment, Variant, VariantCopy
from experiments.product_sets import experiment_main_category, product_set_describe


def _srm(ordered: list[Variant], units: dict[str, int], threshold: float) -> Srm:
    result = srm_test(
        [units[v.key] for v in ordered],
        [float(v.weight) for v in ordered],
        names=[v.key for v in ordered],
        threshold=threshold,
    )
    return Srm(
        p_value=result.p_value,
        flag=result.flagged,
        observed=units,
        expected={row.name: row.expected_units for row in result.rows},
        chi_square=result.chi_square,
        threshold=result.threshold,
        reason=result.reason,
    )


def _timeseries(looks: list[Look], ordered: list[Variant], analyses: Mapping[str, MetricAnalysis]) -> list[LookSummary]:
    series = []
    previous: dict[str, int] = {}
    for index, look in enumerate(looks):
        look_units = {v.key: int(look.of(v.pk).units) for v in ordered}
        series.append(
            LookSummary(
                day=look.day,
                taken_at=look.taken_at,
                source=look.source,  # type: ignore[arg-type]
                units=look_units,
                new_units={key: n - previous.get(key, 0) for key, n in look_units.items()},
                lift={metric: analysis.per_look[index] for metric, analysis in analyses.items()},
            )
        )
        previous = look_units
    return series


def _plan(
    experiment: Experiment,
    arms: Arms,
    current: Look,
    options: ReportOptions,
    days_running: float | None,
) -> Plan:
    """The group-sequential plan: the experiment's planned units, or the power calculator's for the primary metric
    at the minimum lift (with the treatment's variance), and the days it takes at the traffic so far."""
    metric = experiment.primary_metric
    units_so_far = sum(int(current.of(v.pk).units) for v in arms.all)
    daily = units_so_far / days_running if days_running and days_running >= 1 / 24 and units_so_far else None
    weights = {v.key: float(v.weight) for v in arms.all}
    total_weight = sum(weights.values()) or 1.0
    planned: int | None = experiment.planned_units
    source = "experiment" if planned else None
    error = None
    if not planned and arms.treatments:
        control = current.of(arms.control.pk).statistic(metric)
        treatment_vars = [
            current.of(v.pk).statistic(metric).variance
            for v in arms.treatments
            if current.of(v.pk).units > 1 and not current.of(v.pk).statistic(metric).problem()
        ]
        if control.problem():
            error = f"no plan yet: {control.problem()}"
        else:
            config, _ = metric_config(experiment, metric, options)
            result = sample_size(
                baseline_mean=control.mean,
                baseline_variance=control.variance,
                relative_lift=options.minimum_lift,
                power=options.power,
                control_share=weights[arms.control.key] / total_weight,
                treatment_share=min(weights[v.key] for v in arms.treatments) / total_weight,
                method="group_sequential",
                config=config,
                treatment_variance=max(treatment_vars) if treatment_vars else None,
            )
            planned, error = result.units_total, result.error
            source = "power_calculator" if planned else None
    fraction = units_so_far / planned if planned else None
    return Plan(
        planned_units=planned,
        source=source,  # type: ignore[arg-type]
        planned_days=planned / daily if planned and daily else None,
        units_so_far=units_so_far,
        information_fraction=fraction,
        metric=metric,
        relative_lift=options.minimum_lift,
        power=options.power,
        ended=bool(planned) and (experiment.status == Experiment.Status.STOPPED or (fraction or 0) >= 1),
        error=error,
    )


def _variant_result(
    variant: Variant,
    look: Look,
    analyses: Mapping[str, MetricAnalysis],
    score: Mapping[str, float | None],
    uncapped: VariantAggregates | None = None,
) -> VariantResult:
    agg = uncapped or look.of(variant.pk)
    return VariantResult(
        key=variant.key,
        name=variant.name,
        is_control=variant.is_control,
        lambda_value=variant.lambda_value,
        source=variant.source,
        weight=variant.weight,
        copy=_only_copy(variant),
        diversity=score.get("diversity"),
        novelty=score.get("novelty"),
        p_conv=score.get("p_conv"),
        units=int(agg.units),
        impressions=int(agg.impressions),
        clicks=int(agg.clicks),
        add_to_carts=int(agg.add_to_carts),
        orders=int(agg.orders),
        revenue=finite_or_none(agg.revenue),
        metrics={
            metric: MetricResult(
                value=analysis.values.get(variant.key),
                lift=None if variant.is_control else analysis.lifts.get(variant.key),
            )
            for metric, analysis in analyses.items()
        },
    )


def _warnings(units_in_several_variants: int | None, analyses: Mapping[str, MetricAnalysis]) -> list[str]:
    warnings = []
    if units_in_several_variants:
        warnings.append(
            f"{units_in_several_variants} unit(s) have events in more than one variant: the storefront may "
            "be sending its own variant instead of the assigned one."
        )
    for metric, analysis in analyses.items():
        if analysis.error:
            warnings.append(f"{METRIC_LABELS[metric]}: {analysis.error}")
        for key in analysis.cuped_imbalanced:
            warnings.append(
                f"{METRIC_LABELS[metric]}, {key}: CUPED's covariate differs between the arms before exposure "
                "(the storefront may be sending arm-dependent data); the lift is left unadjusted."
            )
    return warnings


def report_assemble(
    *,
    experiment: Experiment,
    variants: Sequence[Variant],
    looks: list[Look],
    options: ReportOptions,
    now: datetime,
    metrics: Sequence[str] = ALL_METRICS,
    with_timeseries: bool = True,
    copy_scores: Mapping[int, Mapping[str, float | None]] | None = None,
    units_in_several_variants: int | None = None,
    snapshot_info: SnapshotInfo | None = None,
    revenue_capping: RevenueCapping | None = None,
    capping: Sequence[Capping] = (),
    uncapped: Mapping[int, VariantAggregates] | None = None,
    pre_exposure: PreExposure | None = None,
) -> Report:
    """The report. `looks` are cumulative and oldest first; the last one is the current state.

    With `capping`, the last look's sums are capped ones; `uncapped` (variant id -> aggregates) is then what
    the variants' counts and revenue show. With `pre_exposure` (its revenue capped alike), lifts
    are CUPED-adjusted wherever the units' pre-exposure behaviour predicts the metric."""
    guardrail_metrics = [m for m in (experiment.guardrail_metrics or []) if m in ALL_METRICS]
    # The decision needs the primary metric and the guardrails.
    wanted = {experiment.primary_metric, *metrics, *guardrail_metrics}
    metrics = [metric for metric in ALL_METRICS if metric in wanted]
    arms: Arms | None = arms_of(list(variants))
    ordered = arms.all if arms else list(variants)
    current = looks[-1]
    config = options.config(experiment)
    units = {v.key: int(current.of(v.pk).units) for v in ordered}
    srm = _srm(ordered, units, config.srm_threshold)
    days_running = days_between(experiment.started_at, experiment.stopped_at or now)

    analyses: dict[str, MetricAnalysis] = {}
    plan = _plan(experiment, arms, current, options, days_running) if arms is not None else None
    gs_plan = (
        GroupSequentialPlan(
            planned_units=plan.planned_units,
            ended=plan.ended,
            weights={v.key: float(v.weight) for v in ordered},
        )
        if plan is not None and plan.planned_units and options.sequential_method == "group_sequential"
        else None
    )
    if arms is not None:
        for metric in metrics:
            analyses[metric] = metric_analyse(
                experiment=experiment,
                metric=metric,
                arms=arms,
                looks=looks,
                options=options,
                with_timeline=with_timeseries,
                plan=gs_plan,
                guardrail=metric in guardrail_metrics,
                adjusted=pre_exposure.statistics(metric, current.aggregates) if pre_exposure is not None else None,
            )
    scores = copy_scores or {}
    decision = decide(
        experiment=experiment,
        arms=arms,
        units=units,
        srm=srm,
        primary=analyses.get(experiment.primary_metric),
        looks=looks,
        options=options,
        days_running=days_running,
        guardrails={m: analyses[m] for m in guardrail_metrics if m in analyses and m != experiment.primary_metric},
    )
    return Report(
        experiment=experiment.key,
        name=experiment.name,
        status=experiment.status,
        simulated_traffic=experiment.simulated_traffic,
        product=_product_summary(experiment),
        primary_metric=experiment.primary_metric,
        computed_at=now,
        started_at=experiment.started_at,
        stopped_at=experiment.stopped_at,
        days_running=days_running,
        alpha=experiment.alpha,
        sequential_method=options.sequential_method,  # type: ignore[arg-type]
        sequential_tuning_n=options.sequential_tuning_n,
        min_units_per_arm=config.min_units_per_arm,
        correction=options.correction_for(experiment),  # type: ignore[arg-type]
        minimum_lift=options.minimum_lift,
        metrics=list(analyses) or list(metrics),
        metric_scales={metric: analysis.scale for metric, analysis in analyses.items()},
        units=sum(units.values()),
        units_in_several_variants=units_in_several_variants,
        srm=srm,
        variants=[
            _variant_result(v, current, analyses, scores.get(v.pk) or {}, (uncapped or {}).get(v.pk)) for v in ordered
        ],
        decision=decision,
        warnings=_warnings(units_in_several_variants, analyses),
        snapshots=snapshot_info,
        timeseries=_timeseries(looks, ordered, analyses) if with_timeseries else [],
        metric_settings={m: a.settings for m, a in analyses.items() if a.settings is not None},
        guardrail_metrics=guardrail_metrics,
        plan=plan,
        revenue_capping=revenue_capping,
        capping=list(capping),
        cuped=_cuped_summary(pre_exposure, analyses, sum(units.values())),
    )


def _cuped_summary(
    pre_exposure: PreExposure | None, analyses: Mapping[str, MetricAnalysis], units: int
) -> CupedSummary | None:
    if pre_exposure is None:
        return None
    adjusted = [metric for metric, analysis in analyses.items() if analysis.cuped]
    imbalanced = [f"{key}: {metric}" for metric, analysis in analyses.items() for key in analysis.cuped_imbalanced]
    with_data = pre_exposure.units_with_data
    by_events = pre_exposure.source == "events"
    if adjusted:
        covariate = (
            f"each unit's same metric over the {pre_exposure.lookback_days} days before its first exposure (its "
            "events in other experiments)"
            if by_events
            else "the visitor's prior orders as the storefront sent them (no unit has events before its exposure)"
        )
        note = (
            f"Lifts of {', '.join(METRIC_LABELS[m] for m in adjusted)} are CUPED-adjusted: the covariate is "
            f"{covariate}, theta pooled over both arms. `unadjusted` beside each lift shows the plain one."
        )
    elif with_data:
        note = "The covariate does not vary enough to adjust any lift: lifts are unadjusted."
    else:
        note = (
            f"No unit has events in the {pre_exposure.lookback_days} days before its first exposure, nor sent "
            "prior_orders: lifts are unadjusted."
        )
    if imbalanced:
        note += (
            f" Left unadjusted because the covariate's mean differs between the arms (p < {BALANCE_ALPHA:g}), "
            f"which an honest pre-exposure covariate cannot do: {', '.join(imbalanced)}."
        )
    return CupedSummary(
        lookback_days=pre_exposure.lookback_days,
        units=units,
        units_with_pre_exposure_data=with_data,
        metrics=adjusted,
        note=note,
        covariate=pre_exposure.source,
        imbalanced=imbalanced,
    )


def _only_copy(variant: Variant) -> str | None:
    copies = list(VariantCopy.objects.filter(variant=variant).values_list("copy", flat=True)[:2])
    return copies[0] if len(copies) == 1 else None


def _product_summary(experiment: Experiment) -> Product:
    products = list(experiment.products.select_related("category").order_by("sku")[:2])
    count = experiment.products.count()
    if count == 1:
        only = products[0]
        return Product(sku=only.sku, title=only.title, category=only.category.name, count=1)
    main = experiment_main_category(experiment)
    return Product(
        sku="", title=product_set_describe(experiment.product_set), category=main.name if main else "", count=count
    )
