"""Sequential tests: confidence sequence vs gbstats, mSPRT vs its formula, group-sequential
boundaries vs published tables and Monte Carlo, decisions, burn-in and degenerate input."""

import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from analytics.stats import (
    SampleMeanStatistic,
    StatsConfig,
    confidence_sequence_test,
    crossing_probability,
    group_sequential_boundaries,
    group_sequential_test,
    msprt_test,
    repeated_p_value,
    sequential_path,
    sequential_test,
)
from analytics.stats.sequential import mixture_critical_z, mixture_p_value
from tests.analytics.stats.datasets import MEAN_DATASETS, RATIO_DATASETS
from tests.analytics.stats.gbstats_bridge import assert_agrees, gb_sequential

NO_BURN_IN = StatsConfig(min_units_per_arm=0)


@pytest.mark.parametrize("tuning", [5000, 50_000])
@pytest.mark.parametrize("difference_type", ["relative", "absolute"])
@pytest.mark.parametrize(("control", "treatment"), RATIO_DATASETS + MEAN_DATASETS)
def test_confidence_sequence_agrees_with_gbstats(control, treatment, difference_type, tuning):
    config = StatsConfig(difference_type=difference_type, sequential_tuning_n=tuning)
    ours = confidence_sequence_test(control, treatment, config)
    theirs = gb_sequential(control, treatment, difference_type=difference_type, tuning=tuning)
    assert ours.error is None
    assert_agrees(ours, theirs)


def test_confidence_sequence_pinned_and_wider_than_fixed():
    control, treatment = RATIO_DATASETS[0]
    cs = confidence_sequence_test(control, treatment)
    # gbstats 0.8.0 SequentialTwoSidedTTest, tuning 5000
    assert (cs.ci_lower, cs.ci_upper) == pytest.approx((-0.24454331697983872, 0.3908772605196788), rel=1e-8)
    assert cs.p_value == 1.0
    assert cs.critical_z > 1.96


def test_mixture_p_value_and_interval_are_dual():
    """p < alpha exactly when |z| exceeds the half-width in standard errors."""
    rng = np.random.default_rng(0)
    z = rng.normal(0, 4, 20_000)
    r = rng.uniform(0.01, 500, 20_000)
    reject_p = mixture_p_value(z, r) < 0.05
    reject_ci = np.abs(z) > mixture_critical_z(r, 0.05)
    assert np.array_equal(reject_p, reject_ci)


def test_msprt_matches_johari_formula():
    control, treatment = RATIO_DATASETS[4]
    tau = 0.04
    result = msprt_test(control, treatment, StatsConfig(msprt_tau=tau))
    est, v = result.estimate, result.std_error**2
    # Johari et al.: Lambda = sqrt(V / (V + tau^2)) exp(tau^2 est^2 / (2 V (V + tau^2))), p = min(1, 1/Lambda)
    likelihood_ratio = math.sqrt(v / (v + tau**2)) * math.exp(tau**2 * est**2 / (2 * v * (v + tau**2)))
    assert result.p_value == pytest.approx(min(1.0, 1 / likelihood_ratio), rel=1e-10)
    assert result.p_value < 0.05 and result.decision == "stop_increase"
    # The interval is the set of effects the test would not reject: its ends have p = alpha.
    for end in (result.ci_lower, result.ci_upper):
        shifted = math.sqrt(v / (v + tau**2)) * math.exp(tau**2 * (est - end) ** 2 / (2 * v * (v + tau**2)))
        assert 1 / shifted == pytest.approx(0.05, rel=1e-8)


def test_msprt_tau_is_relative_also_for_absolute_lifts():
    control, treatment = MEAN_DATASETS[1]
    rel = msprt_test(control, treatment, StatsConfig(msprt_tau=0.1))
    absolute = msprt_test(control, treatment, StatsConfig(msprt_tau=0.1, difference_type="absolute"))
    # tau scaled by the control mean makes r (and so the test) nearly the same on both scales.
    assert absolute.p_value == pytest.approx(rel.p_value, rel=0.05)


@pytest.mark.parametrize(
    ("fractions", "published"),
    [
        # Lan-DeMets O'Brien-Fleming-type spending, two-sided alpha = 0.05 (ldbounds / gsDesign tables)
        ([1.0], [1.960]),
        ([0.5, 1.0], [2.963, 1.969]),
        ([1 / 3, 2 / 3, 1.0], [3.710, 2.511, 1.993]),
        ([0.25, 0.5, 0.75, 1.0], [4.333, 2.963, 2.359, 2.014]),
        ([0.2, 0.4, 0.6, 0.8, 1.0], [4.877, 3.357, 2.680, 2.290, 2.031]),
    ],
)
def test_group_sequential_boundaries_match_published_tables(fractions, published):
    assert group_sequential_boundaries(fractions, 0.05) == pytest.approx(published, abs=6e-4)


def test_group_sequential_boundaries_spend_alpha_by_monte_carlo():
    """Uneven looks (spending functions allow them): simulate Brownian motion and count crossings."""
    fractions = np.array([0.1, 0.25, 0.3, 0.55, 0.8, 0.9, 1.0])
    boundaries = group_sequential_boundaries(fractions, 0.05)
    rng = np.random.default_rng(5)
    runs = 400_000
    steps = np.diff(np.concatenate([[0.0], fractions]))
    brownian = np.cumsum(rng.standard_normal((runs, fractions.size)) * np.sqrt(steps), axis=1)
    crossed = (np.abs(brownian / np.sqrt(fractions)) >= boundaries).any(axis=1).mean()
    assert abs(crossed - 0.05) < 4 * math.sqrt(0.05 * 0.95 / runs)
    assert crossing_probability(boundaries, fractions, 0.0) == pytest.approx(0.05, abs=1e-6)


def test_group_sequential_power_matches_fixed_design_at_one_look():
    boundaries = group_sequential_boundaries([1.0])
    drift = 2.8
    fixed_power = norm.sf(norm.isf(0.025) - drift) + norm.cdf(-norm.isf(0.025) - drift)
    assert crossing_probability(boundaries, [1.0], drift) == pytest.approx(fixed_power, abs=1e-6)
    many = group_sequential_boundaries([k / 28 for k in range(1, 29)])
    # O'Brien-Fleming costs little power: a few points at most with 28 looks.
    assert 0.75 < crossing_probability(many, [k / 28 for k in range(1, 29)], drift) < fixed_power


def test_repeated_p_value_is_dual_to_the_boundary():
    fractions = [0.2, 0.4, 0.6, 0.8, 1.0]
    boundary = group_sequential_boundaries(fractions, 0.05)[-1]
    assert repeated_p_value(boundary, fractions) == pytest.approx(0.05, rel=1e-4)
    assert repeated_p_value(boundary + 0.01, fractions) < 0.05 < repeated_p_value(boundary - 0.01, fractions)
    assert repeated_p_value(1.959964, [1.0]) == pytest.approx(0.05, rel=1e-4)
    assert repeated_p_value(0.0, fractions) == 1.0
    assert repeated_p_value(50.0, fractions) == 1e-12  # floor


def test_group_sequential_decisions():
    control, treatment = RATIO_DATASETS[4]  # a clear lift: z ~ 4.6
    early = group_sequential_test(control, treatment, look=1, config=StatsConfig(planned_looks=28))
    assert early.critical_z > 10 and early.decision == "continue" and early.p_value > 0.05
    late = group_sequential_test(control, treatment, look=20)
    assert late.decision == "stop_increase" and late.p_value < 0.05
    assert late.ci_lower > 0 and late.information_fraction == pytest.approx(20 / 28)
    null_control, null_treatment = RATIO_DATASETS[3]  # A/A-like
    final = group_sequential_test(null_control, null_treatment, look=28)
    assert final.decision == "stop_no_effect"
    midway = group_sequential_test(null_control, null_treatment, information_fractions=[0.3, 0.5])
    assert midway.decision == "continue" and midway.look == 2


def test_group_sequential_overrun_has_no_alpha_left():
    control, treatment = RATIO_DATASETS[4]
    result = group_sequential_test(control, treatment, information_fractions=[0.5, 1.0, 1.2])
    assert result.critical_z is None and result.ci_lower is None and result.ci_upper is None
    assert result.decision == "stop_no_effect"
    json.dumps(result.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({}, "needs the look number"),
        ({"look": 0}, "positive integer"),
        ({"information_fractions": [0.5, 0.4]}, "strictly increasing"),
        ({"information_fractions": [0.0, 0.4]}, "positive numbers"),
    ],
)
def test_group_sequential_bad_look_information(kwargs, reason):
    control, treatment = RATIO_DATASETS[0]
    result = group_sequential_test(control, treatment, **kwargs)
    assert reason in result.error and result.p_value is None


def test_burn_in_blocks_early_stops_but_shows_the_numbers():
    control = SampleMeanStatistic(n=400, sum=200, sum_squares=300)
    treatment = SampleMeanStatistic(n=400, sum=300, sum_squares=400)
    for method in ("cs", "msprt"):
        guarded = sequential_test(control, treatment, StatsConfig(sequential_method=method, msprt_tau=0.5))
        assert guarded.p_value < 0.05 and guarded.decision == "continue"
        assert "fewer than 1000 units" in guarded.warning
        free = sequential_test(
            control, treatment, StatsConfig(sequential_method=method, msprt_tau=0.5, min_units_per_arm=0)
        )
        assert free.decision == "stop_increase" and free.warning is None


def test_sequential_path_takes_running_minimum_and_keeps_the_stop():
    # Cumulative looks: a strong early effect that later regresses towards zero.
    looks = [
        (SampleMeanStatistic(n=1000, sum=500, sum_squares=750), SampleMeanStatistic(n=1000, sum=650, sum_squares=900)),
        (
            SampleMeanStatistic(n=2000, sum=1000, sum_squares=1500),
            SampleMeanStatistic(n=2000, sum=1100, sum_squares=1650),
        ),
        (
            SampleMeanStatistic(n=3000, sum=1500, sum_squares=2250),
            SampleMeanStatistic(n=3000, sum=1510, sum_squares=2260),
        ),
    ]
    path = sequential_path(looks, NO_BURN_IN)
    single = [sequential_test(c, t, NO_BURN_IN) for c, t in looks]
    assert single[0].decision == "stop_increase" and single[2].decision == "continue"
    assert [r.decision for r in path] == ["stop_increase"] * 3
    assert [r.look for r in path] == [1, 2, 3]
    assert path[2].p_value == min(r.p_value for r in single) < single[2].p_value
    grouped = sequential_path(looks, StatsConfig(sequential_method="group_sequential", planned_looks=3))
    assert [r.information_fraction for r in grouped] == pytest.approx([1 / 3, 2 / 3, 1.0])
    mismatched = sequential_path(looks, StatsConfig(sequential_method="group_sequential"), information_fractions=[0.5])
    assert all("one information fraction per look" in r.error for r in mismatched)


@pytest.mark.parametrize("method", ["cs", "msprt", "group_sequential"])
def test_degenerate_input_gives_reason(method):
    empty = SampleMeanStatistic(n=0, sum=0, sum_squares=0)
    control, _ = MEAN_DATASETS[0]
    result = sequential_test(control, empty, StatsConfig(sequential_method=method), look=3)
    assert result.error == "no units in treatment"
    assert result.decision is None and result.p_value is None
    zero = SampleMeanStatistic(n=5000, sum=0, sum_squares=0)
    assert "zero variance" in sequential_test(zero, zero, StatsConfig(sequential_method=method), look=3).error
    # One arm without conversions is still tested, with the variance pooled over both arms.
    pooled = sequential_test(zero, control, StatsConfig(sequential_method=method, difference_type="absolute"), look=3)
    assert pooled.error is None and pooled.p_value is not None
    json.dumps(result.to_dict(), allow_nan=False)
