"""Sample size, power and days: against statsmodels' power solver and internal consistency."""

import json

import pytest
from statsmodels.stats.power import NormalIndPower

from analytics.stats import SampleMeanStatistic, StatsConfig, days_left, power_at, sample_size

CTR = {"baseline_mean": 0.10, "baseline_variance": 0.09}


@pytest.mark.parametrize("lift", [0.02, 0.05, 0.10, -0.08])
def test_fixed_sample_size_matches_statsmodels_up_to_the_relative_lift_term(lift):
    result = sample_size(**CTR, relative_lift=lift)
    sigma = CTR["baseline_variance"] ** 0.5
    effect = abs(lift) * CTR["baseline_mean"] / sigma
    reference = NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, ratio=1.0)
    # The relative lift's delta-method variance has (1 + lift)^2 on the control term, the
    # absolute difference has 1: the sample sizes differ by exactly that factor.
    factor = (1 + (1 + lift) ** 2) / 2
    assert result.units_control == pytest.approx(reference * factor, rel=1e-4)
    assert result.units_treatment == result.units_control


def test_pinned_planning_numbers():
    result = sample_size(**CTR, relative_lift=0.05, daily_units=10_000)
    assert result.units_control == 59_409 and result.units_total == 118_818
    assert result.days == pytest.approx(11.8818)


def test_shares_and_days_with_several_arms():
    # Four arms at 25 % each: the pair compared sees half the traffic.
    two = sample_size(**CTR, relative_lift=0.05, daily_units=10_000)
    four = sample_size(**CTR, relative_lift=0.05, control_share=0.25, treatment_share=0.25, daily_units=10_000)
    assert four.units_control == two.units_control
    assert four.units_total == pytest.approx(2 * two.units_total, abs=2)
    assert four.days == pytest.approx(2 * two.days, rel=1e-4)
    unequal = sample_size(**CTR, relative_lift=0.05, control_share=0.2, treatment_share=0.8)
    assert unequal.units_treatment == pytest.approx(4 * unequal.units_control, rel=1e-3)


def test_power_at_the_planned_size_is_the_target():
    for method in ("fixed", "cs", "msprt", "group_sequential"):
        planned = sample_size(**CTR, relative_lift=0.05, power=0.9, method=method)
        achieved = power_at(planned.units_compared, **CTR, relative_lift=0.05, method=method)
        assert achieved == pytest.approx(0.9, abs=2e-4)


def test_always_valid_methods_cost_sample_size():
    sizes = {m: sample_size(**CTR, relative_lift=0.05, method=m).units_compared for m in ("fixed", "cs", "msprt")}
    grouped = sample_size(**CTR, relative_lift=0.05, method="group_sequential").units_compared
    assert sizes["fixed"] < grouped < 1.1 * sizes["fixed"]  # O'Brien-Fleming: a few per cent
    assert sizes["cs"] > 1.5 * sizes["fixed"] and sizes["msprt"] > 1.5 * sizes["fixed"]


def test_one_sided_needs_fewer_units():
    two = sample_size(**CTR, relative_lift=0.05)
    one = sample_size(**CTR, relative_lift=0.05, config=StatsConfig(sides="greater"))
    assert one.units_control < 0.85 * two.units_control


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"baseline_mean": 0.0, "baseline_variance": 0.1, "relative_lift": 0.05}, "baseline mean is zero"),
        ({"baseline_mean": 0.1, "baseline_variance": 0.0, "relative_lift": 0.05}, "variance must be positive"),
        ({**CTR, "relative_lift": 0.0}, "non-zero"),
        ({**CTR, "relative_lift": float("nan")}, "finite"),
        ({**CTR, "relative_lift": 0.05, "control_share": 0.7, "treatment_share": 0.7}, "shares"),
        ({**CTR, "relative_lift": 0.05, "power": 1.0}, "power"),
        ({**CTR, "relative_lift": 0.05, "daily_units": 0}, "daily units"),
        ({**CTR, "relative_lift": 0.05, "method": "magic"}, "unknown method"),
        ({**CTR, "relative_lift": 1e-9}, "too small"),
    ],
)
def test_planning_errors_are_stated(kwargs, reason):
    result = sample_size(**kwargs)
    assert reason in result.error and result.units_total is None
    json.dumps(result.to_dict(), allow_nan=False)


def _arm(n: int, rate: float = 0.1) -> SampleMeanStatistic:
    clicks = round(n * rate)
    return SampleMeanStatistic(n=n, sum=clicks, sum_squares=clicks)


def test_days_left_for_a_running_test():
    control, treatment = _arm(20_000), _arm(20_000, 0.104)
    result = days_left(control, treatment, relative_lift=0.05, days_elapsed=4, method="fixed")
    planned = sample_size(baseline_mean=control.mean, baseline_variance=control.variance, relative_lift=0.05)
    assert result.units_needed == pytest.approx(planned.units_compared, abs=2)
    assert result.daily_units == pytest.approx(10_000)
    assert result.days_left == pytest.approx((result.units_needed - 40_000) / 10_000, abs=1e-3)
    assert 0 < result.current_power < 0.8
    done = days_left(_arm(200_000), _arm(200_000, 0.104), relative_lift=0.05, days_elapsed=20, method="fixed")
    assert done.days_left == 0.0 and done.current_power > 0.8
    default = days_left(control, treatment, relative_lift=0.05, days_elapsed=4)
    assert default.method == "cs" and default.days_left > result.days_left


def test_days_left_degenerate():
    empty = SampleMeanStatistic(n=0, sum=0, sum_squares=0)
    assert days_left(empty, _arm(100), relative_lift=0.05, days_elapsed=3).error == "no units in control"
    assert "days elapsed" in days_left(_arm(100), _arm(100), relative_lift=0.05, days_elapsed=0).error
