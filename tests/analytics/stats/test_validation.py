"""Validation by simulation: false-positive rates, coverage and power of the shipped code.

Each scenario simulates 10,000 seeded experiments (exact per-visitor data, drawn as
multinomial counts over per-visitor outcomes; see analytics.stats.simulation). The binomial
standard error of a 5 % rate over 10,000 runs is sqrt(0.05 * 0.95 / 10,000) = 0.22 points, so
the acceptance band of ±1 point is ~4.6 standard errors, and the one-sided "<= 5 % with margin"
checks allow 1.96 standard errors (0.43 points). Seeds are fixed, so the numbers are the ones
``python -m analytics.stats.validate`` prints.
"""

import math

import pytest

from analytics.stats import StatsConfig, power_at
from analytics.stats.scenarios import (
    AB_LIFT,
    AB_UNITS_PER_DAY,
    VALIDATION_RUNS,
    aa_daily_looks,
    aa_single_look,
    ab_daily_looks,
    ctr,
    ratio_metrics,
)
from analytics.stats.simulation import rate_per_impression, revenue_per_unit

RUNS = VALIDATION_RUNS
MARGIN = 1.96 * math.sqrt(0.05 * 0.95 / RUNS)  # 0.43 points
ABSOLUTE = StatsConfig(difference_type="absolute")
SEQUENTIAL = ("cs", "msprt", "group_sequential")


@pytest.fixture(scope="module")
def single_look():
    results = {d.name: aa_single_look(d, runs=RUNS) for d in ratio_metrics()}
    results["revenue_relative"] = aa_single_look(revenue_per_unit(), runs=RUNS)
    results["revenue_absolute"] = aa_single_look(revenue_per_unit(), runs=RUNS, config=ABSOLUTE)
    return results


@pytest.fixture(scope="module")
def daily_looks():
    results = {d.name: aa_daily_looks(d, runs=RUNS) for d in ratio_metrics()}
    results["revenue_absolute"] = aa_daily_looks(revenue_per_unit(), runs=RUNS, config=ABSOLUTE)
    return results


@pytest.fixture(scope="module")
def ab():
    return ab_daily_looks(runs=RUNS)


@pytest.mark.parametrize("metric", ["ctr", "cvr", "orders_per_click", "revenue_absolute"])
def test_aa_single_look_false_positive_rate_and_coverage(single_look, metric):
    result = single_look[metric]
    fixed = result.outcomes["fixed"]
    assert result.runs == 10_000 and result.degenerate_runs == 0
    assert abs(fixed.rejection_rate - 0.05) <= 0.01
    # Relative-lift CI coverage on the ratio metrics (absolute for revenue): 95 % ± 1 %.
    assert abs(fixed.coverage - 0.95) <= 0.01


def test_relative_lift_on_skewed_revenue_is_mildly_anticonservative(single_look):
    """Known limit of the delta-method relative lift (the same in gbstats): on a skewed, mostly
    zero metric the z-statistic is skewed at 2,000 units per arm. Documented, not hidden: the
    absolute test of the same null hypothesis stays at 5 %."""
    relative = single_look["revenue_relative"].outcomes["fixed"].rejection_rate
    absolute = single_look["revenue_absolute"].outcomes["fixed"].rejection_rate
    assert 0.05 < relative < 0.07
    assert abs(absolute - 0.05) <= 0.01


@pytest.mark.parametrize("metric", ["ctr", "cvr", "orders_per_click", "revenue_absolute"])
def test_aa_daily_looks_sequential_methods_keep_alpha(daily_looks, metric):
    result = daily_looks[metric]
    for method in SEQUENTIAL:
        outcome = result.outcomes[method]
        assert outcome.rejection_rate <= 0.05 + MARGIN, method
        # Their intervals hold the true lift (0) at every look at the same rate.
        assert outcome.coverage >= 0.95 - MARGIN, method
    # A single look at the end is still a 5 % test...
    assert abs(result.outcomes["fixed"].rejection_rate - 0.05) <= 0.01
    # ...but stopping at the first daily p < 0.05 is not: about 20 % false positives.
    assert result.outcomes["fixed_daily_peeking"].rejection_rate > 0.15


def test_daily_peeking_without_burn_in_is_worse():
    result = aa_daily_looks(ctr(), runs=RUNS, config=StatsConfig(min_units_per_arm=0))
    assert result.outcomes["fixed_daily_peeking"].rejection_rate > 0.25
    assert result.outcomes["cs"].rejection_rate <= 0.05 + MARGIN
    assert result.outcomes["group_sequential"].rejection_rate <= 0.05 + MARGIN


def test_ab_intervals_cover_the_true_lift(ab):
    assert ab.true_lift == pytest.approx(AB_LIFT)
    assert abs(ab.outcomes["fixed"].coverage - 0.95) <= 0.01
    for method in SEQUENTIAL:
        assert ab.outcomes[method].coverage >= 0.95 - MARGIN, method
    assert ab.outcomes["fixed_daily_peeking"].coverage < 0.85  # daily fixed CIs are not simultaneous


def test_ab_power_matches_the_planning_formulas(ab):
    dist = ctr()
    treatment = rate_per_impression("ctr", 0.10 * (1 + AB_LIFT))
    n_pair = 2 * 28 * AB_UNITS_PER_DAY

    def planned(method: str) -> float:
        return power_at(
            n_pair,
            baseline_mean=dist.true_value,
            baseline_variance=dist.unit_variance,
            treatment_variance=treatment.unit_variance,
            relative_lift=AB_LIFT,
            method=method,
        )

    power = {method: outcome.rejection_rate for method, outcome in ab.outcomes.items()}
    margin = 1.96 * math.sqrt(0.8 * 0.2 / RUNS) + 0.01  # sampling error plus model error
    # Mixture methods: the probability of stopping by the horizon over 28 daily looks with the
    # burn-in (simulated 40.7 % / 39.0 %, planned 41.5 % / 40.0 %), no longer a "lower bound".
    for method in ("fixed", "group_sequential", "cs", "msprt"):
        assert power[method] == pytest.approx(planned(method), abs=margin), method
    # The price of looking every day, from cheapest to dearest.
    assert power["fixed"] > power["group_sequential"] > power["cs"] > 0.3
    # Group-sequential designs stop early when the effect is real.
    assert ab.outcomes["group_sequential"].mean_stop_fraction < 0.85
