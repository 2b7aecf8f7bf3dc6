"""Pure statistics engine for Copylift experiments (no Django imports).

In the style of GrowthBook's gbstats: frozen dataclasses of sufficient statistics in, one
explicit :class:`StatsConfig`, functions that return frozen result dataclasses whose
``to_dict()`` is JSON-safe (plain numbers or None, never NaN or infinity). Degenerate data
(no units, one unit, zero baseline, zero variance, one arm, inconsistent sums) never raises:
results carry ``error``/``reason`` and None values. Invalid *settings* raise ``ValueError``.

Public API
----------
Sufficient statistics (:mod:`.statistics`), built from per-unit totals (unit = visitor):
    SampleMeanStatistic(n, sum, sum_squares)             orders / revenue per unit
    ProportionStatistic(n, sum)                          0/1 per unit
    RatioStatistic(n, m_sum, m_sum_squares, d_sum, d_sum_squares, m_d_sum_of_products)
                                                         CTR, CVR, orders / clicks, ATC / clicks
    .mean, .variance (per unit; delta method for ratios), .problem(), .from_values / .from_units
Configuration (:mod:`.config`):
    StatsConfig(alpha, sides, difference_type, test, sequential_method, sequential_tuning_n,
                msprt_tau, planned_looks, min_units_per_arm, correction, srm_threshold,
                prior_proper, prior_mean, prior_variance)
One call for the report (:mod:`.analysis`):
    analyze_metric(control, treatments, *, metric, control_name, config, information_fractions,
                   look) -> MetricAnalysis(control, treatments, comparisons: Comparison(fixed,
                   sequential, bayesian, p_value, p_value_adjusted, sequential_p_value_adjusted,
                   significant_adjusted), error)
    analyze_experiment(*, variant_names, weights, units, metrics, config, ...) -> ExperimentAnalysis(srm, metrics)
Individual tests:
    fixed_horizon_test(control, treatment, config) -> FixedHorizonResult    (:mod:`.frequentist`)
    sequential_test / confidence_sequence_test / msprt_test / group_sequential_test
        -> SequentialResult; sequential_path(looks, config) for a daily history (:mod:`.sequential`)
    group_sequential_boundaries(fractions, alpha), crossing_probability(...),
        repeated_p_value(z, fractions)                                     (:mod:`.group_sequential`)
    bayesian_test(control, treatment, config) -> BayesianResult             (:mod:`.bayesian`)
    srm_test(units, weights, *, names, threshold) -> SrmResult              (:mod:`.srm`)
    adjust_p_values(p_values, method="holm"|"bh"|"none")                    (:mod:`.multiple`)
    sample_size(*, baseline_mean, baseline_variance, relative_lift, ...) -> SampleSizeResult,
        days_left(control, treatment, *, relative_lift, days_elapsed, ...) -> DaysLeftResult,
        power_at(n_pair, ...)                                                (:mod:`.power`)
Analyst-grade methods (docs/notes/analysis_methods.md):
    RegressionAdjustedStatistic(n, post, pre, post_pre_sum_of_products), RegressionAdjustedRatioStatistic(
        n, post, pre, m_a/m_b/d_a/d_b_sum_of_products); regression_adjusted_test(control, treatment, config)
        -> RegressionAdjustedResult(theta, variance_reduction, adjusted, unadjusted)        (:mod:`.cuped`)
    zero-variance arms (no conversions): fixed_horizon_test falls back to Fisher's exact test /
        pooled variance (``method``, ``warning``); sequential and Bayesian tests pool too
    cap_arms(values_by_arm, *, cap | percentile, ignore_zeros) -> (capped arrays, CappingResult),
        cap_threshold, cap_values                                              (:mod:`.capping`)
    power_at / sample_size(..., treatment_variance, looks): treatment's variance; cs/mSPRT power
        by the horizon                                                 (:mod:`.power`, :mod:`.power_model`)
    msprt_tau_for_mde(mde, *, scale, baseline_mean, power, looks, config) -> MsprtTuning, tuned_config
                                                                           (:mod:`.msprt_tuning`)
    observed_information_schedule(units_by_look, planned_units, alpha, *, ended) -> InformationSchedule,
        observed_group_sequential_path(looks, *, planned_units, config, ended)
                                                   (:mod:`.group_sequential`, :mod:`.observed_sequential`)
    metric_scale, config_for_metric, analyze_metric_on_scale, headline(comparison) -> Headline (:mod:`.scale`)
Validation: :mod:`.simulation` (seeded vectorised simulations),
``python -m analytics.stats.validate`` (prints false-positive rates, coverage and power) and
``python -m analytics.stats.validate_analysis`` (the analyst-grade methods).
"""

from analytics.stats.analysis import (
    ArmSummary,
    Comparison,
    ExperimentAnalysis,
    MetricAnalysis,
    analyze_experiment,
    analyze_metric,
)
from analytics.stats.bayesian import BayesianResult, bayesian_test
from analytics.stats.capping import CappingResult, CapSummary, cap_arms, cap_threshold, cap_values
from analytics.stats.config import DEFAULT_CONFIG, StatsConfig
from analytics.stats.cuped import (
    RegressionAdjustedRatioStatistic,
    RegressionAdjustedResult,
    RegressionAdjustedStatistic,
    pooled_theta,
    regression_adjusted_test,
)
from analytics.stats.frequentist import FixedHorizonResult, LiftEstimate, fixed_horizon_test
from analytics.stats.group_sequential import (
    InformationSchedule,
    crossing_probability,
    group_sequential_boundaries,
    observed_information_schedule,
    repeated_p_value,
)
from analytics.stats.msprt_tuning import MsprtTuning, msprt_tau_for_mde, tuned_config
from analytics.stats.multiple import adjust_p_values
from analytics.stats.observed_sequential import observed_group_sequential_path
from analytics.stats.power import DaysLeftResult, SampleSizeResult, days_left, power_at, sample_size
from analytics.stats.scale import Headline, analyze_metric_on_scale, config_for_metric, headline, metric_scale
from analytics.stats.sequential import (
    SequentialResult,
    confidence_sequence_test,
    group_sequential_test,
    msprt_test,
    sequential_path,
    sequential_test,
)
from analytics.stats.srm import SrmResult, SrmRow, srm_test
from analytics.stats.statistics import ProportionStatistic, RatioStatistic, SampleMeanStatistic, Statistic

__all__ = [
    "DEFAULT_CONFIG",
    "ArmSummary",
    "BayesianResult",
    "CapSummary",
    "CappingResult",
    "Comparison",
    "DaysLeftResult",
    "ExperimentAnalysis",
    "FixedHorizonResult",
    "Headline",
    "InformationSchedule",
    "LiftEstimate",
    "MetricAnalysis",
    "MsprtTuning",
    "ProportionStatistic",
    "RatioStatistic",
    "RegressionAdjustedRatioStatistic",
    "RegressionAdjustedResult",
    "RegressionAdjustedStatistic",
    "SampleMeanStatistic",
    "SampleSizeResult",
    "SequentialResult",
    "SrmResult",
    "SrmRow",
    "Statistic",
    "StatsConfig",
    "adjust_p_values",
    "analyze_experiment",
    "analyze_metric",
    "analyze_metric_on_scale",
    "bayesian_test",
    "cap_arms",
    "cap_threshold",
    "cap_values",
    "confidence_sequence_test",
    "config_for_metric",
    "crossing_probability",
    "days_left",
    "fixed_horizon_test",
    "group_sequential_boundaries",
    "group_sequential_test",
    "headline",
    "metric_scale",
    "msprt_tau_for_mde",
    "msprt_test",
    "observed_group_sequential_path",
    "observed_information_schedule",
    "pooled_theta",
    "power_at",
    "regression_adjusted_test",
    "repeated_p_value",
    "sample_size",
    "sequential_path",
    "sequential_test",
    "srm_test",
    "tuned_config",
]
