"""Fixed-horizon test: agreement with gbstats, scipy and statsmodels; pinned numbers; edge cases."""

import json

import numpy as np
import pytest
from scipy import stats as sps

# Imported as a module: pytest would collect a bare name starting with test_.
from statsmodels.stats import proportion as sm_proportion

from analytics.stats import (
    ProportionStatistic,
    RatioStatistic,
    SampleMeanStatistic,
    StatsConfig,
    fixed_horizon_test,
)
from tests.analytics.stats.datasets import MEAN_DATASETS, RATIO_DATASETS
from tests.analytics.stats.gbstats_bridge import assert_agrees, gb, gb_frequentist

ALL_DATASETS = RATIO_DATASETS + MEAN_DATASETS


@pytest.mark.parametrize("difference_type", ["relative", "absolute"])
@pytest.mark.parametrize(("control", "treatment"), ALL_DATASETS)
def test_agrees_with_gbstats(control, treatment, difference_type):
    ours = fixed_horizon_test(control, treatment, StatsConfig(difference_type=difference_type))
    theirs = gb_frequentist(control, treatment, difference_type=difference_type)
    assert ours.error is None and theirs.error_message is None
    assert_agrees(ours, theirs, lift=ours.relative if difference_type == "relative" else ours.absolute)


def test_gbstats_statistics_agree_on_means_and_variances():
    for control, _ in ALL_DATASETS:
        assert control.mean == pytest.approx(gb(control).mean, rel=1e-12)
        assert control.variance == pytest.approx(gb(control).variance, rel=1e-9)


def test_pinned_gbstats_numbers():
    """gbstats 0.8.0 TwoSidedTTest output, pinned so the numbers are visible and stay put."""
    control, treatment = RATIO_DATASETS[0]
    rel = fixed_horizon_test(control, treatment)
    assert rel.test == "welch_t"
    assert rel.estimate == pytest.approx(0.07316697176992003, rel=1e-9)
    assert (rel.ci_lower, rel.ci_upper) == pytest.approx((-0.1262960811534935, 0.2726300246933336), rel=1e-8)
    assert rel.p_value == pytest.approx(0.4719851519216869, rel=1e-8)
    assert rel.absolute.estimate == pytest.approx(0.007872162875195016, rel=1e-9)
    assert rel.absolute.p_value == pytest.approx(0.4561295303750097, rel=1e-8)
    control, treatment = MEAN_DATASETS[0]
    rel = fixed_horizon_test(control, treatment)
    assert rel.estimate == pytest.approx(0.3499962482983353, rel=1e-9)
    assert (rel.ci_lower, rel.ci_upper) == pytest.approx((-0.2564625129960171, 0.9564550095926877), rel=1e-8)
    assert rel.p_value == pytest.approx(0.2578480158440133, rel=1e-8)
    assert rel.absolute.p_value == pytest.approx(0.18688259344397062, rel=1e-8)


def test_absolute_welch_matches_scipy_on_raw_data():
    rng = np.random.default_rng(3)
    a = rng.gamma(0.3, 40.0, 1200)
    b = rng.gamma(0.3, 46.0, 1500)
    ours = fixed_horizon_test(
        SampleMeanStatistic.from_values(a), SampleMeanStatistic.from_values(b), StatsConfig(difference_type="absolute")
    )
    ref = sps.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert ours.absolute.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-8)
    assert ours.dof == pytest.approx(ref.df, rel=1e-9)
    assert (ours.ci_lower, ours.ci_upper) == pytest.approx((ci.low, ci.high), rel=1e-8)


@pytest.mark.parametrize(
    ("control", "treatment", "z", "p", "ci"),
    [
        # statsmodels test_proportions_2indep / confint_proportions_2indep, method="wald"
        ((120, 1000), (150, 1000), 1.964943729729648, 0.04942075065958091, (7.60288212977786e-05, 0.05992397117870222)),
        (
            (380, 5000),
            (430, 5000),
            1.8329164940581275,
            0.06681499046886637,
            (-0.0006931439096859258, 0.020693143909685914),
        ),
    ],
)
def test_proportions_match_statsmodels_wald(control, treatment, z, p, ci):
    config = StatsConfig(test="z", difference_type="absolute")
    ours = fixed_horizon_test(ProportionStatistic(*control[::-1]), ProportionStatistic(*treatment[::-1]), config)
    live = sm_proportion.test_proportions_2indep(
        treatment[0], treatment[1], control[0], control[1], method="wald", compare="diff"
    )
    live_ci = sm_proportion.confint_proportions_2indep(
        treatment[0], treatment[1], control[0], control[1], method="wald"
    )
    for reference in ((z, p, ci), (live.statistic, live.pvalue, live_ci)):
        assert ours.absolute.statistic == pytest.approx(reference[0], rel=1e-9)
        assert ours.p_value == pytest.approx(reference[1], rel=1e-8)
        assert (ours.ci_lower, ours.ci_upper) == pytest.approx(tuple(reference[2]), rel=1e-7)


def test_one_sided_tests_halve_the_p_value_in_the_observed_direction():
    control, treatment = RATIO_DATASETS[1]  # treatment above control
    two = fixed_horizon_test(control, treatment)
    greater = fixed_horizon_test(control, treatment, StatsConfig(sides="greater"))
    less = fixed_horizon_test(control, treatment, StatsConfig(sides="less"))
    assert two.estimate > 0
    assert greater.p_value == pytest.approx(two.p_value / 2, rel=1e-9)
    assert less.p_value == pytest.approx(1 - two.p_value / 2, rel=1e-9)
    assert greater.ci_upper is None and greater.ci_lower > two.ci_lower  # open side is None, not inf
    assert less.ci_lower is None and less.ci_upper < two.ci_upper
    json.dumps(greater.to_dict(), allow_nan=False)


def test_z_test_is_narrower_than_t_at_small_n():
    control = SampleMeanStatistic(n=20, sum=10, sum_squares=9)
    treatment = SampleMeanStatistic(n=20, sum=14, sum_squares=12)
    t = fixed_horizon_test(control, treatment)
    z = fixed_horizon_test(control, treatment, StatsConfig(test="z"))
    assert z.dof is None and t.dof is not None
    assert z.p_value < t.p_value
    assert z.ci_upper - z.ci_lower < t.ci_upper - t.ci_lower


def test_significance_flag_follows_alpha():
    control, treatment = RATIO_DATASETS[4]
    result = fixed_horizon_test(control, treatment)
    assert result.p_value < 0.05 and result.significant is True
    assert fixed_horizon_test(control, treatment, StatsConfig(alpha=result.p_value / 2)).significant is False


EMPTY = SampleMeanStatistic(n=0, sum=0, sum_squares=0)
OK = SampleMeanStatistic(n=2000, sum=1000, sum_squares=1500)


@pytest.mark.parametrize(
    ("control", "treatment", "reason"),
    [
        (EMPTY, OK, "no units in control"),
        (OK, EMPTY, "no units in treatment"),
        (SampleMeanStatistic(n=1, sum=1, sum_squares=1), OK, "fewer than 2 units in control"),
        # Zero variance in one arm is tested with the pooled variance (test_zero_events.py); in both, nothing to test.
        (
            SampleMeanStatistic(n=2000, sum=0, sum_squares=0),
            SampleMeanStatistic(n=900, sum=0, sum_squares=0),
            "zero var",
        ),
        (
            SampleMeanStatistic(n=20, sum=20, sum_squares=20),
            SampleMeanStatistic(n=20, sum=20, sum_squares=20),
            "zero var",
        ),
        (
            RatioStatistic(n=100, m_sum=0, m_sum_squares=0, d_sum=0, d_sum_squares=0, m_d_sum_of_products=0),
            RatioStatistic(n=100, m_sum=5, m_sum_squares=5, d_sum=100, d_sum_squares=100, m_d_sum_of_products=5),
            "denominator total is zero in control",
        ),
        (OK, ProportionStatistic(n=2000, sum=500), "proportion statistic"),
        (OK, SampleMeanStatistic(n=2000, sum=float("inf"), sum_squares=1), "invalid statistic"),
    ],
)
def test_degenerate_input_gives_a_reason_and_no_numbers(control, treatment, reason):
    result = fixed_horizon_test(control, treatment)
    assert reason in result.error
    assert result.p_value is None and result.estimate is None and result.significant is None
    assert reason in result.absolute.reason and reason in result.relative.reason
    json.dumps(result.to_dict(), allow_nan=False)


def test_zero_baseline_leaves_the_absolute_lift():
    """Mean zero with spread (e.g. revenue net of refunds): relative lift undefined, absolute fine."""
    control = SampleMeanStatistic(n=2000, sum=0.0, sum_squares=2000.0)
    treatment = SampleMeanStatistic(n=2000, sum=100.0, sum_squares=2100.0)
    result = fixed_horizon_test(control, treatment)
    assert "baseline (control) mean is zero" in result.error
    assert result.relative.estimate is None and result.p_value is None
    assert result.absolute.estimate == pytest.approx(0.05)
    assert result.absolute.p_value is not None
    absolute = fixed_horizon_test(control, treatment, StatsConfig(difference_type="absolute"))
    assert absolute.error is None and absolute.p_value == result.absolute.p_value
