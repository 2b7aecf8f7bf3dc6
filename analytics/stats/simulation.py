"""Seeded, vectorised simulations that validate the tests: false-positive rate, coverage, power.

Exact per-unit simulation at the cost of aggregates: each scenario describes one visitor's
totals (e.g. impressions and clicks) as a finite distribution over ``k`` possible outcomes.
The number of units with each outcome in an arm is multinomial, and every sufficient
statistic is a dot product of those counts with the outcome values, so a look at ``n`` units
costs O(k) draws however large ``n`` is, and no unit-level data is approximated away
(in particular, not the within-visitor correlation of clicks with impressions that the delta
method has to get right).

The evaluation runs the same vectorised kernels as the public test functions
(``ratio_moments``, ``lift_moments``, ``fixed_horizon_arrays``, ``mixture_p_value``, the
group-sequential boundaries), so the simulated rates are the rates of the shipped code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps

from analytics.stats.config import DEFAULT_CONFIG, StatsConfig
from analytics.stats.frequentist import fixed_horizon_arrays, lift_moments, welch_dof
from analytics.stats.group_sequential import group_sequential_boundaries
from analytics.stats.results import ResultMixin
from analytics.stats.sequential import (
    equal_information_fractions,
    mixture_critical_z,
    mixture_p_value,
    mixture_r,
)
from analytics.stats.statistics import mean_moments, ratio_moments

# Simulations are drawn in blocks of this many runs (with one spawned seed per block), which
# bounds memory and keeps the results identical whatever the machine.
_BLOCK_RUNS = 2000


@dataclass(frozen=True)
class UnitDistribution:
    """Finite distribution of one unit's totals for one metric.

    ``numerator[i]`` (and ``denominator[i]`` for ratio metrics) with probability
    ``probabilities[i]``; ``denominator`` None means a per-unit mean metric.
    """

    name: str
    numerator: np.ndarray
    denominator: np.ndarray | None
    probabilities: np.ndarray

    def __post_init__(self) -> None:
        p = np.asarray(self.probabilities, dtype=float)
        if p.ndim != 1 or np.any(p < 0) or not math.isclose(p.sum(), 1.0, rel_tol=1e-9):
            raise ValueError("probabilities must be a non-negative vector summing to 1")
        if np.shape(self.numerator) != p.shape or (
            self.denominator is not None and np.shape(self.denominator) != p.shape
        ):
            raise ValueError("values and probabilities must have the same length")

    @property
    def true_value(self) -> float:
        """The metric's population value: E[numerator] / E[denominator] or E[value]."""
        mean_m = float(np.dot(self.probabilities, self.numerator))
        if self.denominator is None:
            return mean_m
        return mean_m / float(np.dot(self.probabilities, self.denominator))

    @property
    def unit_variance(self) -> float:
        """Population per-unit variance (delta method for ratios): what ``variance`` estimates."""
        p, m = self.probabilities, self.numerator
        mean_m = float(np.dot(p, m))
        var_m = float(np.dot(p, (m - mean_m) ** 2))
        if self.denominator is None:
            return var_m
        d = self.denominator
        mean_d = float(np.dot(p, d))
        ratio = mean_m / mean_d
        return float(np.dot(p, (m - ratio * d) ** 2)) / mean_d**2


def _collapse(
    name: str, numerator: list[float], denominator: list[float] | None, probs: list[float]
) -> UnitDistribution:
    keys: dict[tuple[float, float], float] = {}
    for i, p in enumerate(probs):
        key = (numerator[i], denominator[i] if denominator is not None else 0.0)
        keys[key] = keys.get(key, 0.0) + p
    items = [(k, p) for k, p in keys.items() if p > 0]
    total = sum(p for _, p in items)
    return UnitDistribution(
        name=name,
        numerator=np.array([k[0] for k, _ in items]),
        denominator=np.array([k[1] for k, _ in items]) if denominator is not None else None,
        probabilities=np.array([p / total for _, p in items]),
    )


def ratio_distribution(
    name: str, rate: float, denominator_pmf: Sequence[float], *, propensity_spread: float = 0.6
) -> UnitDistribution:
    """A ratio metric built as events ~ Binomial(denominator, p) per unit.

    ``denominator_pmf[k]`` is the probability that a unit has k denominator events (k may be
    0: e.g. visitors without clicks in orders / clicks). Units are heterogeneous: half have
    p = rate * (1 - spread) and half p = rate * (1 + spread), so events cluster within units and
    a per-event binomial variance would be too small; the per-unit delta method must see that.
    """
    weights = np.asarray(denominator_pmf, dtype=float)
    weights = weights / weights.sum()
    num: list[float] = []
    den: list[float] = []
    probs: list[float] = []
    for propensity in (rate * (1 - propensity_spread), rate * (1 + propensity_spread)):
        for count, w in enumerate(weights):
            for events in range(count + 1):
                num.append(float(events))
                den.append(float(count))
                probs.append(0.5 * w * sps.binom.pmf(events, count, propensity))
    return _collapse(name, num, den, probs)


def rate_per_impression(
    name: str, rate: float, *, mean_impressions: float = 2.0, max_impressions: int = 8
) -> UnitDistribution:
    """Events per impression (CTR, CVR): impressions ~ 1 + Poisson(mean - 1), at most ``max``."""
    counts = np.arange(max_impressions + 1)
    pmf = np.where(counts >= 1, sps.poisson.pmf(counts - 1, mean_impressions - 1.0), 0.0)
    return ratio_distribution(name, rate, pmf)


def rate_per_click(name: str, rate: float, *, clicker_share: float = 0.2, max_clicks: int = 4) -> UnitDistribution:
    """Events per click (orders / clicks, add-to-carts / clicks): most visitors never click,
    so most units have a zero denominator."""
    counts = np.arange(max_clicks + 1)
    clickers = sps.poisson.pmf(counts - 1, 0.5) * clicker_share
    pmf = np.where(counts == 0, 1.0 - clicker_share, clickers)
    return ratio_distribution(name, rate, pmf)


def revenue_per_unit(
    name: str = "revenue_per_unit",
    *,
    order_rates: Sequence[float] = (0.035, 0.006),
    prices: Sequence[float] = (19.9, 49.9, 129.0),
    price_probabilities: Sequence[float] = (0.6, 0.3, 0.1),
    price_factor: float = 1.0,
) -> UnitDistribution:
    """Revenue per visitor: 0, 1 or 2 orders (probabilities ``order_rates`` for 1 and 2), each
    at a price drawn from ``prices``; heavily right-skewed and mostly zero, like real revenue.
    ``price_factor`` scales every price (a known relative lift of exactly price_factor - 1)."""
    p1, p2 = order_rates
    values: list[float] = [0.0]
    probs: list[float] = [1.0 - p1 - p2]
    for price, q in zip(prices, price_probabilities, strict=True):
        values.append(price * price_factor)
        probs.append(p1 * q)
    for i, (a, qa) in enumerate(zip(prices, price_probabilities, strict=True)):
        for j, (b, qb) in enumerate(zip(prices, price_probabilities, strict=True)):
            if j >= i:
                values.append((a + b) * price_factor)
                probs.append(p2 * qa * qb * (1 if i == j else 2))
    return _collapse(name, values, None, probs)


@dataclass(frozen=True)
class ArmLooks:
    """Cumulative sufficient statistics of one arm, arrays of shape (runs, looks)."""

    n: np.ndarray
    m_sum: np.ndarray
    m_sum_squares: np.ndarray
    d_sum: np.ndarray | None = None
    d_sum_squares: np.ndarray | None = None
    m_d_sum_of_products: np.ndarray | None = None

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        if self.d_sum is None:
            return mean_moments(self.n, self.m_sum, self.m_sum_squares)
        return ratio_moments(
            self.n, self.m_sum, self.m_sum_squares, self.d_sum, self.d_sum_squares, self.m_d_sum_of_products
        )


def simulate_arm(
    dist: UnitDistribution, *, units_per_look: int, looks: int, runs: int, rng: np.random.Generator
) -> ArmLooks:
    """Cumulative statistics after each of ``looks`` looks of ``units_per_look`` new units."""
    blocks = []
    for start in range(0, runs, _BLOCK_RUNS):
        size = min(_BLOCK_RUNS, runs - start)
        counts = rng.multinomial(units_per_look, dist.probabilities, size=(size, looks)).cumsum(axis=1)
        counts = counts.astype(float)
        m, d = dist.numerator, dist.denominator
        block = [counts @ m, counts @ (m * m)]
        if d is not None:
            block += [counts @ d, counts @ (d * d), counts @ (m * d)]
        blocks.append(block)
    columns = [np.concatenate(parts) for parts in zip(*blocks, strict=True)]
    n = np.broadcast_to(units_per_look * np.arange(1, looks + 1, dtype=float), (runs, looks))
    return ArmLooks(n, *columns)


def binomial_margin(rate: float, runs: int, z: float = 1.96) -> float:
    """Half-width of the normal-approximation interval for a simulated rate."""
    return z * math.sqrt(max(rate * (1 - rate), 1e-12) / runs)


@dataclass(frozen=True)
class MethodOutcome(ResultMixin):
    """Simulated behaviour of one method. ``rejection_rate`` is the false-positive rate under
    A/A and the power under A/B; ``coverage`` is how often the interval held the true lift
    (at the final look for ``fixed``; at every look past the burn-in for the others)."""

    method: str
    runs: int
    rejection_rate: float
    rejection_margin: float  # 1.96 binomial standard errors
    coverage: float
    coverage_margin: float
    mean_stop_fraction: float  # share of the horizon used when stopping at the first rejection


@dataclass(frozen=True)
class SimulationResult(ResultMixin):
    scenario: str
    metric: str
    difference_type: str
    true_lift: float
    units_per_arm_per_look: int
    looks: int
    runs: int
    seed: int
    degenerate_runs: int  # runs where some look had no valid test (counted as no rejection)
    outcomes: dict[str, MethodOutcome] = field(default_factory=dict)


def run_simulation(
    *,
    scenario: str,
    control: UnitDistribution,
    treatment: UnitDistribution,
    units_per_look: int,
    looks: int,
    runs: int,
    seed: int,
    config: StatsConfig = DEFAULT_CONFIG,
) -> SimulationResult:
    """Simulate ``runs`` experiments with ``looks`` cumulative looks and evaluate each method.

    Methods: ``fixed`` (one look at the end), ``fixed_daily_peeking`` (fixed-horizon test at
    every look, stop at the first p < alpha: what not to do), ``cs``, ``msprt`` and
    ``group_sequential`` (a design planned for exactly ``looks`` equal looks). All two-sided at
    ``config.alpha``, on ``config.difference_type``, with ``config.min_units_per_arm`` as the
    burn-in of the methods that look more than once.
    """
    rng = np.random.default_rng(seed)
    arm_a = simulate_arm(control, units_per_look=units_per_look, looks=looks, runs=runs, rng=rng)
    arm_b = simulate_arm(treatment, units_per_look=units_per_look, looks=looks, runs=runs, rng=rng)
    relative = config.difference_type == "relative"
    if relative:
        true_lift = treatment.true_value / control.true_value - 1.0
    else:
        true_lift = treatment.true_value - control.true_value
    mean_a, var_a = arm_a.moments()
    mean_b, var_b = arm_b.moments()
    estimate, variance = lift_moments(mean_a, var_a, arm_a.n, mean_b, var_b, arm_b.n, relative=relative)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(variance)
        valid = np.isfinite(estimate) & np.isfinite(se) & (se > 0) & (var_a > 0) & (var_b > 0)
    if relative:
        valid &= mean_a != 0
    est = np.where(valid, estimate, 0.0)
    se = np.where(valid, se, 1.0)  # a harmless placeholder; invalid looks never reject or cover
    z = est / se
    # The same burn-in as the product: sequential methods (and, to compare like with like, the
    # daily peeking) cannot stop before both arms reach min_units_per_arm.
    may_stop = valid & (np.minimum(arm_a.n, arm_b.n) >= config.min_units_per_arm)
    alpha = config.alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = np.where(valid, welch_dof(var_a, arm_a.n, var_b, arm_b.n), 1.0)
    _, p_fixed, lo_fixed, hi_fixed = fixed_horizon_arrays(
        est, se, dof, alpha=alpha, sides="two-sided", test=config.test
    )

    def covers(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return valid & (lo <= true_lift) & (true_lift <= hi)

    reject: dict[str, np.ndarray] = {}
    cover: dict[str, np.ndarray] = {}
    # fixed: only the final look counts.
    reject_fixed = np.zeros_like(valid)
    reject_fixed[:, -1] = valid[:, -1] & (p_fixed[:, -1] < alpha)
    reject["fixed"], cover["fixed"] = reject_fixed, covers(lo_fixed, hi_fixed)[:, -1]
    reject["fixed_daily_peeking"] = may_stop & (p_fixed < alpha)
    cover["fixed_daily_peeking"] = (covers(lo_fixed, hi_fixed) | ~may_stop).all(axis=1)
    for method in ("cs", "msprt"):
        r = mixture_r(method, n_total=arm_a.n + arm_b.n, std_error=se, config=config, baseline_mean=mean_a)
        crit = mixture_critical_z(r, alpha)
        reject[method] = may_stop & (mixture_p_value(z, r) < alpha)
        cover[method] = (covers(est - crit * se, est + crit * se) | ~may_stop).all(axis=1)
    boundaries = group_sequential_boundaries(equal_information_fractions(looks, looks), alpha)
    reject["group_sequential"] = may_stop & (np.abs(z) >= boundaries)
    cover["group_sequential"] = (covers(est - boundaries * se, est + boundaries * se) | ~may_stop).all(axis=1)

    outcomes = {}
    for method, rejections in reject.items():
        rejected = rejections.any(axis=1)
        first = np.where(rejected, rejections.argmax(axis=1) + 1, looks)
        rate = float(rejected.mean())
        coverage = float(cover[method].mean())
        outcomes[method] = MethodOutcome(
            method=method,
            runs=runs,
            rejection_rate=rate,
            rejection_margin=binomial_margin(rate, runs),
            coverage=coverage,
            coverage_margin=binomial_margin(coverage, runs),
            mean_stop_fraction=float(first.mean() / looks) if method != "fixed" else 1.0,
        )
    return SimulationResult(
        scenario=scenario,
        metric=control.name,
        difference_type=config.difference_type,
        true_lift=true_lift,
        units_per_arm_per_look=units_per_look,
        looks=looks,
        runs=runs,
        seed=seed,
        degenerate_runs=int((~valid).any(axis=1).sum()),
        outcomes=outcomes,
    )
