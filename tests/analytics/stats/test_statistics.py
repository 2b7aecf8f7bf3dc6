"""Sufficient statistics: means and per-unit variances against direct computations on raw data."""

import math

import numpy as np
import pytest

from analytics.stats import ProportionStatistic, RatioStatistic, SampleMeanStatistic
from analytics.stats.statistics import statistic_problem


@pytest.fixture
def units() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    impressions = 1 + rng.poisson(1.5, 3000)
    clicks = rng.binomial(impressions, rng.choice([0.04, 0.16], 3000))
    return clicks.astype(float), impressions.astype(float)


def test_sample_mean_matches_numpy(units):
    clicks, _ = units
    stat = SampleMeanStatistic.from_values(clicks)
    assert stat.n == 3000
    assert stat.mean == pytest.approx(clicks.mean(), rel=1e-12)
    assert stat.variance == pytest.approx(clicks.var(ddof=1), rel=1e-10)


def test_ratio_delta_method_matches_linearisation(units):
    clicks, impressions = units
    stat = RatioStatistic.from_units(clicks, impressions)
    ratio = clicks.sum() / impressions.sum()
    # The delta method is the variance of the linearised per-unit residual (m - r d) / mean(d).
    residual = (clicks - ratio * impressions) / impressions.mean()
    assert stat.mean == pytest.approx(ratio, rel=1e-12)
    assert stat.variance == pytest.approx(residual.var(ddof=1), rel=1e-9)
    # ...and the textbook three-term form with the numerator-denominator covariance.
    cov = np.cov(clicks, impressions, ddof=1)
    mu_m, mu_d = clicks.mean(), impressions.mean()
    textbook = cov[0, 0] / mu_d**2 - 2 * cov[0, 1] * mu_m / mu_d**3 + mu_m**2 * cov[1, 1] / mu_d**4
    assert stat.variance == pytest.approx(textbook, rel=1e-9)
    assert stat.covariance == pytest.approx(cov[0, 1], rel=1e-10)


def test_ratio_variance_is_not_the_binomial_variance():
    """Clicks cluster within visitors, so the per-impression binomial variance is too small."""
    rng = np.random.default_rng(11)
    impressions = 1 + rng.poisson(4.0, 5000)
    clicks = rng.binomial(impressions, rng.choice([0.02, 0.30], 5000))
    stat = RatioStatistic.from_units(clicks, impressions)
    p = stat.mean
    binomial_var_of_mean = p * (1 - p) / impressions.sum()
    assert stat.variance / stat.n > 1.5 * binomial_var_of_mean


def test_proportion_uses_bernoulli_variance():
    stat = ProportionStatistic(n=200, sum=30)
    assert stat.mean == pytest.approx(0.15)
    assert stat.variance == pytest.approx(0.15 * 0.85)
    assert stat.sum_squares == 30


def test_constant_values_have_exactly_zero_variance():
    # 0.1 is not exactly representable: sum_squares - sum^2/n leaves rounding residue.
    stat = SampleMeanStatistic.from_values(np.full(100_000, 0.1))
    assert stat.variance == 0.0
    ratio = RatioStatistic.from_units(np.full(1000, 0.3), np.full(1000, 3.0))
    assert ratio.variance == 0.0


@pytest.mark.parametrize(
    ("stat", "fragment"),
    [
        (SampleMeanStatistic(n=-1, sum=0, sum_squares=0), "non-negative"),
        (SampleMeanStatistic(n=10, sum=math.nan, sum_squares=1), "not finite"),
        (SampleMeanStatistic(n=10, sum=10, sum_squares=5), "inconsistent"),
        (SampleMeanStatistic(n=0, sum=3, sum_squares=9), "zero units"),
        (SampleMeanStatistic(n=2.5, sum=1, sum_squares=1), "whole number"),
        (ProportionStatistic(n=10, sum=11), "between 0 and n"),
        (RatioStatistic(n=10, m_sum=5, m_sum_squares=5, d_sum=10, d_sum_squares=10, m_d_sum_of_products=100), "Cauchy"),
        (
            RatioStatistic(n=10, m_sum=5, m_sum_squares=-1, d_sum=10, d_sum_squares=10, m_d_sum_of_products=5),
            "negative",
        ),
    ],
)
def test_problem_reports_impossible_sums(stat, fragment):
    assert fragment in stat.problem()
    assert "invalid statistic" in statistic_problem(stat, "control")


@pytest.mark.parametrize(
    ("stat", "reason"),
    [
        (SampleMeanStatistic(n=0, sum=0, sum_squares=0), "no units in control"),
        (SampleMeanStatistic(n=1, sum=2, sum_squares=4), "fewer than 2 units in control"),
        (RatioStatistic(n=5, m_sum=0, m_sum_squares=0, d_sum=0, d_sum_squares=0, m_d_sum_of_products=0), "denominator"),
    ],
)
def test_degenerate_statistics_are_named(stat, reason):
    assert stat.problem() is None
    assert reason in statistic_problem(stat, "control")


def test_undefined_values_are_nan_not_exceptions():
    empty = SampleMeanStatistic(n=0, sum=0, sum_squares=0)
    assert math.isnan(empty.mean)
    assert math.isnan(empty.variance)
    no_impressions = RatioStatistic(n=3, m_sum=0, m_sum_squares=0, d_sum=0, d_sum_squares=0, m_d_sum_of_products=0)
    assert math.isnan(no_impressions.mean)


def test_from_units_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        RatioStatistic.from_units([1, 2], [1, 2, 3])
