"""Print the simulated false-positive rates, coverage and power of the statistics engine.

    python -m analytics.stats.validate            # 10,000 runs per scenario (~15 s)
    python -m analytics.stats.validate --runs 2000

Seeded: the same command prints the same numbers. The validation tests in
``tests/analytics/stats/test_validation.py`` assert on the same scenarios and seeds.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable

from analytics.stats.config import StatsConfig
from analytics.stats.power import power_at
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
from analytics.stats.simulation import SimulationResult, rate_per_impression, revenue_per_unit

METHODS = ("fixed", "fixed_daily_peeking", "cs", "msprt", "group_sequential")


def _pct(value: float) -> str:
    return f"{100 * value:5.2f} %"


def _row(cells: Iterable[str], widths: Iterable[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=False))


def _single_look_table(results: list[SimulationResult]) -> list[str]:
    widths = (34, 20, 20)
    lines = [_row(("metric (lift)", "false positives", "CI coverage"), widths)]
    for r in results:
        o = r.outcomes["fixed"]
        lines.append(
            _row(
                (
                    f"{r.metric} ({r.difference_type})",
                    f"{_pct(o.rejection_rate)} ± {100 * o.rejection_margin:.2f}",
                    f"{_pct(o.coverage)} ± {100 * o.coverage_margin:.2f}",
                ),
                widths,
            )
        )
    return lines


def _methods_table(results: list[SimulationResult], label: str) -> list[str]:
    widths = (34, *([17] * len(METHODS)))
    lines = [_row((f"metric: {label}", *METHODS), widths)]
    for r in results:
        cells = [f"{_pct(r.outcomes[m].rejection_rate)}" for m in METHODS]
        lines.append(_row((f"{r.metric} ({r.difference_type})", *cells), widths))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=VALIDATION_RUNS, help="simulated experiments per scenario")
    args = parser.parse_args(argv)
    runs = args.runs
    started = time.perf_counter()
    absolute = StatsConfig(difference_type="absolute")
    default = StatsConfig()
    margin = 1.96 * (0.05 * 0.95 / runs) ** 0.5
    print(f"analytics.stats validation: {runs:,} seeded simulated experiments per scenario, alpha = 0.05,")
    print(f"two-sided, Welch t; ± = 1.96 binomial standard errors (at 5 %: ± {100 * margin:.2f} points).")
    print("Units are visitors; per-unit totals are drawn exactly (multinomial over per-visitor outcomes).")
    print()

    print("1. A/A, one look at 2,000 units per arm (fixed-horizon test)")
    single = [aa_single_look(d, runs=runs) for d in ratio_metrics()]
    single += [
        aa_single_look(revenue_per_unit(), runs=runs),
        aa_single_look(revenue_per_unit(), runs=runs, config=absolute),
    ]
    print("\n".join(_single_look_table(single)))
    print()

    print(f"2. A/A, 28 daily looks of 200 units per arm; sequential stops allowed from {default.min_units_per_arm:,}")
    print("   units per arm (burn-in); false-positive rate = share of runs that ever said stop")
    daily = [aa_daily_looks(d, runs=runs) for d in ratio_metrics()]
    daily += [
        aa_daily_looks(revenue_per_unit(), runs=runs),
        aa_daily_looks(revenue_per_unit(), runs=runs, config=absolute),
    ]
    print("\n".join(_methods_table(daily, "false positives")))
    without_burn_in = aa_daily_looks(ctr(), runs=runs, config=StatsConfig(min_units_per_arm=0))
    peek = without_burn_in.outcomes["fixed_daily_peeking"].rejection_rate
    print(f"   (naive daily peeking without the burn-in, CTR: {_pct(peek)})")
    print()

    print(f"3. A/B, CTR {AB_LIFT:+.1%} relative, 28 daily looks of {AB_UNITS_PER_DAY} units per arm")
    ab = ab_daily_looks(runs=runs)
    dist = ctr()
    treatment = rate_per_impression("ctr", 0.10 * (1 + AB_LIFT))
    widths = (22, 16, 16, 18, 18)
    print(_row(("method", "power", "planned power", "covers true lift", "horizon used"), widths))
    for method in METHODS:
        o = ab.outcomes[method]
        planned = "-"
        if method != "fixed_daily_peeking":
            planned_power = power_at(
                2 * 28 * AB_UNITS_PER_DAY,
                baseline_mean=dist.true_value,
                baseline_variance=dist.unit_variance,
                treatment_variance=treatment.unit_variance,
                relative_lift=AB_LIFT,
                method=method,
            )
            planned = _pct(planned_power)
        print(
            _row(
                (method, _pct(o.rejection_rate), planned, _pct(o.coverage), _pct(o.mean_stop_fraction)),
                widths,
            )
        )
    print("   covers true lift: final-look CI (fixed) or every look's interval (others);")
    print("   horizon used: mean share of the 28 days until the first stop; planned power of the")
    print("   sequential methods: probability of stopping by day 28 over 28 daily looks (analytics.stats.power)")
    print()
    print(f"finished in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
