"""The seeded scenarios behind the engine's validation: the A/A and A/B designs that the tests
assert on and ``python -m analytics.stats.validate`` prints, built on `analytics.stats.simulation`."""

from __future__ import annotations

from analytics.stats.config import DEFAULT_CONFIG, StatsConfig
from analytics.stats.simulation import (
    SimulationResult,
    UnitDistribution,
    rate_per_click,
    rate_per_impression,
    run_simulation,
)

# The scenarios that the validation tests assert on and ``python -m analytics.stats.validate``
# prints. 10,000 runs: the binomial standard error of a 5 % rate is 0.22 %, so the ±1 %
# tolerance of the acceptance criteria is ~4.6 standard errors.
VALIDATION_RUNS = 10_000
# A/B scenario: CTR +7.5 % relative, 500 units per arm per day for 28 days (14,000 per arm):
# about 80 % power for the fixed-horizon test, a typical planned design.
AB_LIFT = 0.075
AB_UNITS_PER_DAY = 500


def ctr() -> UnitDistribution:
    """clicks / impressions, CTR 10 %."""
    return rate_per_impression("ctr", 0.10)


def cvr() -> UnitDistribution:
    """orders / impressions, CVR 4 % (the paper's definition)."""
    return rate_per_impression("cvr", 0.04)


def orders_per_click() -> UnitDistribution:
    """orders / clicks, 30 %; 80 % of visitors have no click (zero denominator)."""
    return rate_per_click("orders_per_click", 0.30)


def ratio_metrics() -> list[UnitDistribution]:
    return [ctr(), cvr(), orders_per_click()]


def aa_single_look(
    dist: UnitDistribution, *, runs: int = VALIDATION_RUNS, seed: int = 1, config: StatsConfig = DEFAULT_CONFIG
) -> SimulationResult:
    """A/A, one look at 2,000 units per arm."""
    return run_simulation(
        scenario="A/A, one look at 2,000 units per arm",
        control=dist,
        treatment=dist,
        units_per_look=2000,
        looks=1,
        runs=runs,
        seed=seed,
        config=config,
    )


def aa_daily_looks(
    dist: UnitDistribution, *, runs: int = VALIDATION_RUNS, seed: int = 2, config: StatsConfig = DEFAULT_CONFIG
) -> SimulationResult:
    """A/A, 28 daily looks of 200 new units per arm (5,600 per arm at the end)."""
    return run_simulation(
        scenario="A/A, 28 daily looks of 200 units per arm",
        control=dist,
        treatment=dist,
        units_per_look=200,
        looks=28,
        runs=runs,
        seed=seed,
        config=config,
    )


def ab_daily_looks(
    *,
    lift: float = AB_LIFT,
    units_per_day: int = AB_UNITS_PER_DAY,
    runs: int = VALIDATION_RUNS,
    seed: int = 3,
    config: StatsConfig = DEFAULT_CONFIG,
) -> SimulationResult:
    """A/B on CTR with a true relative lift, 28 daily looks."""
    return run_simulation(
        scenario=f"A/B, CTR {lift:+.1%}, 28 daily looks of {units_per_day} units per arm",
        control=ctr(),
        treatment=rate_per_impression("ctr", 0.10 * (1 + lift)),
        units_per_look=units_per_day,
        looks=28,
        runs=runs,
        seed=seed,
        config=config,
    )
