"""One scale per metric: the headline interval, p-value and decision all on the same lift.

Every test computes both lifts, but the *headline* of each (estimate, interval, p-value,
sequential decision, chance to beat control) follows ``StatsConfig.difference_type``. A report
that ran one experiment-wide config could show a relative interval next to an absolute
decision, or a relative mSPRT that cannot reject on revenue. The rule here:

* a configured scale for the metric wins;
* otherwise revenue per unit (any metric whose name mentions revenue) is read on the absolute
  scale: money per visitor is what the business adds up, its relative lift divides by a noisy,
  mostly-zero mean (mildly anti-conservative, see test_validation.py), and its mSPRT tau is
  tuned on money (:mod:`analytics.stats.msprt_tuning`);
* everything else (CTR, CVR, rates, orders per unit) on the relative scale.

``config_for_metric`` returns the config to analyse the metric with (so the fixed, sequential
and Bayesian results share one scale), ``analyze_metric_on_scale`` runs the analysis with it,
and ``headline`` picks the numbers to show, refusing a comparison whose parts disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from analytics.stats.analysis import Comparison, MetricAnalysis, analyze_metric
from analytics.stats.config import DEFAULT_CONFIG, DifferenceType, StatsConfig
from analytics.stats.msprt_tuning import MsprtTuning
from analytics.stats.results import ResultMixin
from analytics.stats.statistics import Statistic


def metric_scale(metric: str, *, configured: DifferenceType | None = None) -> DifferenceType:
    """The scale of ``metric``'s headline: ``configured`` if given, else the rule above."""
    if configured is not None:
        if configured not in ("relative", "absolute"):
            raise ValueError("scale must be 'relative' or 'absolute'")
        return configured
    return "absolute" if "revenue" in metric.lower() else "relative"


def config_for_metric(
    config: StatsConfig = DEFAULT_CONFIG,
    *,
    metric: str,
    scale: DifferenceType | None = None,
    msprt_tuning: MsprtTuning | None = None,
) -> StatsConfig:
    """``config`` on the metric's scale (and with its tuned mSPRT tau, if given)."""
    tuned = config if msprt_tuning is None else replace(config, msprt_tau=msprt_tuning.tau)
    return replace(tuned, difference_type=metric_scale(metric, configured=scale))


def analyze_metric_on_scale(
    control: Statistic,
    treatments: Mapping[str, Statistic] | Sequence[Statistic],
    *,
    metric: str,
    config: StatsConfig = DEFAULT_CONFIG,
    scale: DifferenceType | None = None,
    msprt_tuning: MsprtTuning | None = None,
    **kwargs: Any,
) -> MetricAnalysis:
    """:func:`~analytics.stats.analysis.analyze_metric` with :func:`config_for_metric`'s config."""
    metric_config = config_for_metric(config, metric=metric, scale=scale, msprt_tuning=msprt_tuning)
    return analyze_metric(control, treatments, metric=metric, config=metric_config, **kwargs)


@dataclass(frozen=True)
class Headline(ResultMixin):
    """What a report shows first for one arm of one metric, all on ``scale``."""

    treatment: str
    scale: str
    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None
    p_value_adjusted: float | None
    significant_adjusted: bool | None
    sequential_ci_lower: float | None
    sequential_ci_upper: float | None
    sequential_p_value: float | None
    decision: str | None  # the sequential decision
    chance_to_beat_control: float | None
    error: str | None = None


def headline(comparison: Comparison) -> Headline:
    """The headline numbers of one comparison; an error if its parts are on different scales."""
    scales = {comparison.fixed.difference_type, comparison.sequential.difference_type}
    scales.add(comparison.bayesian.difference_type)
    if len(scales) != 1:
        return Headline(
            treatment=comparison.treatment,
            scale="mixed",
            estimate=None,
            ci_lower=None,
            ci_upper=None,
            p_value=None,
            p_value_adjusted=None,
            significant_adjusted=None,
            sequential_ci_lower=None,
            sequential_ci_upper=None,
            sequential_p_value=None,
            decision=None,
            chance_to_beat_control=None,
            error=f"results on different scales: {sorted(scales)}",
        )
    fixed, sequential = comparison.fixed, comparison.sequential
    return Headline(
        treatment=comparison.treatment,
        scale=scales.pop(),
        estimate=fixed.estimate,
        ci_lower=fixed.ci_lower,
        ci_upper=fixed.ci_upper,
        p_value=fixed.p_value,
        p_value_adjusted=comparison.p_value_adjusted,
        significant_adjusted=comparison.significant_adjusted,
        sequential_ci_lower=sequential.ci_lower,
        sequential_ci_upper=sequential.ci_upper,
        sequential_p_value=sequential.p_value,
        decision=sequential.decision,
        chance_to_beat_control=comparison.bayesian.chance_to_beat_control,
        error=fixed.error or sequential.error,
    )
