"""Per-metric analysis: each variant's value and, per treatment, every lift, interval and p-value."""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.report.looks import Look
from analytics.report.options import ABSOLUTE_SCALE_METRICS, ReportOptions
from analytics.report.types import Interval, Lift, LookLift, Scale
from analytics.stats import SequentialResult, adjust_p_values, analyze_metric, sequential_path, sequential_test
from analytics.stats.results import finite_or_none
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


def pair(lower: float | None, upper: float | None) -> Interval | None:
    if lower is None and upper is None:
        return None
    return (finite_or_none(lower), finite_or_none(upper))


def _final(path: list[SequentialResult]) -> SequentialResult | None:
    return path[-1] if path else None


def metric_analyse(
    *,
    experiment: Experiment,
    metric: str,
    arms: Arms,
    looks: list[Look],
    options: ReportOptions,
    with_timeline: bool = True,
) -> MetricAnalysis:
    """The metric's value per variant and, per treatment, every lift, interval, p-value and decision;
    with `with_timeline`, also each treatment's relative lift and always-valid interval at every look."""
    scale: Scale = "absolute" if metric in ABSOLUTE_SCALE_METRICS else "relative"
    config_rel = options.config(experiment)
    config_abs = options.config(experiment, scale="absolute")
    config = config_abs if scale == "absolute" else config_rel
    # One statistic object per look and variant, shared by every test that reads it (they memoize).
    per_look = [{v.pk: look.of(v.pk).statistic(metric) for v in arms.all} for look in looks]
    control_stat = per_look[-1][arms.control.pk]
    treatment_stats = {v.key: per_look[-1][v.pk] for v in arms.treatments}
    analysis = analyze_metric(
        control_stat, treatment_stats, metric=metric, control_name=arms.control.key, config=config
    )
    values = {arms.control.key: analysis.control.mean}
    values.update({summary.name: summary.mean for summary in analysis.treatments})

    paths_rel: dict[str, list[SequentialResult]] = {}
    paths_head: dict[str, list[SequentialResult]] = {}
    for variant in arms.treatments:
        pairs = [(stats[arms.control.pk], stats[variant.pk]) for stats in per_look]
        paths_rel[variant.key] = sequential_path(pairs, config_rel)
        paths_head[variant.key] = sequential_path(pairs, config_abs) if scale == "absolute" else paths_rel[variant.key]
    head_finals = [_final(paths_head[v.key]) for v in arms.treatments]
    sequential_adjusted = adjust_p_values([r.p_value if r else None for r in head_finals], options.correction)

    lifts: dict[str, Lift] = {}
    for variant, comparison, head, seq_adjusted in zip(
        arms.treatments, analysis.comparisons, head_finals, sequential_adjusted, strict=True
    ):
        rel = _final(paths_rel[variant.key])
        seq_abs = (
            head if scale == "absolute" else sequential_test(control_stat, treatment_stats[variant.key], config_abs)
        )
        fixed = comparison.fixed
        warning = head.warning if head else None
        lifts[variant.key] = Lift(
            absolute=fixed.absolute.estimate,
            relative=fixed.relative.estimate,
            ci=pair(fixed.relative.ci_lower, fixed.relative.ci_upper),
            ci_absolute=pair(fixed.absolute.ci_lower, fixed.absolute.ci_upper),
            scale=scale,
            p_value=comparison.p_value,
            p_value_adjusted=comparison.p_value_adjusted,
            sequential_ci=pair(rel.ci_lower, rel.ci_upper) if rel else None,
            sequential_ci_absolute=pair(seq_abs.ci_lower, seq_abs.ci_upper) if seq_abs else None,
            sequential_p_value=head.p_value if head else None,
            sequential_p_value_adjusted=seq_adjusted,
            sequential_decision=head.decision if head else None,
            chance_to_beat_control=comparison.bayesian.chance_to_beat_control,
            expected_loss=comparison.bayesian.expected_loss_treatment,
            significant=bool(comparison.significant_adjusted),
            sequential_significant=bool(
                seq_adjusted is not None and seq_adjusted < experiment.alpha and warning is None
            ),
            warning=warning,
            error=fixed.error or (head.error if head else None),
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
    return MetricAnalysis(scale=scale, values=values, lifts=lifts, error=analysis.error, per_look=timeline)
