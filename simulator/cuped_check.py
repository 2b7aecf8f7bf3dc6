"""CUPED on the text-aware simulator: A/A tests whose visitors differ in keenness and were seen before.

Each run draws `units_per_arm` visitors per arm with their own propensity
(`simulator.traffic.visitor_propensity`); a share of them (`seen_before`) visited the shop in the
lookback window before the test, under the control copy; during the test both arms show the same
copy (an A/A test), its rates from the text-aware model (`simulator.textmodel`). The covariate of
each metric is the same metric before exposure, as the report computes it. Per metric it counts
how often the unadjusted and the CUPED-adjusted tests reject (the false-positive rate, which must
stay at α), the mean ratio of their interval widths and the mean variance reduction.

    python -m simulator.cuped_check --runs 1000
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass

import numpy as np

from analytics.stats import StatsConfig
from analytics.stats.cuped import (
    RegressionAdjustedRatioStatistic,
    RegressionAdjustedStatistic,
    regression_adjusted_test,
)
from simulator.textmodel import TextModel
from simulator.traffic import visit_funnel, visitor_propensity, visitor_truth, visits_of

COPY = "Wireless headphones with up to 30 hours of battery life and Bluetooth 5.3. Add to cart today."
CATEGORY = "Electronics"
PRICE = 40.0
# metric -> (numerator column, denominator column or None, scale tested)
METRICS = {
    "ctr": (1, 0, "relative"),
    "cvr": (3, 0, "relative"),
    "revenue_per_unit": (4, None, "absolute"),
}


@dataclass(frozen=True)
class MetricFigures:
    metric: str
    runs: int
    fpr_unadjusted: float
    fpr_adjusted: float
    width_ratio: float  # mean adjusted / unadjusted interval width
    variance_reduction: float  # mean share of the lift's variance removed


def _totals(rng: random.Random, truth, propensity: float) -> list[float]:
    """impressions, clicks, add-to-carts, orders, revenue of one visitor over its visits."""
    row = [0.0] * 5
    for _ in range(visits_of(rng, propensity)):
        for kind, _offset, revenue in visit_funnel(rng, visitor_truth(truth, propensity), PRICE):
            row[("impression", "click", "add_to_cart", "order").index(kind)] += 1
            row[4] += revenue or 0.0
    return row


def _arm(rng: random.Random, units: int, truth, *, spread: float, seen_before: float, run: int, arm: str):
    post, pre = np.zeros((units, 5)), np.zeros((units, 5))
    for i in range(units):
        propensity = visitor_propensity(f"cuped-{run}-{arm}-{i}", spread)
        if rng.random() < seen_before:
            pre[i] = _totals(rng, truth, propensity)
        post[i] = _totals(rng, truth, propensity)
    return post, pre


def _statistic(post: np.ndarray, pre: np.ndarray, numerator: int, denominator: int | None):
    if denominator is None:
        return RegressionAdjustedStatistic.from_values(post[:, numerator], pre[:, numerator])
    return RegressionAdjustedRatioStatistic.from_units(
        post[:, numerator], post[:, denominator], pre[:, numerator], pre[:, denominator]
    )


def cuped_aa_simulation(
    *,
    runs: int = 300,
    units_per_arm: int = 1500,
    spread: float = 1.0,
    seen_before: float = 0.6,
    alpha: float = 0.05,
    seed: int = 0,
    model: TextModel | None = None,
) -> dict[str, MetricFigures]:
    """The A/A figures per metric (see the module doc)."""
    truth = (model or TextModel(seed=seed)).truth(COPY, CATEGORY)
    rng = random.Random(seed)
    counts = {m: {"runs": 0, "unadjusted": 0, "adjusted": 0, "width": [], "reduction": []} for m in METRICS}
    for run in range(runs):
        control = _arm(rng, units_per_arm, truth, spread=spread, seen_before=seen_before, run=run, arm="a")
        treatment = _arm(rng, units_per_arm, truth, spread=spread, seen_before=seen_before, run=run, arm="b")
        for metric, (numerator, denominator, scale) in METRICS.items():
            config = StatsConfig(alpha=alpha, difference_type=scale)  # type: ignore[arg-type]
            result = regression_adjusted_test(
                _statistic(*control, numerator, denominator), _statistic(*treatment, numerator, denominator), config
            )
            adjusted, plain = result.adjusted, result.unadjusted
            if result.error or adjusted.p_value is None or plain.p_value is None:
                continue
            tally = counts[metric]
            tally["runs"] += 1
            tally["unadjusted"] += plain.p_value < alpha
            tally["adjusted"] += adjusted.p_value < alpha
            if None not in (adjusted.ci_lower, adjusted.ci_upper, plain.ci_lower, plain.ci_upper):
                tally["width"].append((adjusted.ci_upper - adjusted.ci_lower) / (plain.ci_upper - plain.ci_lower))
            tally["reduction"].append(result.variance_reduction or 0.0)
    return {
        metric: MetricFigures(
            metric=metric,
            runs=tally["runs"],
            fpr_unadjusted=tally["unadjusted"] / max(tally["runs"], 1),
            fpr_adjusted=tally["adjusted"] / max(tally["runs"], 1),
            width_ratio=float(np.mean(tally["width"])) if tally["width"] else float("nan"),
            variance_reduction=float(np.mean(tally["reduction"])) if tally["reduction"] else float("nan"),
        )
        for metric, tally in counts.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--units-per-arm", type=int, default=1500)
    parser.add_argument("--spread", type=float, default=1.0)
    parser.add_argument("--seen-before", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    figures = cuped_aa_simulation(
        runs=args.runs,
        units_per_arm=args.units_per_arm,
        spread=args.spread,
        seen_before=args.seen_before,
        seed=args.seed,
    )
    print(f"A/A, {args.units_per_arm} units per arm, spread {args.spread}, {args.seen_before:.0%} seen before, α 5 %")
    print(f"{'metric':<18}{'runs':>6}{'FPR plain':>11}{'FPR CUPED':>11}{'CI width':>10}{'var. red.':>11}")
    for f in figures.values():
        print(
            f"{f.metric:<18}{f.runs:>6}{f.fpr_unadjusted:>11.3f}{f.fpr_adjusted:>11.3f}"
            f"{f.width_ratio:>10.3f}{f.variance_reduction:>11.3f}"
        )


if __name__ == "__main__":
    main()
