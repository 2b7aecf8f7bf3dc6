"""CUPED / regression adjustment: gbstats agreement, the ratio version on raw units, simulation."""

import json
import math

import numpy as np
import pytest

from analytics.stats import ProportionStatistic, RatioStatistic, SampleMeanStatistic, StatsConfig, sequential_test
from analytics.stats.cuped import (
    RegressionAdjustedRatioStatistic,
    RegressionAdjustedStatistic,
    pooled_theta,
    regression_adjusted_sequential_test,
    regression_adjusted_test,
)
from analytics.stats.validate_analysis import cuped_simulation
from tests.analytics.stats.gbstats_bridge import assert_agrees, gb_regression_adjusted


def _mean(n, post, post_sq, pre, pre_sq, cross):
    return RegressionAdjustedStatistic(
        n=n,
        post=SampleMeanStatistic(n=n, sum=post, sum_squares=post_sq),
        pre=SampleMeanStatistic(n=n, sum=pre, sum_squares=pre_sq),
        post_pre_sum_of_products=cross,
    )


def _prop(n, post, pre, cross):
    return RegressionAdjustedStatistic(
        n=n,
        post=ProportionStatistic(n=n, sum=post),
        pre=ProportionStatistic(n=n, sum=pre),
        post_pre_sum_of_products=cross,
    )


# Sufficient statistics of simulated revenue (pre-period spend as covariate) and conversion (seed 20261203).
RA_DATASETS = [
    (
        _mean(2000, 31374.83, 1005946.9623, 20349.65, 611458.9505, 559060.3513),
        _mean(2000, 33101.12, 1100236.8676, 20316.42, 606543.5082, 584435.1355),
    ),
    (
        _mean(5000, 79852.9, 2615714.1938, 49543.56, 1498293.4942, 1385388.3747),
        _mean(5200, 82863.56, 2734509.3266, 51224.82, 1469124.5344, 1393181.0996),
    ),
    (_prop(3000, 290, 304, 158), _prop(3000, 361, 312, 179)),
]


@pytest.mark.parametrize("difference_type", ["relative", "absolute"])
@pytest.mark.parametrize(("control", "treatment"), RA_DATASETS)
def test_regression_adjustment_agrees_with_gbstats(control, treatment, difference_type):
    ours = regression_adjusted_test(control, treatment, StatsConfig(difference_type=difference_type))
    theirs = gb_regression_adjusted(control, treatment, difference_type=difference_type)
    assert ours.error is None and theirs.error_message is None
    fixed = ours.adjusted
    assert_agrees(fixed, theirs, lift=fixed.relative if difference_type == "relative" else fixed.absolute)


def test_pinned_regression_adjusted_numbers():
    """gbstats 0.8.0 TwoSidedTTest on RegressionAdjustedStatistic, pinned."""
    result = regression_adjusted_test(*RA_DATASETS[0])
    theirs = gb_regression_adjusted(*RA_DATASETS[0])
    assert result.theta == pytest.approx(0.6065345762407515, rel=1e-9)
    assert result.adjusted.estimate == pytest.approx(0.05566389185115837, rel=1e-9)
    assert result.adjusted.estimate == pytest.approx(theirs.expected, rel=1e-9)
    ci = (result.adjusted.ci_lower, result.adjusted.ci_upper)
    assert ci == pytest.approx((-0.0006646609802088491, 0.11199244468252559), rel=1e-8)
    assert result.adjusted.p_value == pytest.approx(0.05276393987318501, rel=1e-8)
    assert result.unadjusted.p_value == pytest.approx(0.10366677884301276, rel=1e-8)
    # The covariate removes 27.8 % of the variance of the relative lift; the interval shrinks accordingly.
    assert result.variance_reduction == pytest.approx(0.2775908079814772, rel=1e-6)
    adjusted_width = result.adjusted.ci_upper - result.adjusted.ci_lower
    unadjusted_width = result.unadjusted.ci_upper - result.unadjusted.ci_lower
    assert adjusted_width / unadjusted_width == pytest.approx(math.sqrt(1 - result.variance_reduction), rel=0.02)
    json.dumps(result.to_dict(), allow_nan=False)


def test_theta_is_the_pooled_ols_slope():
    rng = np.random.default_rng(4)
    x1, x2 = rng.gamma(0.5, 20, 3000), rng.gamma(0.5, 20, 2500)
    y1, y2 = 0.7 * x1 + rng.normal(0, 5, 3000), 0.7 * x2 + rng.normal(1, 5, 2500)
    a, b = RegressionAdjustedStatistic.from_values(y1, x1), RegressionAdjustedStatistic.from_values(y2, x2)
    x, y = np.concatenate([x1, x2]), np.concatenate([y1, y2])
    assert pooled_theta(a, b) == pytest.approx(np.cov(y, x)[0, 1] / x.var(ddof=1), rel=1e-9)


def test_ratio_adjustment_matches_influence_functions_on_raw_units():
    rng = np.random.default_rng(5)
    arms = []
    for lift in (0.0, 0.1):
        p = rng.choice([0.02, 0.3], 4000)
        imp_pre, imp = 1 + rng.poisson(2, 4000), 1 + rng.poisson(2, 4000)
        arms.append((rng.binomial(imp, p * (1 + lift)), imp, rng.binomial(imp_pre, p), imp_pre))
    stats = [RegressionAdjustedRatioStatistic.from_units(*arm) for arm in arms]
    # Influence functions around each arm's own ratios; theta = pooled slope of psi_post on psi_pre.
    psi = []
    for m, d, a, b in arms:
        r, q = m.sum() / d.sum(), a.sum() / b.sum()
        psi.append(((m - r * d) / d.mean(), (a - q * b) / b.mean()))
    assert stats[0].covariance == pytest.approx(np.cov(psi[0][0], psi[0][1])[0, 1], rel=1e-9)
    assert stats[0].post.variance == pytest.approx(psi[0][0].var(ddof=1), rel=1e-9)
    theta = pooled_theta(*stats)
    result = regression_adjusted_test(*stats, StatsConfig(difference_type="absolute"))
    se = math.sqrt(sum((p - theta * q).var(ddof=1) / p.size for p, q in psi))
    assert result.adjusted.absolute.std_error == pytest.approx(se, rel=2e-3)  # theta pooled, psi per arm
    ratios = [m.sum() / d.sum() - theta * a.sum() / b.sum() for m, d, a, b in arms]
    assert result.adjusted.absolute.estimate == pytest.approx(ratios[1] - ratios[0], rel=1e-9)
    assert result.variance_reduction > 0.1 and result.adjusted.control_mean == pytest.approx(stats[0].mean)


def test_no_covariate_spread_falls_back_to_unadjusted():
    flat = _mean(1000, 500.0, 800.0, 1000.0, 1000.0, 500.0)  # every pre value is 1
    flat_b = _mean(1000, 560.0, 900.0, 1000.0, 1000.0, 560.0)
    result = regression_adjusted_test(flat, flat_b)
    assert result.theta == 0.0 and result.variance_reduction == 0.0
    assert result.adjusted == result.unadjusted


@pytest.mark.parametrize(
    ("control", "reason"),
    [
        (_mean(0, 0, 0, 0, 0, 0), "no units in control"),
        (_mean(100, 100, 5, 10, 10, 1), "inconsistent"),
        (SampleMeanStatistic(n=100, sum=1, sum_squares=1), "not a regression-adjusted statistic"),
        (
            RegressionAdjustedStatistic(
                n=100,
                post=SampleMeanStatistic(n=100, sum=10, sum_squares=10),
                pre=SampleMeanStatistic(n=90, sum=10, sum_squares=10),
                post_pre_sum_of_products=5,
            ),
            "expected 100",
        ),
    ],
)
def test_degenerate_input_gives_a_reason(control, reason):
    result = regression_adjusted_test(control, RA_DATASETS[0][1])
    assert reason in result.error and result.adjusted.p_value is None
    json.dumps(result.to_dict(), allow_nan=False)


def test_mixed_kinds_are_refused():
    ratio = RegressionAdjustedRatioStatistic(
        n=10,
        post=RatioStatistic(n=10, m_sum=1, m_sum_squares=1, d_sum=10, d_sum_squares=10, m_d_sum_of_products=1),
        pre=RatioStatistic(n=10, m_sum=1, m_sum_squares=1, d_sum=10, d_sum_squares=10, m_d_sum_of_products=1),
        m_a_sum_of_products=1,
        m_b_sum_of_products=1,
        d_a_sum_of_products=1,
        d_b_sum_of_products=10,
    )
    assert "different kinds" in regression_adjusted_test(RA_DATASETS[0][0], ratio).error


@pytest.mark.parametrize("metric", ["revenue", "ctr"])
def test_simulated_cuped_keeps_alpha_and_narrows_intervals(metric):
    """A/A, 1,000 seeded runs of 2,000 units per arm (CLI: 2,000 runs, see docs/notes/analysis_methods.md)."""
    result = cuped_simulation(metric, runs=1000, lift=0.0)
    margin = 1.96 * math.sqrt(0.05 * 0.95 / 1000)  # 1.35 points
    assert abs(result.rejection_adjusted - 0.05) <= margin + 0.005
    assert result.coverage_adjusted >= 0.95 - margin - 0.005
    assert result.width_ratio < (0.85 if metric == "revenue" else 0.93)
    assert result.variance_reduction > (0.3 if metric == "revenue" else 0.15)


@pytest.mark.parametrize("method", ["cs", "msprt", "group_sequential"])
def test_sequential_tests_run_on_the_adjusted_lift(method):
    config = StatsConfig(sequential_method=method, min_units_per_arm=0, msprt_tau=0.1)
    control, treatment = RA_DATASETS[0]
    adjusted = regression_adjusted_sequential_test(control, treatment, config, look=28)
    plain = sequential_test(control.post, treatment.post, config, look=28)
    fixed = regression_adjusted_test(control, treatment, config).adjusted
    assert adjusted.error is None and adjusted.estimate == pytest.approx(fixed.estimate, rel=1e-12)
    assert adjusted.std_error == pytest.approx(fixed.relative.std_error, rel=1e-12)
    assert adjusted.ci_upper - adjusted.ci_lower < 0.9 * (plain.ci_upper - plain.ci_lower)
    assert adjusted.p_value <= plain.p_value


def test_sequential_without_covariate_spread_is_the_plain_test():
    flat = _mean(1000, 500.0, 800.0, 1000.0, 1000.0, 500.0)
    flat_b = _mean(1000, 560.0, 900.0, 1000.0, 1000.0, 560.0)
    config = StatsConfig(min_units_per_arm=0)
    assert regression_adjusted_sequential_test(flat, flat_b, config) == sequential_test(flat.post, flat_b.post, config)
    assert "no units" in regression_adjusted_sequential_test(_mean(0, 0, 0, 0, 0, 0), flat_b, config).error
