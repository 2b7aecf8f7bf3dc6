"""Sample size, power and days: against statsmodels' power solver and internal consistency."""

import json
import math

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower

from analytics.stats import SampleMeanStatistic, StatsConfig, days_left, power_at, sample_size
from analytics.stats.frequentist import fixed_horizon_arrays, lift_moments, welch_dof
from analytics.stats.power import relative_z_spread
from analytics.stats.statistics import proportion_moments

CTR = {"baseline_mean": 0.10, "baseline_variance": 0.09}


@pytest.mark.parametrize("lift", [0.02, 0.05, 0.10, -0.08])
def test_absolute_scale_sample_size_matches_statsmodels(lift):
    """On the absolute scale with equal variances the plan is statsmodels' NormalIndPower exactly;
    the treatment's own (Bernoulli) variance scales it by (var_t + var_c) / (2 var_c)."""
    absolute = StatsConfig(difference_type="absolute")
    sigma = CTR["baseline_variance"] ** 0.5
    effect = abs(lift) * CTR["baseline_mean"] / sigma
    reference = NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, ratio=1.0)
    equal = sample_size(**CTR, relative_lift=lift, treatment_variance=CTR["baseline_variance"], config=absolute)
    assert equal.units_control == math.ceil(reference)
    bernoulli = sample_size(**CTR, relative_lift=lift, config=absolute)
    rate = 0.1 * (1 + lift)
    factor = (rate * (1 - rate) + 0.09) / (2 * 0.09)
    assert bernoulli.units_control == pytest.approx(reference * factor, rel=1e-4)
    assert bernoulli.units_treatment == bernoulli.units_control


def test_pinned_planning_numbers():
    result = sample_size(**CTR, relative_lift=0.05, daily_units=10_000)
    assert result.units_control == 58_898 and result.units_total == 117_796
    assert result.days == pytest.approx(11.7796)


def _simulated_power(n: int, rate: float, lift: float, runs: int, seed: int) -> float:
    """Power of the shipped relative-lift Welch test on two binomial arms (vectorised kernels)."""
    rng = np.random.default_rng(seed)
    a, b = rng.binomial(n, rate, runs), rng.binomial(n, rate * (1 + lift), runs)
    mean_a, var_a = proportion_moments(n, a)
    mean_b, var_b = proportion_moments(n, b)
    estimate, variance = lift_moments(mean_a, var_a, n, mean_b, var_b, n, relative=True)
    dof = welch_dof(var_a, n, var_b, n)
    _, p, _, _ = fixed_horizon_arrays(estimate, np.sqrt(variance), dof, alpha=0.05, sides="two-sided", test="welch_t")
    return float((p < 0.05).mean())


def test_planned_sample_size_gives_the_planned_power_by_simulation():
    """5 % conversion, +10 %: 32,443 units per arm; 20,000 simulated experiments give 79.8 % power.
    Planning on the control's variance and a N(signal, 1) z gave 32,958 (simulated 80.7 %); on the
    treatment's variance alone, 34,363 (82.1 %): the relative z spreads less than 1 under the lift."""
    plan = sample_size(baseline_mean=0.05, baseline_variance=0.05 * 0.95, relative_lift=0.10)
    assert plan.units_control == 32_443
    simulated = _simulated_power(plan.units_control, 0.05, 0.10, runs=20_000, seed=21)
    assert simulated == pytest.approx(0.80, abs=1.96 * math.sqrt(0.16 / 20_000) + 0.002)


def test_relative_z_spread_matches_simulation():
    n = 30_000
    rng = np.random.default_rng(2)
    a, b = rng.binomial(n, 0.05, 40_000), rng.binomial(n, 0.055, 40_000)
    mean_a, var_a = proportion_moments(n, a)
    mean_b, var_b = proportion_moments(n, b)
    estimate, variance = lift_moments(mean_a, var_a, n, mean_b, var_b, n, relative=True)
    z = estimate / np.sqrt(variance)
    spread = relative_z_spread(0.05, 0.0475, n, 0.055 * 0.945, n, 0.10)
    assert 0.9 < spread < 1.0
    assert z.std() == pytest.approx(spread, abs=0.01)


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


def test_cuped_variance_reduction_shrinks_the_plan():
    """Removing 36 % of the variance (revenue with pre-period spend) needs 64 % of the units."""
    plain = sample_size(**CTR, relative_lift=0.05, config=StatsConfig(difference_type="absolute"))
    cuped = sample_size(
        **CTR, relative_lift=0.05, variance_reduction=0.36, config=StatsConfig(difference_type="absolute")
    )
    assert cuped.units_control == pytest.approx(0.64 * plain.units_control, rel=1e-3)
    assert "variance reduction" in sample_size(**CTR, relative_lift=0.05, variance_reduction=1.0).error
