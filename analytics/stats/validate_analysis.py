"""Seeded simulations behind the analyst-grade methods (CUPED, zero-event arms, power, sequential).

    python -m analytics.stats.validate_analysis              # the figures of docs/notes/analysis_methods.md
    python -m analytics.stats.validate_analysis --runs 1000  # quicker, noisier

Each function runs the shipped public functions on simulated per-unit data (no shortcut
kernels), so the rates are those of the code the report calls. Tests under ``tests/analytics/stats/``
run the same functions with fewer runs.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from analytics.stats.config import StatsConfig
from analytics.stats.cuped import (
    RegressionAdjustedRatioStatistic,
    RegressionAdjustedStatistic,
    regression_adjusted_test,
)
from analytics.stats.frequentist import fixed_horizon_test
from analytics.stats.results import ResultMixin
from analytics.stats.simulation import binomial_margin
from analytics.stats.statistics import ProportionStatistic, SampleMeanStatistic


@dataclass(frozen=True)
class CupedSimulation(ResultMixin):
    metric: str
    runs: int
    units_per_arm: int
    true_lift: float  # relative
    rejection_adjusted: float  # false-positive rate under A/A, power under A/B
    rejection_unadjusted: float
    coverage_adjusted: float
    coverage_unadjusted: float
    width_ratio: float  # mean adjusted CI width / mean unadjusted CI width
    variance_reduction: float  # mean over runs
    margin: float  # 1.96 binomial standard errors of a 5 % rate


def _revenue_units(rng: np.random.Generator, n: int, lift: float) -> tuple[np.ndarray, np.ndarray]:
    """Skewed pre- and in-experiment revenue per unit sharing a unit-level spend propensity."""
    propensity = rng.gamma(0.5, 20.0, n)
    pre = rng.poisson(propensity / 10.0) * 10.0 * rng.uniform(0.5, 1.5, n)
    post = rng.poisson(propensity / 10.0) * 10.0 * rng.uniform(0.5, 1.5, n) * (1.0 + lift)
    return post, pre


def _ctr_units(rng: np.random.Generator, n: int, lift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clicks / impressions before and during the test; a unit's click propensity persists."""
    p = rng.choice([0.02, 0.08, 0.30], n, p=[0.5, 0.3, 0.2])
    activity = rng.gamma(1.0, 3.0, n)  # heavy visitors see more impressions in both periods
    imp_pre, imp = 1 + rng.poisson(activity), 1 + rng.poisson(activity)
    return rng.binomial(imp, p * (1.0 + lift)), imp, rng.binomial(imp_pre, p), imp_pre


def cuped_simulation(
    metric: str = "revenue", *, runs: int = 2000, units_per_arm: int = 2000, lift: float = 0.0, seed: int = 11
) -> CupedSimulation:
    """A/A (``lift=0``) or A/B simulation of the CUPED test against the unadjusted one (relative lift)."""
    rng = np.random.default_rng(seed)
    config = StatsConfig()
    reject = np.zeros((runs, 2), dtype=bool)
    cover = np.zeros((runs, 2), dtype=bool)
    width = np.zeros((runs, 2))
    reduction = np.zeros(runs)
    for i in range(runs):
        if metric == "revenue":
            arms = [RegressionAdjustedStatistic.from_values(*_revenue_units(rng, units_per_arm, x)) for x in (0, lift)]
        else:
            arms = [RegressionAdjustedRatioStatistic.from_units(*_ctr_units(rng, units_per_arm, x)) for x in (0, lift)]
        result = regression_adjusted_test(arms[0], arms[1], config)
        for j, fixed in enumerate((result.adjusted, result.unadjusted)):
            reject[i, j] = fixed.p_value is not None and fixed.p_value < config.alpha
            if fixed.ci_lower is not None and fixed.ci_upper is not None:
                cover[i, j] = fixed.ci_lower <= lift <= fixed.ci_upper
                width[i, j] = fixed.ci_upper - fixed.ci_lower
        reduction[i] = result.variance_reduction or 0.0
    return CupedSimulation(
        metric=metric,
        runs=runs,
        units_per_arm=units_per_arm,
        true_lift=lift,
        rejection_adjusted=float(reject[:, 0].mean()),
        rejection_unadjusted=float(reject[:, 1].mean()),
        coverage_adjusted=float(cover[:, 0].mean()),
        coverage_unadjusted=float(cover[:, 1].mean()),
        width_ratio=float(width[:, 0].mean() / width[:, 1].mean()),
        variance_reduction=float(reduction.mean()),
        margin=binomial_margin(0.05, runs),
    )


def cuped_sequential_simulation(
    *, runs: int = 1000, looks: int = 14, units_per_look: int = 300, method: str = "cs", seed: int = 14
) -> dict[str, float]:
    """A/A revenue with pre-period spend: share of runs whose CUPED-adjusted sequential test ever
    says stop over daily looks, against the unadjusted test on the same data."""
    from analytics.stats.cuped import regression_adjusted_sequential_test
    from analytics.stats.sequential import sequential_test

    rng = np.random.default_rng(seed)
    config = StatsConfig(sequential_method=method)  # type: ignore[arg-type]
    stops = np.zeros((runs, 2), dtype=bool)
    for i in range(runs):
        sums = []
        for _ in range(2):
            y, x = _revenue_units(rng, units_per_look * looks, 0.0)
            y, x = y.reshape(looks, -1), x.reshape(looks, -1)
            sums.append(
                np.cumsum(
                    [
                        (a.sum(), (a * a).sum(), b.sum(), (b * b).sum(), (a * b).sum())
                        for a, b in zip(y, x, strict=True)
                    ],
                    axis=0,
                )
            )
        for k in range(looks):
            n = units_per_look * (k + 1)
            arms = [
                RegressionAdjustedStatistic(
                    n=n,
                    post=SampleMeanStatistic(n=n, sum=c[k, 0], sum_squares=c[k, 1]),
                    pre=SampleMeanStatistic(n=n, sum=c[k, 2], sum_squares=c[k, 3]),
                    post_pre_sum_of_products=c[k, 4],
                )
                for c in sums
            ]
            adjusted = regression_adjusted_sequential_test(arms[0], arms[1], config, look=k + 1)
            plain = sequential_test(arms[0].post, arms[1].post, config, look=k + 1)
            stops[i, 0] |= adjusted.decision not in (None, "continue", "stop_no_effect")
            stops[i, 1] |= plain.decision not in (None, "continue", "stop_no_effect")
    return {"runs": runs, "adjusted_fpr": float(stops[:, 0].mean()), "unadjusted_fpr": float(stops[:, 1].mean())}


@dataclass(frozen=True)
class ZeroEventSimulation(ResultMixin):
    runs: int
    units_per_arm: int
    rate: float
    zero_arm_share: float  # runs where at least one arm had no conversion
    tested_share: float  # runs that produced a p-value
    false_positive_rate: float
    margin: float


def zero_event_simulation(
    *, runs: int = 4000, units_per_arm: int = 2000, rate: float = 0.0005, seed: int = 12, revenue: bool = False
) -> ZeroEventSimulation:
    """A/A on a rare conversion (``rate`` per unit): many arms have none; FPR of the shipped test.

    ``revenue``: the metric is revenue per unit (a skewed order value per conversion, tested with
    the pooled-variance t test when an arm has none) instead of the 0/1 conversion (Fisher).
    """
    rng = np.random.default_rng(seed)
    counts = rng.binomial(units_per_arm, rate, size=(runs, 2))
    config = StatsConfig(difference_type="absolute")
    p_values = []
    for a, b in counts:
        if revenue:
            arms = []
            for k in (a, b):
                values = np.zeros(units_per_arm)
                values[: int(k)] = rng.gamma(2.0, 30.0, int(k))
                arms.append(SampleMeanStatistic.from_values(values))
            result = fixed_horizon_test(arms[0], arms[1], config)
        else:
            result = fixed_horizon_test(
                ProportionStatistic(n=units_per_arm, sum=int(a)),
                ProportionStatistic(n=units_per_arm, sum=int(b)),
                config,
            )
        p_values.append(result.p_value)
    tested = np.array([p is not None for p in p_values])
    rejected = np.array([p is not None and p < 0.05 for p in p_values])
    return ZeroEventSimulation(
        runs=runs,
        units_per_arm=units_per_arm,
        rate=rate,
        zero_arm_share=float((counts.min(axis=1) == 0).mean()),
        tested_share=float(tested.mean()),
        false_positive_rate=float(rejected.mean()),
        margin=binomial_margin(0.05, runs),
    )


TRAFFIC_PROFILES = ("flat", "ramp", "weekly_dips", "ramp_and_dips", "slow_ramp")


def traffic_profile(kind: str, *, days: int = 28, units_per_day: int = 1000) -> np.ndarray:
    """Units per arm per day: flat, a one-week linear ramp, weekends at 40 %, both, or a slow
    (quadratic, two-week) ramp."""
    day = np.arange(days)
    ramp = np.minimum(1.0, (day + 1) / 7.0)
    dips = np.where(day % 7 >= 5, 0.4, 1.0)
    shape = {
        "flat": np.ones(days),
        "ramp": ramp,
        "weekly_dips": dips,
        "ramp_and_dips": ramp * dips,
        "slow_ramp": np.minimum(1.0, ((day + 1) / 14.0) ** 2),
    }[kind]
    return np.maximum(np.round(units_per_day * shape), 1).astype(int)


@dataclass(frozen=True)
class GroupSequentialSimulation(ResultMixin):
    profile: str
    plan_factor: float  # planned units / units the traffic delivers by the last day
    runs: int
    observed_information_fpr: float  # alpha spent by units so far / planned units
    calendar_fpr: float  # alpha spent by day / 28 (equal fractions), the same z statistics
    margin: float


def group_sequential_simulation(
    profile: str = "ramp_and_dips", *, plan_factor: float = 1.0, runs: int = 4000, seed: int = 13
) -> GroupSequentialSimulation:
    """A/A on CTR (exact per-visitor multinomial draws), one look per day for 28 days.

    ``plan_factor`` > 1: traffic falls short of the plan (the last day ends the plan early);
    < 1: the plan's units are reached before day 28 (later looks are after the plan). Both
    rules apply the engine's boundaries (:func:`observed_information_schedule`) and burn-in to
    the delta-method relative-lift z of each day's cumulative sums.
    """
    from analytics.stats.frequentist import lift_moments
    from analytics.stats.group_sequential import group_sequential_boundaries, observed_information_schedule
    from analytics.stats.scenarios import ctr
    from analytics.stats.sequential import equal_information_fractions
    from analytics.stats.statistics import ratio_moments

    rng = np.random.default_rng(seed)
    dist = ctr()
    daily = traffic_profile(profile)
    cumulative = daily.cumsum()
    m, d = dist.numerator, dist.denominator
    moments = []
    for _ in range(2):
        counts = np.stack([rng.multinomial(u, dist.probabilities, size=runs) for u in daily], axis=1).cumsum(axis=1)
        counts = counts.astype(float)
        moments.append(
            ratio_moments(cumulative, counts @ m, counts @ (m * m), counts @ d, counts @ (d * d), counts @ (m * d))
        )
    (mean_a, var_a), (mean_b, var_b) = moments
    estimate, variance = lift_moments(mean_a, var_a, cumulative, mean_b, var_b, cumulative, relative=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(np.where(variance > 0, estimate / np.sqrt(variance), 0.0))
    may_stop = cumulative >= StatsConfig().min_units_per_arm
    schedule = observed_information_schedule(2 * cumulative, 2 * cumulative[-1] * plan_factor, 0.05, ended=True)
    observed = np.array(schedule.boundaries)
    counts_look = np.array(schedule.design_look) & may_stop
    calendar = group_sequential_boundaries(equal_information_fractions(len(daily), len(daily)), 0.05)
    return GroupSequentialSimulation(
        profile=profile,
        plan_factor=plan_factor,
        runs=runs,
        observed_information_fpr=float(((z >= observed) & counts_look).any(axis=1).mean()),
        calendar_fpr=float(((z >= calendar) & may_stop).any(axis=1).mean()),
        margin=binomial_margin(0.05, runs),
    )


def planned_power_simulation(
    *, rate: float = 0.05, lift: float = 0.10, runs: int = 20_000, seed: int = 21
) -> dict[str, float]:
    """Simulated power of the shipped relative-lift Welch test at the planned n (corrected model)
    and at the n the old model planned (control's variance, z spread 1)."""
    from analytics.stats.frequentist import fixed_horizon_arrays, lift_moments, welch_dof
    from analytics.stats.power import sample_size
    from analytics.stats.statistics import proportion_moments

    rng = np.random.default_rng(seed)
    plan = sample_size(baseline_mean=rate, baseline_variance=rate * (1 - rate), relative_lift=lift)
    out: dict[str, float] = {}
    for label, n in (("planned", plan.units_control), ("old_plan", 32_958)):
        a, b = rng.binomial(n, rate, runs), rng.binomial(n, rate * (1 + lift), runs)
        (mean_a, var_a), (mean_b, var_b) = proportion_moments(n, a), proportion_moments(n, b)
        estimate, variance = lift_moments(mean_a, var_a, n, mean_b, var_b, n, relative=True)
        _, p, _, _ = fixed_horizon_arrays(
            estimate, np.sqrt(variance), welch_dof(var_a, n, var_b, n), alpha=0.05, sides="two-sided", test="welch_t"
        )
        out[f"{label}_units_per_arm"] = float(n)
        out[f"{label}_power"] = float((p < 0.05).mean())
    return out


def msprt_revenue_simulation(*, lift: float = 0.15, runs: int = 10_000) -> dict[str, float]:
    """Revenue per visitor, absolute scale, 28 daily looks of 1,000 units per arm: mSPRT power with
    the default tau and with the tau tuned from the MDE (= the true lift), and tuned A/A."""
    from analytics.stats.msprt_tuning import msprt_tau_for_mde, tuned_config
    from analytics.stats.simulation import revenue_per_unit, run_simulation

    control, treatment = revenue_per_unit(), revenue_per_unit(price_factor=1 + lift)
    absolute = StatsConfig(difference_type="absolute")
    tuning = msprt_tau_for_mde(lift * control.true_value, scale="absolute", baseline_mean=control.true_value)
    out = {"tuned_tau": tuning.tau}
    for label, config in (("default", absolute), ("tuned", tuned_config(absolute, tuning))):
        ab = run_simulation(
            scenario=label,
            control=control,
            treatment=treatment,
            units_per_look=1000,
            looks=28,
            runs=runs,
            seed=5,
            config=config,
        )
        out[f"{label}_power"] = ab.outcomes["msprt"].rejection_rate
    aa = run_simulation(
        scenario="aa",
        control=control,
        treatment=control,
        units_per_look=1000,
        looks=28,
        runs=runs,
        seed=6,
        config=tuned_config(absolute, tuning),
    )
    out["tuned_aa_fpr"] = aa.outcomes["msprt"].rejection_rate
    return out


def _pct(x: float) -> str:
    return f"{100 * x:5.2f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000, help="simulated experiments per scenario")
    args = parser.parse_args(argv)
    runs = args.runs
    started = time.perf_counter()
    print(f"analytics.stats analyst-grade methods: {runs:,} seeded runs per scenario, alpha = 0.05, two-sided")
    print(f"(± 1.96 binomial standard errors at 5 %: {100 * binomial_margin(0.05, runs):.2f} points)\n")
    print("1. CUPED (pooled theta), relative lift, 2,000 units per arm")
    for metric in ("revenue", "ctr"):
        for lift in (0.0, 0.05 if metric == "revenue" else 0.10):
            s = cuped_simulation(metric, runs=max(runs // 5, 200), lift=lift)
            label = "A/A false positives" if lift == 0 else f"A/B {lift:+.0%} power"
            print(
                f"   {metric:8s} {label:22s} adjusted {_pct(s.rejection_adjusted)}  unadjusted "
                f"{_pct(s.rejection_unadjusted)}  coverage {_pct(s.coverage_adjusted)} / "
                f"{_pct(s.coverage_unadjusted)}  CI width x{s.width_ratio:.3f}  "
                f"variance reduction {_pct(s.variance_reduction)}  ({s.runs:,} runs)"
            )
    print()
    print("2. Zero-event arms: A/A, 2,000 units per arm, a 0/1 conversion (Fisher) or revenue (pooled t)")
    for rate, revenue in ((0.0005, False), (0.002, False), (0.0005, True), (0.002, True)):
        z = zero_event_simulation(runs=runs, rate=rate, revenue=revenue)
        print(
            f"   {'revenue' if revenue else '0/1':7s} rate {z.rate:.2%}: runs with an arm without conversions "
            f"{_pct(z.zero_arm_share)}, tested {_pct(z.tested_share)}, "
            f"false positives {_pct(z.false_positive_rate)} ± {100 * z.margin:.2f}"
        )
    print("\n3. Group-sequential, alpha by observed information; A/A CTR, 28 daily looks, ~1,000 units per arm per day")
    for profile in TRAFFIC_PROFILES:
        for factor in (1.0, 1.25, 0.8):
            g = group_sequential_simulation(profile, plan_factor=factor, runs=runs)
            print(
                f"   {profile:14s} planned/actual units {factor:4.2f}: observed information "
                f"{_pct(g.observed_information_fpr)}, calendar fractions {_pct(g.calendar_fpr)} ± {100 * g.margin:.2f}"
            )
    power = planned_power_simulation(runs=2 * runs)
    print("\n4. Planned power, 5 % conversion, +10 % relative, fixed horizon (Welch, relative lift)")
    print(
        f"   planned {power['planned_units_per_arm']:,.0f} per arm: simulated {_pct(power['planned_power'])}; "
        f"the old plan's {power['old_plan_units_per_arm']:,.0f}: {_pct(power['old_plan_power'])} ({2 * runs:,} runs)"
    )
    tuned = msprt_revenue_simulation(runs=runs)
    print("\n5. mSPRT on revenue per visitor, absolute scale, +15 %, 28 daily looks of 1,000 units per arm")
    print(
        f"   power with tau 5 %: {_pct(tuned['default_power'])}; with tau tuned from the MDE "
        f"({tuned['tuned_tau']:.3f}): {_pct(tuned['tuned_power'])}; tuned A/A {_pct(tuned['tuned_aa_fpr'])}"
    )
    seq = cuped_sequential_simulation(runs=max(runs // 10, 100))
    print("\n6. CUPED inside the confidence sequence: A/A revenue, 14 daily looks of 300 units per arm")
    print(
        f"   ever stopped: adjusted {_pct(seq['adjusted_fpr'])}, unadjusted {_pct(seq['unadjusted_fpr'])} "
        f"({seq['runs']:,} runs, ± {100 * binomial_margin(0.05, int(seq['runs'])):.2f})"
    )
    print(f"\nfinished in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
