"""Arms without conversions are still tested: Fisher's exact test for proportions, pooled variance otherwise."""

import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from analytics.stats import (
    ProportionStatistic,
    RatioStatistic,
    SampleMeanStatistic,
    StatsConfig,
    bayesian_test,
    fixed_horizon_test,
    sequential_test,
)
from analytics.stats.validate_analysis import zero_event_simulation

ABSOLUTE = StatsConfig(difference_type="absolute")


def test_proportion_without_conversions_uses_fisher():
    control, treatment = ProportionStatistic(n=2000, sum=9), ProportionStatistic(n=2000, sum=0)
    result = fixed_horizon_test(control, treatment)
    assert result.method == "fisher_exact" and "zero variance in treatment" in result.warning
    expected = sps.fisher_exact([[0, 2000], [9, 1991]]).pvalue
    assert result.p_value == pytest.approx(expected, rel=1e-12)  # 0.0038
    assert result.p_value < 0.05 and result.significant
    assert result.estimate == pytest.approx(-1.0)  # -100 %
    # The interval uses the pooled standard error, p(1 - p) at the pooled rate.
    pooled = 9 / 4000 * (1 - 9 / 4000)
    assert result.absolute.std_error == pytest.approx(math.sqrt(pooled * 2 / 2000), rel=1e-12)
    greater = fixed_horizon_test(control, treatment, StatsConfig(sides="less"))
    assert greater.p_value == pytest.approx(sps.fisher_exact([[0, 2000], [9, 1991]], alternative="less").pvalue)
    json.dumps(result.to_dict(), allow_nan=False)


def test_control_without_conversions_leaves_the_absolute_lift():
    result = fixed_horizon_test(ProportionStatistic(n=2000, sum=0), ProportionStatistic(n=2000, sum=8), ABSOLUTE)
    assert result.error is None and result.p_value == pytest.approx(0.0077579, rel=1e-4)
    assert "baseline (control) mean is zero" in result.relative.reason


def test_revenue_without_orders_uses_the_pooled_variance():
    rng = np.random.default_rng(8)
    control = np.where(rng.random(3000) < 0.01, rng.gamma(2.0, 30.0, 3000), 0.0)
    treatment = np.zeros(2500)
    result = fixed_horizon_test(
        SampleMeanStatistic.from_values(control), SampleMeanStatistic.from_values(treatment), ABSOLUTE
    )
    pooled = np.concatenate([control, treatment]).var(ddof=1)
    assert result.method == "pooled_variance" and result.dof == 5498
    assert result.absolute.std_error == pytest.approx(math.sqrt(pooled / 3000 + pooled / 2500), rel=1e-9)
    t = result.absolute.estimate / result.absolute.std_error
    assert result.p_value == pytest.approx(2 * sps.t.sf(abs(t), 5498), rel=1e-9)


def test_ratio_without_clicks_is_tested():
    control = RatioStatistic(n=1000, m_sum=40, m_sum_squares=44, d_sum=2000, d_sum_squares=5000, m_d_sum_of_products=95)
    treatment = RatioStatistic(n=1000, m_sum=0, m_sum_squares=0, d_sum=1990, d_sum_squares=4900, m_d_sum_of_products=0)
    result = fixed_horizon_test(control, treatment)
    assert result.method == "pooled_variance" and result.p_value < 1e-6 and result.estimate == pytest.approx(-1.0)
    for config in (StatsConfig(min_units_per_arm=0), StatsConfig(sequential_method="msprt", min_units_per_arm=0)):
        assert sequential_test(control, treatment, config).decision == "stop_decrease"
    assert bayesian_test(control, treatment).chance_to_beat_control < 1e-6


def test_both_arms_without_conversions_have_nothing_to_test():
    result = fixed_horizon_test(ProportionStatistic(n=500, sum=0), ProportionStatistic(n=600, sum=0), ABSOLUTE)
    assert "zero variance" in result.error and result.p_value is None and result.method is None


def test_simulated_false_positive_rate_with_rare_conversions():
    """A/A, 2,000 runs, 2,000 units per arm, 0.2 % conversion: 3.7 % of runs have an arm with none."""
    result = zero_event_simulation(runs=2000, rate=0.002)
    assert result.zero_arm_share > 0.02 and result.tested_share == 1.0
    assert result.false_positive_rate <= 0.05 + result.margin  # 3.35 % (Fisher is conservative)
    rare = zero_event_simulation(runs=1000, rate=0.0005)  # expected one conversion per arm
    assert rare.zero_arm_share > 0.5 and rare.false_positive_rate <= 0.05


def test_simulated_false_positive_rate_for_revenue_without_orders():
    """Revenue per unit, A/A, 0.2 % order rate, 1,000 runs: the pooled-variance t test stays below 5 %."""
    result = zero_event_simulation(runs=1000, rate=0.002, revenue=True)
    assert result.zero_arm_share > 0.02 and result.tested_share == 1.0
    assert result.false_positive_rate <= 0.05 + result.margin  # 3.05 % at 2,000 runs


def test_fisher_on_huge_counts_is_fast_and_falls_back_beyond_its_support():
    """scipy's fisher_exact took minutes on n = 1e12; ours sums the hypergeometric pmf directly."""
    huge = fixed_horizon_test(ProportionStatistic(n=10**12, sum=0), ProportionStatistic(n=10**12, sum=5), ABSOLUTE)
    assert huge.method == "fisher_exact" and huge.p_value == pytest.approx(2 / 32, rel=0.02)  # ~ Binomial(5, 1/2)
    wide = fixed_horizon_test(ProportionStatistic(n=10**15, sum=0), ProportionStatistic(n=10**15, sum=10**9), ABSOLUTE)
    assert wide.p_value is not None and wide.p_value < 1e-12  # support too wide: the pooled normal test
