"""Group-sequential looks with alpha spent by observed information: schedule rules, path, FPR."""

import json
import math

import numpy as np
import pytest

from analytics.stats import SampleMeanStatistic, StatsConfig, group_sequential_boundaries
from analytics.stats.group_sequential import crossing_probability, observed_information_schedule
from analytics.stats.observed_sequential import observed_group_sequential_path
from analytics.stats.sequential import equal_information_fractions
from analytics.stats.validate_analysis import group_sequential_simulation, traffic_profile

GS = StatsConfig(sequential_method="group_sequential", min_units_per_arm=0)


def test_schedule_follows_units_not_days():
    schedule = observed_information_schedule([100, 200, 200, 300, 450, 500, 600], 500)
    assert schedule.fractions == pytest.approx((0.2, 0.4, 0.4, 0.6, 0.9, 1.0, 1.0))
    assert schedule.design_look == (True, True, False, True, True, True, False)
    assert schedule.final_look == 5 and schedule.after_plan[-1]
    assert schedule.boundaries[:2] == pytest.approx((4.877, 3.357), abs=1e-3)  # published OBF values
    assert schedule.boundaries[2] == schedule.boundaries[1]  # a day without units repeats the look
    assert schedule.boundaries[6] == schedule.boundaries[5]  # after the plan: the final boundary
    json.dumps(schedule.to_dict(), allow_nan=False)


@pytest.mark.parametrize("units", [[100, 200, 300, 400], [100, 250, 600], [50, 500]])
def test_final_look_spends_exactly_alpha(units):
    """Short of plan (ended), overrun past plan, exact plan: the design looks spend exactly alpha."""
    schedule = observed_information_schedule(units, 500, ended=True)
    looks = [i for i, d in enumerate(schedule.design_look) if d]
    fractions = [schedule.fractions[i] for i in looks]
    boundaries = [schedule.boundaries[i] for i in looks]
    assert crossing_probability(boundaries, fractions, 0.0) == pytest.approx(0.05, abs=1e-6)


def test_bad_schedules_raise():
    with pytest.raises(ValueError, match="cumulative"):
        observed_information_schedule([100, 50], 500)
    with pytest.raises(ValueError, match="planned_units"):
        observed_information_schedule([100], 0)


@pytest.mark.parametrize("profile", ["ramp", "weekly_dips", "ramp_and_dips", "slow_ramp"])
@pytest.mark.parametrize("plan_factor", [1.0, 1.25, 0.8])
def test_brownian_false_positive_rate_is_alpha(profile, plan_factor):
    """The z statistic of normal data as a Brownian motion in information: 100,000 paths; the
    schedule's boundaries keep the FPR at 5 % (± 0.14) for every traffic shape and plan error."""
    daily = traffic_profile(profile).astype(float)
    cumulative = daily.cumsum()
    rng = np.random.default_rng(7)
    runs = 100_000
    z = np.abs((rng.standard_normal((runs, daily.size)) * np.sqrt(daily)).cumsum(axis=1) / np.sqrt(cumulative))
    schedule = observed_information_schedule(cumulative, cumulative[-1] * plan_factor, ended=True)
    counted = np.array(schedule.design_look)
    fpr = ((z >= np.array(schedule.boundaries)) & counted).any(axis=1).mean()
    assert abs(fpr - 0.05) <= 1.96 * math.sqrt(0.05 * 0.95 / runs) + 0.0005


def test_calendar_fractions_overspend_on_a_slow_ramp():
    """Equal fractions day / 28 on a slow ramp: 6.0 % false positives (exact integration)."""
    cumulative = traffic_profile("slow_ramp").astype(float).cumsum()
    calendar = group_sequential_boundaries(equal_information_fractions(28, 28))
    actual = cumulative / cumulative[-1]
    assert crossing_probability(calendar, actual, 0.0) == pytest.approx(0.060, abs=0.002)
    schedule = observed_information_schedule(cumulative, cumulative[-1])
    assert crossing_probability(schedule.boundaries, actual, 0.0) == pytest.approx(0.05, abs=1e-6)


def test_unit_level_simulation_on_ctr():
    """A/A CTR with exact per-visitor draws, slow ramp, 4,000 runs (CLI: 10,000 per profile)."""
    result = group_sequential_simulation("slow_ramp", runs=4000)
    assert result.observed_information_fpr <= 0.05 + result.margin
    assert result.calendar_fpr > result.observed_information_fpr


def _looks(days: int, per_day: list[int], effect: float) -> list[tuple[SampleMeanStatistic, SampleMeanStatistic]]:
    rng = np.random.default_rng(3)
    looks, a, b = [], np.empty(0), np.empty(0)
    for units in per_day[:days]:
        a = np.concatenate([a, rng.normal(1.0, 1.0, units)])
        b = np.concatenate([b, rng.normal(1.0 + effect, 1.0, units)])
        looks.append((SampleMeanStatistic.from_values(a), SampleMeanStatistic.from_values(b)))
    return looks


def test_path_freezes_the_decision_after_the_plan():
    per_day = [200, 400, 0, 600, 800, 800, 800]
    looks = _looks(7, per_day, effect=0.0)
    path = observed_group_sequential_path(looks, planned_units=2 * 2000, config=GS)
    final = next(i for i, r in enumerate(path) if r.decision != "continue")
    assert path[2].p_value == path[1].p_value and path[2].critical_z == path[1].critical_z  # no new units
    assert path[final].decision == "stop_no_effect" and path[final].information_fraction >= 1.0
    for later in path[final + 1 :]:
        assert later.decision == path[final].decision and later.critical_z == path[final].critical_z
        assert "after the planned final look" in later.warning
    json.dumps([r.to_dict() for r in path], allow_nan=False)


def test_path_stops_on_a_real_effect_and_ended_plans_spend_the_rest():
    looks = _looks(5, [2000] * 5, effect=0.15)
    path = observed_group_sequential_path(looks, planned_units=2 * 20_000, config=GS)
    assert path[-1].decision == "stop_increase"
    short = observed_group_sequential_path(_looks(3, [300] * 3, 0.0), planned_units=50_000, config=GS, ended=True)
    assert short[-1].decision == "stop_no_effect" and short[-1].critical_z < 2.2
