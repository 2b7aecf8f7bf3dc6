"""Convert our statistics into gbstats' (the independent reference implementation) and run it.

gbstats 0.8.0 is a test-only dependency (installed with --no-deps; it declares numpy<2 and
pandas<2, but the modules used here run on current versions).
"""

import pytest
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import FrequentistConfig, SequentialConfig, SequentialTwoSidedTTest, TwoSidedTTest
from gbstats.models import statistics as gbs

from analytics.stats import ProportionStatistic, RatioStatistic, SampleMeanStatistic

FOUR_DIGITS = 5e-5  # relative tolerance: agreement to (at least) 4 significant digits


def assert_agrees(ours, theirs, *, lift=None) -> None:
    """Our result's estimate, interval and p-value (and, given `lift`, its standard error) are
    gbstats' (`theirs`) to four significant digits."""
    assert ours.estimate == pytest.approx(theirs.expected, rel=FOUR_DIGITS)
    assert (ours.ci_lower, ours.ci_upper) == pytest.approx(tuple(theirs.ci), rel=FOUR_DIGITS)
    assert ours.p_value == pytest.approx(theirs.p_value, rel=FOUR_DIGITS)
    if lift is not None:
        assert lift.std_error == pytest.approx(theirs.uplift.stddev, rel=FOUR_DIGITS)


def gb(stat):
    if isinstance(stat, RatioStatistic):
        return gbs.RatioStatistic(
            n=stat.n,
            m_statistic=gbs.SampleMeanStatistic(n=stat.n, sum=stat.m_sum, sum_squares=stat.m_sum_squares),
            d_statistic=gbs.SampleMeanStatistic(n=stat.n, sum=stat.d_sum, sum_squares=stat.d_sum_squares),
            m_d_sum_of_products=stat.m_d_sum_of_products,
        )
    if isinstance(stat, ProportionStatistic):
        return gbs.ProportionStatistic(n=stat.n, sum=stat.sum)
    if isinstance(stat, SampleMeanStatistic):
        return gbs.SampleMeanStatistic(n=stat.n, sum=stat.sum, sum_squares=stat.sum_squares)
    raise TypeError(type(stat))


def gb_frequentist(control, treatment, *, difference_type="relative", alpha=0.05):
    config = FrequentistConfig(alpha=alpha, difference_type=difference_type)
    return TwoSidedTTest(gb(control), gb(treatment), config).compute_result()


def gb_sequential(control, treatment, *, difference_type="relative", alpha=0.05, tuning=5000):
    config = SequentialConfig(alpha=alpha, difference_type=difference_type, sequential_tuning_parameter=tuning)
    return SequentialTwoSidedTTest(gb(control), gb(treatment), config).compute_result()


def gb_bayesian(control, treatment, *, difference_type="relative", prior=None):
    config = EffectBayesianConfig(
        difference_type=difference_type, prior_type=difference_type, prior_effect=prior or GaussianPrior()
    )
    return EffectBayesianABTest(gb(control), gb(treatment), config).compute_result()


def gb_regression_adjusted(control, treatment, *, difference_type="relative", alpha=0.05):
    """gbstats' TwoSidedTTest on RegressionAdjustedStatistic (theta pooled inside gbstats)."""

    def ra(stat):
        return gbs.RegressionAdjustedStatistic(
            n=stat.n,
            post_statistic=gb(stat.post),
            pre_statistic=gb(stat.pre),
            post_pre_sum_of_products=stat.post_pre_sum_of_products,
            theta=0,
        )

    config = FrequentistConfig(alpha=alpha, difference_type=difference_type)
    return TwoSidedTTest(ra(control), ra(treatment), config).compute_result()
