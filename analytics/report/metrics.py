"""Per-metric analysis: each variant's value and, per treatment, every lift, interval and p-value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from analytics.report.cuped import CupedLift, UnadjustedLift
from analytics.report.looks import Look
from analytics.report.options import ReportOptions
from analytics.report.types import Interval, Lift, LookLift, MetricSettings, Scale
from analytics.stats import (
    Comparison,
    SequentialResult,
    StatsConfig,
    adjust_p_values,
    analyze_metric,
    config_for_metric,
    headline,
    metric_scale,
    msprt_tau_for_mde,
    observed_group_sequential_path,
    sequential_path,
    sequential_test,
)
from analytics.stats.bayesian import BayesianResult, bayesian_test
from analytics.stats.cuped import AdjustedStatistic, RegressionAdjustedResult, regression_adjusted_test
from analytics.stats.frequentist import FixedHorizonResult, LiftEstimate, fixed_horizon_test
from analytics.stats.results import finite_or_none
from analytics.stats.statistics import Statistic
from experiments.models import Experiment, Variant


@dataclass
class Arms:
    """The experiment's variants with the control first (the engine's convention)."""

    control: Variant
    treatments: list[Variant] = field(default_factory=list)

    @property
    def all(self) -> list[Variant]:
        return [self.control, *self.treatments]


def arms_of(variants: list[Variant]) -> Arms | None:
    controls = [v for v in variants if v.is_control]
    if not controls:
        return None
    return Arms(control=controls[0], treatments=[v for v in variants if v is not controls[0]])


@dataclass(frozen=True)
class MetricAnalysis:
    """One metric over every arm: values by variant key, lifts by treatment key, lifts per look."""

    scale: Scale
    values: dict[str, float | None]
    lifts: dict[str, Lift]
    error: str | None
    per_look: list[dict[str, LookLift]]  # one entry per look, oldest first: treatment key -> lift then
    settings: MetricSettings | None = None
    cuped_imbalanced: tuple[str, ...] = ()  # treatments left unadjusted: the covariate is out of balance

    @property
    def cuped(self) -> bool:
        """Whether some treatment's lift is CUPED-adjusted."""
        return any(lift.cuped is not None for lift in self.lifts.values())


@dataclass(frozen=True)
class GroupSequentialPlan:
    """Planned units of the group-sequential design (all arms) and whether its final look is past."""

    planned_units: int
    ended: bool
    weights: dict[str, float]  # variant key -> weight, to share the plan among the pairs


def pair(lower: float | None, upper: float | None) -> Interval | None:
    if lower is None and upper is None:
        return None
    return (finite_or_none(lower), finite_or_none(upper))


def _final(path: list[SequentialResult]) -> SequentialResult | None:
    return path[-1] if path else None


def _zero_baseline(statistic: Statistic) -> bool:
    mean = finite_or_none(getattr(statistic, "mean", None)) if not statistic.problem() else None
    return bool(statistic.n) and mean == 0.0


def metric_config(
    experiment: Experiment, metric: str, options: ReportOptions, *, scale: Scale | None = None
) -> tuple[StatsConfig, float | None]:
    """The metric's config on its scale, with the mSPRT τ tuned to the minimum lift (msprt only)."""
    base = options.config(experiment)
    tau = None
    if options.sequential_method == "msprt":
        # tau is relative to the control mean on both scales: the same c x MDE serves either.
        tuning = msprt_tau_for_mde(options.minimum_lift, power=options.power, config=base)
        tau = tuning.tau
        return config_for_metric(base, metric=metric, scale=scale, msprt_tuning=tuning), tau
    return config_for_metric(base, metric=metric, scale=scale), tau


def _path(
    pairs: list[tuple[Statistic, Statistic]],
    config: StatsConfig,
    plan: GroupSequentialPlan | None,
    control_key: str,
    treatment_key: str,
    final_lift: LiftEstimate | None = None,
) -> list[SequentialResult]:
    """The sequential results at every look; `final_lift` (CUPED's) replaces the last look's estimate."""
    lift = (
        (final_lift.estimate, final_lift.std_error)
        if final_lift is not None and final_lift.estimate is not None and final_lift.std_error
        else None
    )
    if config.sequential_method == "group_sequential" and plan is not None:
        total = sum(plan.weights.values()) or 1.0
        share = (plan.weights.get(control_key, 0.0) + plan.weights.get(treatment_key, 0.0)) / total
        return observed_group_sequential_path(
            pairs, planned_units=max(plan.planned_units * share, 1.0), config=config, ended=plan.ended, final_lift=lift
        )
    return sequential_path(pairs, config, final_lift=lift)


# A covariate whose mean differs between the arms this much is not a pre-exposure quantity independent of
# the assignment (a storefront that sends arm-dependent attributes, or forged earlier events): adjusting by
# it would move the lift, so the metric stays unadjusted and the report says so.
BALANCE_ALPHA = 0.001


def _cuped_tests(
    adjusted: Mapping[int, AdjustedStatistic] | None,
    arms: Arms,
    config: StatsConfig,
    comparisons: Sequence[Comparison],
) -> tuple[dict[str, RegressionAdjustedResult], list[str]]:
    """Treatment key -> the CUPED test, for the treatments whose covariate did adjust the lift (left out, with
    the unadjusted lift: no covariate, no spread in it so theta = 0, an adjusted test that failed, a
    covariate out of balance between the arms, or a zero-event arm, whose exact (Fisher) or pooled-variance
    test stands), and the keys of the treatments left out for imbalance."""
    if not adjusted or arms.control.pk not in adjusted:
        return {}, []
    control = adjusted[arms.control.pk]
    balance_config = replace(config, difference_type="absolute")
    tests, imbalanced = {}, []
    for variant, comparison in zip(arms.treatments, comparisons, strict=True):
        if variant.pk not in adjusted or comparison.fixed.method in ("fisher_exact", "pooled_variance"):
            continue
        treatment = adjusted[variant.pk]
        result = regression_adjusted_test(control, treatment, config)
        if result.error is not None or not result.theta or result.adjusted.error is not None:
            continue
        balance = fixed_horizon_test(control.pre, treatment.pre, balance_config)
        if balance.p_value is not None and balance.p_value < BALANCE_ALPHA:
            imbalanced.append(variant.key)
            continue
        tests[variant.key] = result
    return tests, imbalanced


def _cuped_bayesian(test: RegressionAdjustedResult, control: Statistic, config: StatsConfig) -> BayesianResult:
    """The Bayesian summary of the CUPED-adjusted lift (the statistics only give it its scale)."""
    lift = test.adjusted.relative if config.difference_type == "relative" else test.adjusted.absolute
    if lift.estimate is None or not lift.std_error:
        return BayesianResult(
            difference_type=config.difference_type,
            alpha=config.alpha,
            prior_proper=config.prior_proper,
            error=lift.reason or "the adjusted lift is undefined",
        )
    return bayesian_test(control, control, config, lift=(lift.estimate, lift.std_error))


def _unadjusted(fixed: FixedHorizonResult, p_adjusted: float | None) -> UnadjustedLift:
    return UnadjustedLift(
        absolute=fixed.absolute.estimate,
        relative=fixed.relative.estimate,
        ci=pair(fixed.relative.ci_lower, fixed.relative.ci_upper),
        ci_absolute=pair(fixed.absolute.ci_lower, fixed.absolute.ci_upper),
        p_value=fixed.p_value,
        p_value_adjusted=p_adjusted,
        estimate=fixed.estimate,
        estimate_ci=pair(fixed.ci_lower, fixed.ci_upper),
    )


def metric_analyse(
    *,
    experiment: Experiment,
    metric: str,
    arms: Arms,
    looks: list[Look],
    options: ReportOptions,
    with_timeline: bool = True,
    plan: GroupSequentialPlan | None = None,
    guardrail: bool = False,
    adjusted: Mapping[int, AdjustedStatistic] | None = None,
) -> MetricAnalysis:
    """The metric's value per variant and, per treatment, every lift, interval, p-value and decision;
    with `with_timeline`, also each treatment's relative lift and always-valid interval at every look.

    One scale per metric (`analytics.stats.metric_scale`): the headline estimate, both intervals,
    the p-values and the sequential decision all read the same lift. A relative metric whose
    control has no events yet has no relative lift: it is tested on the absolute lift until it has.

    `adjusted` (variant id -> regression-adjusted statistic of the current totals): CUPED. The lift,
    its intervals, p-values, chance to beat control and the last look's sequential test then read the
    adjusted estimate; the unadjusted one stays beside it (`Lift.unadjusted`). Earlier looks are unadjusted.
    """
    # One statistic object per look and variant, shared by every test that reads it (they memoize).
    per_look = [{v.pk: look.of(v.pk).statistic(metric) for v in arms.all} for look in looks]
    control_stat = per_look[-1][arms.control.pk]
    treatment_stats = {v.key: per_look[-1][v.pk] for v in arms.treatments}
    scale: Scale = metric_scale(metric)  # type: ignore[assignment]
    scale_note = None
    if scale == "relative" and _zero_baseline(control_stat):
        scale = "absolute"
        scale_note = "the control has no events yet, so the relative lift is undefined: tested on the absolute lift"
    config, tau = metric_config(experiment, metric, options, scale=scale)
    config_rel, _ = metric_config(experiment, metric, options, scale="relative")
    config_abs, _ = metric_config(experiment, metric, options, scale="absolute")
    analysis = analyze_metric(
        control_stat, treatment_stats, metric=metric, control_name=arms.control.key, config=config
    )
    values = {arms.control.key: analysis.control.mean}
    values.update({summary.name: summary.mean for summary in analysis.treatments})
    cuped, cuped_imbalanced = _cuped_tests(adjusted, arms, config, analysis.comparisons)
    fixed_by_key = {
        variant.key: cuped[variant.key].adjusted if variant.key in cuped else comparison.fixed
        for variant, comparison in zip(arms.treatments, analysis.comparisons, strict=True)
    }
    fixed_adjusted_p = adjust_p_values(
        [fixed_by_key[v.key].p_value for v in arms.treatments], options.correction_for(experiment)
    )

    paths_rel: dict[str, list[SequentialResult]] = {}
    paths_abs: dict[str, list[SequentialResult]] = {}
    for variant in arms.treatments:
        pairs = [(stats[arms.control.pk], stats[variant.pk]) for stats in per_look]
        test = cuped.get(variant.key)
        final_rel, final_abs = (test.adjusted.relative, test.adjusted.absolute) if test else (None, None)
        paths_rel[variant.key] = _path(pairs, config_rel, plan, arms.control.key, variant.key, final_rel)
        if scale == "absolute":
            paths_abs[variant.key] = _path(pairs, config_abs, plan, arms.control.key, variant.key, final_abs)
    paths_head = paths_abs if scale == "absolute" else paths_rel
    head_finals = [_final(paths_head[v.key]) for v in arms.treatments]
    sequential_adjusted = adjust_p_values(
        [r.p_value if r else None for r in head_finals], options.correction_for(experiment)
    )

    lifts: dict[str, Lift] = {}
    for variant, comparison, head, seq_adjusted, p_adjusted in zip(
        arms.treatments, analysis.comparisons, head_finals, sequential_adjusted, fixed_adjusted_p, strict=True
    ):
        rel = _final(paths_rel[variant.key])
        test = cuped.get(variant.key)
        seq_abs = (
            head
            if scale == "absolute"
            else sequential_test(  # shown, not decided on
                control_stat,
                treatment_stats[variant.key],
                config_abs,
                lift=(test.adjusted.absolute.estimate, test.adjusted.absolute.std_error)
                if test and test.adjusted.absolute.std_error
                else None,
            )
        )
        fixed = fixed_by_key[variant.key]
        top = headline(comparison) if test is None else headline(replace(comparison, fixed=fixed))
        bayesian = comparison.bayesian if test is None else _cuped_bayesian(test, control_stat, config)
        warning = head.warning if head else None
        # After the plan's final look the decision is the final look's: that warning does not hold it back.
        blocking = warning if warning and not warning.startswith("after the planned final look") else None
        lifts[variant.key] = Lift(
            absolute=fixed.absolute.estimate,
            relative=fixed.relative.estimate,
            ci=pair(fixed.relative.ci_lower, fixed.relative.ci_upper),
            ci_absolute=pair(fixed.absolute.ci_lower, fixed.absolute.ci_upper),
            scale=scale,
            p_value=fixed.p_value,
            p_value_adjusted=p_adjusted,
            sequential_ci=pair(rel.ci_lower, rel.ci_upper) if rel else None,
            sequential_ci_absolute=pair(seq_abs.ci_lower, seq_abs.ci_upper) if seq_abs else None,
            sequential_p_value=head.p_value if head else None,
            sequential_p_value_adjusted=seq_adjusted,
            sequential_decision=head.decision if head else None,
            chance_to_beat_control=bayesian.chance_to_beat_control,
            expected_loss=bayesian.expected_loss_treatment,
            significant=bool(p_adjusted is not None and p_adjusted < experiment.alpha),
            sequential_significant=bool(
                seq_adjusted is not None and seq_adjusted < experiment.alpha and blocking is None
            ),
            warning=warning,
            error=fixed.error or (head.error if head else None),
            estimate=top.estimate,
            estimate_ci=pair(top.ci_lower, top.ci_upper),
            estimate_sequential_ci=pair(head.ci_lower, head.ci_upper) if head else None,
            method=fixed.method,
            method_warning=fixed.warning,
            unadjusted=_unadjusted(comparison.fixed, comparison.p_value_adjusted) if test else None,
            cuped=CupedLift(theta=test.theta, variance_reduction=test.variance_reduction) if test else None,
        )

    timeline = [
        {
            key: LookLift(
                relative=path[index].estimate,
                sequential_ci=pair(path[index].ci_lower, path[index].ci_upper),
                sequential_p_value=paths_head[key][index].p_value,
            )
            for key, path in paths_rel.items()
        }
        for index in range(len(looks) if with_timeline else 0)
    ]
    return MetricAnalysis(
        scale=scale,
        values=values,
        lifts=lifts,
        error=analysis.error,
        per_look=timeline,
        settings=MetricSettings(scale=scale, scale_note=scale_note, msprt_tau=tau, guardrail=guardrail),
        cuped_imbalanced=tuple(cuped_imbalanced),
    )
