"""Novelty views: the daily lift's trend and the exposure-cohort difference, against statsmodels,
and seeded simulations (A/A coverage of the daily intervals, the trend's false-positive rate, a
fading effect showing as a falling daily lift)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from analytics.stats.breakdown import ArmArrays
from analytics.stats.config import StatsConfig
from analytics.stats.frequentist import fixed_horizon_test
from analytics.stats.novelty import lift_difference, lift_trend, period_lifts
from analytics.stats.statistics import RatioStatistic
from analytics.stats.validate_novelty import novelty_simulation


def test_trend_is_weighted_least_squares_with_the_dispersion_scaled_error():
    y = np.array([0.31, 0.22, 0.27, 0.15, 0.12, 0.14, 0.05])
    se = np.array([0.08, 0.06, 0.07, 0.05, 0.05, 0.06, 0.04])
    trend = lift_trend(y, se)
    fit = sm.WLS(y, sm.add_constant(np.arange(7.0)), weights=1 / se**2).fit()
    assert trend.slope == pytest.approx(fit.params[1], rel=1e-10)
    # statsmodels scales by the residual variance; this engine never below the intervals' own (dispersion >= 1)
    dispersion = max(1.0, fit.scale)
    assert trend.dispersion == pytest.approx(dispersion, rel=1e-10)
    assert trend.std_error == pytest.approx(fit.bse[1] * math.sqrt(dispersion / fit.scale), rel=1e-10)
    assert trend.p_value == pytest.approx(2 * stats.t.sf(abs(trend.slope / trend.std_error), 5))
    assert trend.days == 7 and trend.slope < 0 < trend.mean_lift and trend.fading is (trend.p_value < 0.05)
    assert trend.ci[0] < trend.slope < trend.ci[1]


def test_trend_needs_three_days_and_skips_undefined_ones():
    assert lift_trend([0.1, np.nan, 0.2], [0.05, 0.05, 0.05]).error == "fewer than 3 days with a lift"
    rising = lift_trend([-0.3, -0.2, -0.1, 0.0], [0.01] * 4)
    assert rising.slope == pytest.approx(0.1) and rising.fading  # a harm wearing off also fades toward zero
    growing = lift_trend([0.1, 0.2, 0.3, 0.4], [0.01] * 4)
    assert growing.p_value < 0.05 and not growing.fading


def test_cohort_difference_is_a_z_test_of_independent_lifts():
    diff = lift_difference(0.05, 0.02, 0.15, 0.03)
    assert diff.estimate == pytest.approx(0.10)
    assert diff.std_error == pytest.approx(math.sqrt(0.02**2 + 0.03**2))
    z = 0.10 / diff.std_error
    assert diff.p_value == pytest.approx(2 * stats.norm.sf(z))
    assert lift_difference(None, None, 0.1, 0.02).p_value is None


def test_a_period_lift_equals_the_pooled_test_on_that_periods_statistics():
    config = StatsConfig()
    control = RatioStatistic(
        n=800, m_sum=90, m_sum_squares=120, d_sum=1200, d_sum_squares=2100, m_d_sum_of_products=160
    )
    treatment = RatioStatistic(
        n=790, m_sum=118, m_sum_squares=160, d_sum=1180, d_sum_squares=2050, m_d_sum_of_products=205
    )

    def arrays(s: RatioStatistic) -> ArmArrays:
        return ArmArrays(
            n=np.array([s.n]),
            m_sum=np.array([s.m_sum]),
            m_sum_squares=np.array([s.m_sum_squares]),
            d_sum=np.array([s.d_sum]),
            d_sum_squares=np.array([s.d_sum_squares]),
            m_d_sum_of_products=np.array([s.m_d_sum_of_products]),
        )

    day = period_lifts(arrays(control), arrays(treatment), relative=True, config=config)
    pooled = fixed_horizon_test(control, treatment, config)
    assert day.estimate[0] == pytest.approx(pooled.relative.estimate, rel=1e-9)
    assert day.p_value[0] == pytest.approx(pooled.relative.p_value, rel=1e-6)
    assert day.ci_lower[0] == pytest.approx(pooled.relative.ci_lower, rel=1e-6)


def test_aa_daily_intervals_cover_and_the_trend_and_cohorts_hold_alpha():
    s = novelty_simulation(runs=200, seed=11)
    # 2,800 daily intervals: 95 % ± 0.8 % (two standard errors)
    assert 0.935 < s.daily_coverage < 0.965, s.daily_coverage
    assert s.trend_rejections <= 0.08 and s.fading_share <= 0.08
    assert s.cohort_rejections <= 0.09


def test_a_constant_lift_is_not_called_fading():
    s = novelty_simulation(runs=100, seed=12, lift=0.10)
    assert s.fading_share <= 0.08
    assert s.mean_daily_lift[0] == pytest.approx(0.10, abs=0.05)
    assert s.mean_daily_lift[-1] == pytest.approx(0.10, abs=0.03)


def test_a_fading_novelty_effect_shows_as_a_falling_daily_lift():
    s = novelty_simulation(runs=60, seed=13, lift=0.30, fade_days=2.0, new_per_day=1000)
    assert s.mean_daily_lift[0] > 0.25 and s.mean_daily_lift[-1] < 0.12  # +30 % on day 1, under +12 % by day 14
    assert s.cumulative_lift < s.mean_daily_lift[0] - 0.1  # the cumulative lift hides the fall
    assert s.mean_slope < 0 and s.fading_share > 0.3
    # week-1 visitors have more repeat visits after the novelty wore off: their lift is lower
    assert s.cohort_later_lift > s.cohort_first_lift + 0.05 and s.cohort_rejections > 0.3
