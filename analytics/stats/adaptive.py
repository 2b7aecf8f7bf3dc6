"""Adaptive allocation (bandit mode): simulated validity of the analysis, and regret.

A bandit-mode experiment splits its hash space into a fixed **holdout slice**, always split
evenly between all arms, and an **adaptive slice** re-weighted daily by Thompson sampling
(`analytics.stats.bandit`, the same code the platform runs). The report analyses the holdout slice
alone. Why not all traffic? Under adaptive allocation an arm's share depends on its own past
results (arms that look bad early are starved before they can recover: their means are biased
down) and on the day (an arm whose share grew on weekends inherits the weekend's higher rates).
Inverse-propensity weighting fixes the first but needs the propensity of every unit and has a
large variance when the floor is small; a holdout slice is simple, exactly randomized and its
analysis is the ordinary one, at the price of the slice's smaller sample.

    python -m analytics.stats.adaptive            # A/A false-positive rates and regret (~30 s)
    python -m analytics.stats.adaptive --runs 200

Pure numpy and the engine's own tests; seeded: the same command prints the same numbers.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analytics.stats.bandit import ArmCounts, thompson_weights
from analytics.stats.config import StatsConfig
from analytics.stats.frequentist import fixed_horizon_test
from analytics.stats.statistics import ProportionStatistic

# Logit-scale weekday effects (Monday … Sunday): strong enough that an allocation that drifts
# across the week confounds arms in an all-traffic analysis.
WEEKDAY_EFFECTS = (-0.25, -0.2, -0.1, 0.0, 0.1, 0.3, 0.35)


@dataclass(frozen=True)
class AdaptiveScenario:
    rates: tuple[float, ...]  # true per-impression rate of each arm; arm 0 is the control
    days: int = 14
    units_per_day: int = 2000
    holdout: float = 0.2
    floor: float = 0.05
    control_share: float = 0.25
    weekday_effects: tuple[float, ...] = WEEKDAY_EFFECTS
    draws: int = 300  # Monte-Carlo draws per re-weighting (the platform uses more; the bias is the same)


@dataclass(frozen=True)
class RunResult:
    holdout_counts: np.ndarray  # (arms, 2): units, successes in the holdout slice
    all_counts: np.ndarray  # (arms, 2): units, successes over all traffic
    conversions: float  # expected successes of the run (sum of true rates over units)
    best_conversions: float  # expected successes had every unit seen the best arm
    shares: list[list[float]]  # adaptive-slice weights per day


def _day_rates(rates: Sequence[float], effect: float) -> np.ndarray:
    logits = np.log(np.asarray(rates) / (1 - np.asarray(rates))) + effect
    return 1.0 / (1.0 + np.exp(-logits))


def simulate_run(scenario: AdaptiveScenario, *, adaptive: bool, seed: int) -> RunResult:
    """One experiment: each day, units are split (holdout evenly, the rest by the current weights),
    convert with the day's rates, and (adaptive) the weights are re-computed from all traffic so far."""
    rng = np.random.default_rng(seed)
    k = len(scenario.rates)
    keys = [f"arm{i}" for i in range(k)]
    even = np.full(k, 1.0 / k)
    weights = even.copy()
    holdout = np.zeros((k, 2))
    everything = np.zeros((k, 2))
    conversions = best = 0.0
    shares: list[list[float]] = []
    for day in range(scenario.days):
        rates = _day_rates(scenario.rates, scenario.weekday_effects[day % 7] if scenario.weekday_effects else 0.0)
        n_holdout = rng.binomial(scenario.units_per_day, scenario.holdout) if adaptive else 0
        split_h = rng.multinomial(n_holdout, even)
        split_a = rng.multinomial(scenario.units_per_day - n_holdout, weights if adaptive else even)
        wins_h = rng.binomial(split_h, rates)
        wins_a = rng.binomial(split_a, rates)
        holdout += np.column_stack([split_h, wins_h])
        everything += np.column_stack([split_h + split_a, wins_h + wins_a])
        conversions += float(((split_h + split_a) * rates).sum())
        best += float(scenario.units_per_day * rates.max())
        shares.append([float(w) for w in weights])
        if adaptive:
            result = thompson_weights(
                arms=[ArmCounts(key, int(n), int(s)) for key, (n, s) in zip(keys, everything, strict=True)],
                control=keys[0],
                control_share=scenario.control_share,
                floor=scenario.floor,
                draws=scenario.draws,
                seed=int(rng.integers(2**31)),
            )
            weights = np.array([result.weights[key] for key in keys])
    if not adaptive:
        holdout = everything.copy()  # a fixed-allocation test is all holdout
    return RunResult(
        holdout_counts=holdout, all_counts=everything, conversions=conversions, best_conversions=best, shares=shares
    )


def _significant(counts: np.ndarray, config: StatsConfig) -> list[bool]:
    control = ProportionStatistic(n=int(counts[0, 0]), sum=float(counts[0, 1]))
    out = []
    for arm in counts[1:]:
        result = fixed_horizon_test(control, ProportionStatistic(n=int(arm[0]), sum=float(arm[1])), config)
        out.append(bool(result.significant))
    return out


@dataclass(frozen=True)
class AaResult:
    runs: int
    comparisons: int
    fpr_holdout: float  # share of (run, arm) comparisons significant on the holdout slice
    fpr_all_traffic: float  # the same test on all traffic (invalid under adaptive allocation)
    se: float  # binomial standard error of an FPR near alpha

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("runs", "comparisons", "fpr_holdout", "fpr_all_traffic", "se")}


def aa_false_positive_rate(
    *, runs: int = 500, rate: float = 0.05, arms: int = 4, alpha: float = 0.05, seed: int = 20261126, **kwargs
) -> AaResult:
    """A/A: every arm has the same true rate; the share of λ-arm-vs-control tests that reject."""
    scenario = AdaptiveScenario(rates=(rate,) * arms, **kwargs)
    config = StatsConfig(alpha=alpha, difference_type="relative")
    holdout_hits = all_hits = 0
    for run in range(runs):
        result = simulate_run(scenario, adaptive=True, seed=seed + run)
        holdout_hits += sum(_significant(result.holdout_counts, config))
        all_hits += sum(_significant(result.all_counts, config))
    comparisons = runs * (arms - 1)
    return AaResult(
        runs=runs,
        comparisons=comparisons,
        fpr_holdout=holdout_hits / comparisons,
        fpr_all_traffic=all_hits / comparisons,
        se=math.sqrt(alpha * (1 - alpha) / comparisons),
    )


@dataclass(frozen=True)
class RegretResult:
    rates: tuple[float, ...]
    runs: int
    regret_fixed: float  # mean conversions lost vs always showing the best arm, fixed 1:1:…
    regret_adaptive: float
    units: int
    final_shares: list[float]  # mean adaptive-slice weights on the last day

    def as_dict(self) -> dict:
        return {
            "rates": list(self.rates),
            "runs": self.runs,
            "units": self.units,
            "regret_fixed": self.regret_fixed,
            "regret_adaptive": self.regret_adaptive,
            "final_shares": self.final_shares,
        }


def regret(*, rates: Sequence[float], runs: int = 100, seed: int = 7, **kwargs) -> RegretResult:
    """Expected conversions lost vs the best arm, fixed equal split vs adaptive, same simulated weeks."""
    scenario = AdaptiveScenario(rates=tuple(rates), control_share=1.0 / len(rates), **kwargs)
    fixed, adaptive, finals = [], [], []
    for run in range(runs):
        a = simulate_run(scenario, adaptive=False, seed=seed + run)
        b = simulate_run(scenario, adaptive=True, seed=seed + run)
        fixed.append(a.best_conversions - a.conversions)
        adaptive.append(b.best_conversions - b.conversions)
        finals.append(b.shares[-1])
    return RegretResult(
        rates=tuple(rates),
        runs=runs,
        regret_fixed=float(np.mean(fixed)),
        regret_adaptive=float(np.mean(adaptive)),
        units=scenario.days * scenario.units_per_day,
        final_shares=[float(x) for x in np.mean(finals, axis=0)],
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    aa = aa_false_positive_rate(runs=args.runs)
    print(
        f"A/A, 4 arms, 14 days × 2000 units, holdout 20 %, {aa.comparisons} comparisons at alpha 5 %: "
        f"holdout-slice analysis {aa.fpr_holdout:.2%}, all-traffic analysis {aa.fpr_all_traffic:.2%} "
        f"(± {2 * aa.se:.2%})"
    )
    r = regret(rates=(0.040, 0.044, 0.050, 0.036), runs=max(20, args.runs // 5))
    print(
        f"regret over {r.units} units (CVR control 4.0 %, λ arms 4.4 / 5.0 / 3.6 %): fixed 1:1:1:1 "
        f"{r.regret_fixed:.1f} conversions lost, adaptive {r.regret_adaptive:.1f} "
        f"({r.regret_adaptive / r.regret_fixed:.2f}×); last-day adaptive weights "
        + ", ".join(f"{w:.2f}" for w in r.final_shares)
    )
    print(f"({time.perf_counter() - began:.1f} s)")


if __name__ == "__main__":
    main()
