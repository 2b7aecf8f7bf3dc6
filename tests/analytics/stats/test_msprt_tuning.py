"""Tuning the mSPRT's tau from the minimum detectable effect: the rule, and revenue by simulation."""

import json

import pytest

from analytics.stats import StatsConfig, power_at
from analytics.stats.msprt_tuning import _signal_needed, msprt_tau_for_mde, optimal_tau_factor, tuned_config
from analytics.stats.simulation import revenue_per_unit
from analytics.stats.validate_analysis import msprt_revenue_simulation

ABSOLUTE = StatsConfig(difference_type="absolute")


def test_optimal_factor_minimises_the_information_needed():
    factor = optimal_tau_factor(0.05, 0.8, 28)
    assert factor == pytest.approx(0.882, abs=0.01)
    best = _signal_needed(factor, 28, 0.05, 0.8)  # 3.68 standard errors (a fixed test needs 2.80)
    for other in (0.25, 0.5, 1.8, 4.0):
        assert _signal_needed(other, 28, 0.05, 0.8) > best
    assert optimal_tau_factor(0.05, 0.8, 1) < factor  # fewer looks, smaller tau


def test_tau_is_relative_on_both_scales():
    relative = msprt_tau_for_mde(0.10)
    absolute = msprt_tau_for_mde(0.187, scale="absolute", baseline_mean=1.87, config=ABSOLUTE)
    assert absolute.mde_relative == pytest.approx(0.10)
    assert absolute.tau == pytest.approx(relative.tau) == pytest.approx(relative.factor * 0.10)
    assert absolute.tau_absolute == pytest.approx(absolute.tau * 1.87)
    assert tuned_config(ABSOLUTE, absolute).msprt_tau == absolute.tau
    json.dumps(absolute.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mde": 0.0}, "non-zero"),
        ({"mde": 0.1, "scale": "absolute"}, "baseline"),
        ({"mde": 0.1, "scale": "log"}, "scale"),
    ],
)
def test_bad_settings_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        msprt_tau_for_mde(**kwargs)


def test_tuned_tau_lets_revenue_reject_on_the_absolute_scale():
    """Revenue per visitor, +15 %, absolute scale, 28 daily looks of 1,000 units per arm, 2,000 runs:
    the simulation that ``python -m analytics.stats.validate_analysis`` prints with more runs."""
    control, treatment = revenue_per_unit(), revenue_per_unit(price_factor=1.15)
    mde = 0.15 * control.true_value
    tuning = msprt_tau_for_mde(mde, scale="absolute", baseline_mean=control.true_value, config=ABSOLUTE)
    simulated = msprt_revenue_simulation(lift=0.15, runs=2000)
    assert simulated["tuned_tau"] == tuning.tau
    for name, config in (("default", ABSOLUTE), ("tuned", tuned_config(ABSOLUTE, tuning))):
        planned = power_at(
            56_000,
            baseline_mean=control.true_value,
            baseline_variance=control.unit_variance,
            treatment_variance=treatment.unit_variance,
            relative_lift=0.15,
            method="msprt",
            config=config,
        )
        # by-horizon power, simulated vs planned
        assert simulated[f"{name}_power"] == pytest.approx(planned, abs=0.035)
    assert simulated["default_power"] < 0.12 and simulated["tuned_power"] > 0.40  # 9.9 % -> 43.2 %
    assert simulated["tuned_aa_fpr"] <= 0.05  # 1.05 %
