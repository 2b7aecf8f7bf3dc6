"""CUPED validated on the text-aware simulator: A/A tests keep their false-positive rate at α while the
covariate (the visitor's own behaviour before the test) narrows the intervals."""

from __future__ import annotations

import random

from simulator.cuped_check import cuped_aa_simulation
from simulator.traffic import ArmTruth, visitor_propensity, visitor_truth, visits_of


def test_a_visitors_propensity_is_its_own_in_every_experiment_and_averages_one():
    assert visitor_propensity("visitor-1", 1.0) == visitor_propensity("visitor-1", 1.0)
    assert visitor_propensity("visitor-1", 0.0) == 1.0
    values = [visitor_propensity(f"v{i}", 1.0) for i in range(20_000)]
    assert abs(sum(values) / len(values) - 1.0) < 0.05
    assert max(values) / min(values) > 20  # visitors really differ
    keen = visitor_truth(ArmTruth(ctr=0.5, cvr=0.3), 3.0)
    assert keen.ctr == 0.95 and abs(keen.cvr - 0.9) < 1e-12  # capped, CVR never above CTR
    rng = random.Random(0)
    assert sum(visits_of(rng, 4.0) for _ in range(2000)) > sum(visits_of(rng, 0.25) for _ in range(2000))


def test_cuped_keeps_the_aa_false_positive_rate_and_narrows_intervals():
    figures = cuped_aa_simulation(runs=300, units_per_arm=1000, seed=3)
    for metric, f in figures.items():
        assert f.runs == 300, metric
        # 300 seeded A/A runs at α = 5 %: the binomial SE is 1.3 points.
        assert 0.015 <= f.fpr_adjusted <= 0.09, (metric, f)
        assert f.width_ratio < 0.97, (metric, f)
        assert f.variance_reduction > 0.05, (metric, f)


def test_without_differences_between_visitors_the_covariate_buys_nothing():
    figures = cuped_aa_simulation(runs=60, units_per_arm=800, spread=0.0, seed=4)
    for metric, f in figures.items():
        assert abs(f.variance_reduction) < 0.03, (metric, f)
