"""Seeded simulations behind the novelty views (daily lift, its trend, exposure cohorts).

Each run is a two-arm CTR experiment of ``days`` days: ``new_per_day`` new visitors per arm and
day, each with its own click propensity (Beta around ``base_ctr``: visitors differ, so days that
share visitors are correlated), back on each later day with probability ``return_prob``, with
1 + Poisson(0.5) impressions per visit. The treatment multiplies a visitor's propensity by
1 + ``lift`` · exp(-t / ``fade_days``), t = days since the visitor's first exposure: a novelty
effect that fades per visitor (``fade_days=None``: a constant lift). As returning visitors make
up more of each later day, the daily lift falls.

``python -m analytics.stats.validate_novelty [runs]`` prints the figures (README, *Lift reports*).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from analytics.stats.breakdown import ArmArrays
from analytics.stats.config import StatsConfig
from analytics.stats.novelty import lift_difference, lift_trend, period_lifts


@dataclass(frozen=True)
class NoveltySimulation:
    runs: int
    days: int
    daily_coverage: float  # share of (run, day) whose daily CI holds the true lift (A/A only: 0)
    mean_daily_lift: list[float]  # per day, over runs
    cumulative_lift: float  # mean over runs of the lift on all days pooled (each unit's whole history)
    trend_rejections: float  # share of runs whose trend p < alpha
    fading_share: float  # share of runs flagged fading
    mean_slope: float
    cohort_first_lift: float
    cohort_later_lift: float
    cohort_rejections: float  # share of runs whose cohort difference p < alpha


def _arm(
    rng: np.random.Generator,
    *,
    runs: int,
    days: int,
    new_per_day: int,
    return_prob: float,
    base_ctr: float,
    lift: float,
    fade_days: float | None,
    concentration: float = 20.0,
    cohort_days: int = 7,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per run and day: the day's sufficient statistics; per run and cohort (first week, later): the
    cohort's, over each unit's whole history; and the pooled ones (every unit, whole history)."""
    units = new_per_day * days
    arrival = np.repeat(np.arange(days), new_per_day)  # (units,)
    day = np.arange(days)
    since = day[None, :] - arrival[:, None]  # (units, days): days since first exposure
    exposed = since >= 0
    propensity = rng.beta(base_ctr * concentration, (1 - base_ctr) * concentration, size=(runs, units))
    active = exposed[None] & ((since[None] == 0) | (rng.random((runs, units, days)) < return_prob))
    impressions = np.where(active, 1 + rng.poisson(0.5, size=(runs, units, days)), 0)
    effect = np.ones(since.shape) if fade_days is None else np.exp(-np.clip(since, 0, None) / fade_days)
    p = np.clip(propensity[:, :, None] * (1 + lift * effect[None]), 0, 1)
    clicks = rng.binomial(impressions, p)
    imp, clk = impressions.astype(float), clicks.astype(float)

    def sums(i: np.ndarray, c: np.ndarray, n: np.ndarray, axis: int) -> dict[str, np.ndarray]:
        return {
            "n": n,
            "m": c.sum(axis=axis),
            "mm": (c * c).sum(axis=axis),
            "d": i.sum(axis=axis),
            "dd": (i * i).sum(axis=axis),
            "md": (c * i).sum(axis=axis),
        }

    daily = sums(imp, clk, active.sum(axis=1).astype(float), axis=1)  # (runs, days)
    unit_imp, unit_clk = imp.sum(axis=2), clk.sum(axis=2)  # (runs, units)
    first = arrival < cohort_days
    cohorts = {
        key: np.stack(
            [
                values
                for values in (
                    sums(unit_imp[:, mask], unit_clk[:, mask], np.full(runs, float(mask.sum())), axis=1)[key]
                    for mask in (first, ~first)
                )
            ],
            axis=1,
        )
        for key in ("n", "m", "mm", "d", "dd", "md")
    }  # (runs, 2)
    pooled = sums(unit_imp, unit_clk, np.full(runs, float(units)), axis=1)  # (runs,)
    return daily, cohorts, pooled


def _arrays(s: dict[str, np.ndarray]) -> ArmArrays:
    return ArmArrays(
        n=s["n"], m_sum=s["m"], m_sum_squares=s["mm"], d_sum=s["d"], d_sum_squares=s["dd"], m_d_sum_of_products=s["md"]
    )


def novelty_simulation(
    *,
    runs: int = 400,
    days: int = 14,
    new_per_day: int = 300,
    return_prob: float = 0.4,
    base_ctr: float = 0.09,
    lift: float = 0.0,
    fade_days: float | None = None,
    alpha: float = 0.05,
    seed: int = 0,
    chunk: int = 50,
) -> NoveltySimulation:
    """Daily relative CTR lifts, their trend and the exposure-cohort difference over ``runs`` seeded runs."""
    rng = np.random.default_rng(seed)
    config = StatsConfig(alpha=alpha)
    covered = tested = 0
    daily_sum = np.zeros(days)
    daily_count = np.zeros(days)
    cumulative: list[float] = []
    trend_reject = fading = cohort_reject = 0
    slopes: list[float] = []
    first_lifts: list[float] = []
    later_lifts: list[float] = []
    done = 0
    while done < runs:
        size = min(chunk, runs - done)
        arm = {"new_per_day": new_per_day, "return_prob": return_prob, "base_ctr": base_ctr, "fade_days": fade_days}
        c_daily, c_cohorts, c_pooled = _arm(rng, runs=size, days=days, lift=0.0, **arm)  # type: ignore[arg-type]
        t_daily, t_cohorts, t_pooled = _arm(rng, runs=size, days=days, lift=lift, **arm)  # type: ignore[arg-type]
        flat = {k: v.reshape(-1) for k, v in c_daily.items()}, {k: v.reshape(-1) for k, v in t_daily.items()}
        day_lifts = period_lifts(_arrays(flat[0]), _arrays(flat[1]), relative=True, config=config)
        estimate = day_lifts.estimate.reshape(size, days)
        se = day_lifts.std_error.reshape(size, days)  # type: ignore[union-attr]
        lower, upper = day_lifts.ci_lower.reshape(size, days), day_lifts.ci_upper.reshape(size, days)
        if lift == 0:
            ok = np.isfinite(lower) & np.isfinite(upper)
            covered += int(((lower <= 0) & (upper >= 0) & ok).sum())
            tested += int(ok.sum())
        finite = np.isfinite(estimate)
        daily_sum += np.where(finite, estimate, 0).sum(axis=0)
        daily_count += finite.sum(axis=0)
        cohorts = period_lifts(
            _arrays({k: v.reshape(-1) for k, v in c_cohorts.items()}),
            _arrays({k: v.reshape(-1) for k, v in t_cohorts.items()}),
            relative=True,
            config=config,
        )
        pooled = period_lifts(_arrays(c_pooled), _arrays(t_pooled), relative=True, config=config)
        cumulative.extend(pooled.estimate.tolist())
        c_est, c_se = cohorts.estimate.reshape(size, 2), cohorts.std_error.reshape(size, 2)  # type: ignore[union-attr]
        for r in range(size):
            trend = lift_trend(estimate[r], se[r], alpha=alpha)
            if trend.p_value is not None:
                trend_reject += trend.p_value < alpha
                slopes.append(trend.slope)  # type: ignore[arg-type]
            fading += trend.fading
            diff = lift_difference(c_est[r, 0], c_se[r, 0], c_est[r, 1], c_se[r, 1], alpha=alpha)
            cohort_reject += diff.p_value is not None and diff.p_value < alpha
            first_lifts.append(float(c_est[r, 0]))
            later_lifts.append(float(c_est[r, 1]))
        done += size
    return NoveltySimulation(
        runs=runs,
        days=days,
        daily_coverage=covered / tested if tested else float("nan"),
        mean_daily_lift=(daily_sum / np.maximum(daily_count, 1)).tolist(),
        cumulative_lift=float(np.nanmean(cumulative)),
        trend_rejections=trend_reject / runs,
        fading_share=fading / runs,
        mean_slope=float(np.mean(slopes)) if slopes else float("nan"),
        cohort_first_lift=float(np.nanmean(first_lifts)),
        cohort_later_lift=float(np.nanmean(later_lifts)),
        cohort_rejections=cohort_reject / runs,
    )


def main(runs: int = 1000) -> None:
    print(f"Novelty views, {runs} seeded runs per scenario: 14 days, 300 new visitors per arm and day, CTR 9 %,")
    print("40 % of visitors back each later day; alpha = 5 %.")
    scenarios = {
        "A/A": {"lift": 0.0},
        "constant +10 %": {"lift": 0.10},
        "novelty +30 %, fading in 2 days": {"lift": 0.30, "fade_days": 2.0},
        "the same novelty at 1,000 new visitors per arm and day": {"lift": 0.30, "fade_days": 2.0, "new_per_day": 1000},
    }
    for name, kwargs in scenarios.items():
        s = novelty_simulation(runs=runs, seed=1, **kwargs)  # type: ignore[arg-type]
        print(f"\n{name}")
        if kwargs["lift"] == 0:
            print(f"  daily 95 % CI coverage of the true lift 0: {s.daily_coverage:.2%}")
        print(f"  mean daily lift, day 1 → day {s.days}: {s.mean_daily_lift[0]:+.1%} → {s.mean_daily_lift[-1]:+.1%}")
        print(f"  cumulative lift (all days pooled): {s.cumulative_lift:+.1%}")
        print(f"  trend test rejects: {s.trend_rejections:.1%}; flagged fading: {s.fading_share:.1%}")
        print(f"  mean slope: {s.mean_slope:+.2%} per day")
        print(
            f"  exposure cohorts: week 1 {s.cohort_first_lift:+.1%}, later {s.cohort_later_lift:+.1%}; "
            f"difference significant in {s.cohort_rejections:.1%}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
