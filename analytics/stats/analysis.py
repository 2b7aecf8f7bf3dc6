"""One call per metric (or per experiment) that returns everything the report shows.

For one metric, control vs each treatment arm: the fixed-horizon test (absolute and
relative lift, CI, p-value), the configured sequential test (interval, p-value, decision),
the Bayesian summary (chance to beat control, expected loss), and the raw and adjusted
p-values across the arms (Holm by default, or Benjamini-Hochberg). For an experiment, also
the SRM check of units per variant against the configured weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from analytics.stats.bayesian import BayesianResult, bayesian_test
from analytics.stats.config import DEFAULT_CONFIG, StatsConfig
from analytics.stats.frequentist import FixedHorizonResult, fixed_horizon_test
from analytics.stats.multiple import adjust_p_values
from analytics.stats.results import ResultMixin, finite_or_none
from analytics.stats.sequential import SequentialResult, sequential_test
from analytics.stats.srm import SrmResult, srm_test
from analytics.stats.statistics import (
    ProportionStatistic,
    RatioStatistic,
    SampleMeanStatistic,
    Statistic,
    safe_mean,
    safe_n,
    statistic_problem,
)


@dataclass(frozen=True)
class ArmSummary(ResultMixin):
    """What the report shows for one arm of one metric."""

    name: str
    kind: str | None
    n: int | None
    mean: float | None
    std_dev: float | None  # per unit (delta method for ratios)
    numerator_total: float | None  # sum for mean metrics, numerator sum for ratios
    denominator_total: float | None  # ratios only
    error: str | None = None


def summarize_arm(name: str, stat: Statistic) -> ArmSummary:
    """Arm summary; the values stay None where the statistic is invalid or undefined."""
    reason = statistic_problem(stat, name)
    if not isinstance(stat, SampleMeanStatistic | ProportionStatistic | RatioStatistic) or stat.problem():
        return ArmSummary(name, getattr(stat, "kind", None), safe_n(stat), None, None, None, None, reason)
    variance = finite_or_none(stat.variance)
    numerator = stat.m_sum if isinstance(stat, RatioStatistic) else stat.sum
    denominator = stat.d_sum if isinstance(stat, RatioStatistic) else None
    return ArmSummary(
        name=name,
        kind=stat.kind,
        n=safe_n(stat),
        mean=safe_mean(stat),
        std_dev=None if variance is None else variance**0.5,
        numerator_total=finite_or_none(numerator),
        denominator_total=finite_or_none(denominator),
        error=reason,
    )


@dataclass(frozen=True)
class Comparison(ResultMixin):
    """Control vs one treatment arm for one metric."""

    treatment: str
    fixed: FixedHorizonResult
    sequential: SequentialResult
    bayesian: BayesianResult
    p_value: float | None  # raw fixed-horizon p-value of the configured lift
    p_value_adjusted: float | None  # adjusted across the arms of this metric
    sequential_p_value_adjusted: float | None
    significant_adjusted: bool | None


@dataclass(frozen=True)
class MetricAnalysis(ResultMixin):
    metric: str
    correction: str
    config: StatsConfig
    control: ArmSummary
    treatments: tuple[ArmSummary, ...]
    comparisons: tuple[Comparison, ...]
    error: str | None = None


def analyze_metric(
    control: Statistic,
    treatments: Mapping[str, Statistic] | Sequence[Statistic],
    *,
    metric: str = "",
    control_name: str = "control",
    config: StatsConfig = DEFAULT_CONFIG,
    information_fractions: Sequence[float] | None = None,
    look: int | None = None,
) -> MetricAnalysis:
    """Analyse one metric: control vs each treatment, with adjusted p-values across arms.

    ``treatments``: name -> statistic (or a sequence, named ``treatment_1``...). The
    group-sequential method needs ``information_fractions`` or ``look`` (see
    :func:`~analytics.stats.sequential.group_sequential_test`); the others ignore them.
    """
    named = (
        dict(treatments)
        if isinstance(treatments, Mapping)
        else {f"treatment_{i}": stat for i, stat in enumerate(treatments, start=1)}
    )
    control_summary = summarize_arm(control_name, control)
    arm_summaries = tuple(summarize_arm(name, stat) for name, stat in named.items())
    if not named:
        return MetricAnalysis(
            metric=metric,
            correction=config.correction,
            config=config,
            control=control_summary,
            treatments=(),
            comparisons=(),
            error="only one arm: there is no treatment to compare with control",
        )
    fixed = [fixed_horizon_test(control, stat, config) for stat in named.values()]
    sequential = [
        sequential_test(control, stat, config, information_fractions=information_fractions, look=look)
        for stat in named.values()
    ]
    bayesian = [bayesian_test(control, stat, config) for stat in named.values()]
    adjusted = adjust_p_values([r.p_value for r in fixed], config.correction)
    sequential_adjusted = adjust_p_values([r.p_value for r in sequential], config.correction)
    comparisons = tuple(
        Comparison(
            treatment=name,
            fixed=f,
            sequential=s,
            bayesian=b,
            p_value=f.p_value,
            p_value_adjusted=adj,
            sequential_p_value_adjusted=seq_adj,
            significant_adjusted=None if adj is None else adj < config.alpha,
        )
        for name, f, s, b, adj, seq_adj in zip(
            named, fixed, sequential, bayesian, adjusted, sequential_adjusted, strict=True
        )
    )
    return MetricAnalysis(
        metric=metric,
        correction=config.correction,
        config=config,
        control=control_summary,
        treatments=arm_summaries,
        comparisons=comparisons,
    )


@dataclass(frozen=True)
class ExperimentAnalysis(ResultMixin):
    srm: SrmResult
    metrics: tuple[MetricAnalysis, ...]


def analyze_experiment(
    *,
    variant_names: Sequence[str],
    weights: Sequence[float],
    units: Sequence[int],
    metrics: Mapping[str, Sequence[Statistic]],
    config: StatsConfig = DEFAULT_CONFIG,
    information_fractions: Sequence[float] | None = None,
    look: int | None = None,
) -> ExperimentAnalysis:
    """SRM plus :func:`analyze_metric` for every metric; variant 0 is the control.

    ``metrics`` maps a metric name to one statistic per variant, in ``variant_names`` order.
    """
    srm = srm_test(units, weights, names=variant_names, threshold=config.srm_threshold)
    analyses = []
    for metric, stats in metrics.items():
        if len(stats) != len(variant_names) or not stats:
            analyses.append(
                MetricAnalysis(
                    metric=metric,
                    correction=config.correction,
                    config=config,
                    control=ArmSummary(
                        variant_names[0] if variant_names else "control", None, None, None, None, None, None
                    ),
                    treatments=(),
                    comparisons=(),
                    error=f"expected {len(variant_names)} statistics (one per variant), got {len(stats)}",
                )
            )
            continue
        analyses.append(
            analyze_metric(
                stats[0],
                dict(zip(variant_names[1:], stats[1:], strict=True)),
                metric=metric,
                control_name=variant_names[0],
                config=config,
                information_fractions=information_fractions,
                look=look,
            )
        )
    return ExperimentAnalysis(srm=srm, metrics=tuple(analyses))
