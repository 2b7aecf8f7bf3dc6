"""Per-product and per-category breakdowns of a catalog experiment's report (pure, no queries).

Each arm vs control on the primary metric, CTR and CVR, per row, with the pooled report's
fixed-horizon test (analytics.stats.breakdown, vectorised over rows) and one multiple-comparison
family per metric: every row and treatment arm, Holm or Benjamini-Hochberg per the experiment's
correction. No sequential test per row: breakdowns are exploratory, read after the pooled result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analytics.breakdown_selectors import BreakdownData
from analytics.report.breakdown_types import Breakdown, BreakdownLift, BreakdownMetric, BreakdownRest, BreakdownRow
from analytics.report.metrics import Arms
from analytics.selectors import METRICS
from analytics.stats import StatsConfig, metric_scale
from analytics.stats.breakdown import ArmArrays, RowLifts, adjust_rows, row_lifts

BREAKDOWN_NOTE = (
    "Exploratory: every row is a separate comparison on fewer units than the pooled result, and the "
    "p-values are adjusted ({correction}) across all rows and arms of each metric. Decide on the pooled "
    "result; read a row as a lead for the next experiment. Rows marked excluded are out of the pooled analysis."
)


def breakdown_metrics(primary: str) -> list[str]:
    return [primary, *(m for m in ("ctr", "cvr") if m != primary)]


def _arm_arrays(stats: dict[str, np.ndarray], metric: str) -> ArmArrays:
    numerator, denominator = METRICS[metric]
    if denominator is None:
        return ArmArrays(n=stats["units"], m_sum=stats[numerator], m_sum_squares=stats[f"sq_{numerator}"])
    return ArmArrays(
        n=stats["units"],
        m_sum=stats[numerator],
        m_sum_squares=stats[f"sq_{numerator}"],
        d_sum=stats[denominator],
        d_sum_squares=stats[f"sq_{denominator}"],
        m_d_sum_of_products=stats[f"x_{numerator}_{denominator}"],
    )


def _values(x: np.ndarray) -> list[float | None]:
    """The array as a list, None where not finite (one numpy pass, not one call per cell)."""
    return np.where(np.isfinite(x), x, None).tolist()


def breakdown_analyse(
    data: BreakdownData,
    *,
    arms: Arms,
    metrics: Sequence[str],
    config: StatsConfig,
    correction: str,
    alpha: float,
    top: int | None = None,
) -> Breakdown:
    """The breakdown's rows, most units first: all of them, or the `top` ones with the rest summarised
    (every row is tested and adjusted either way; only the listing stops)."""
    empty = {name: np.zeros(len(data.keys)) for name in next(iter(data.stats.values()), {})}
    stats_of = {v.pk: data.stats.get(v.pk, empty) for v in arms.all}
    lifts: dict[str, dict[str, RowLifts]] = {}
    adjusted: dict[str, dict[str, np.ndarray]] = {}
    for metric in metrics:
        control = _arm_arrays(stats_of[arms.control.pk], metric)
        lifts[metric] = {
            v.key: row_lifts(
                control,
                _arm_arrays(stats_of[v.pk], metric),
                relative=metric_scale(metric) == "relative",
                config=config,
            )
            for v in arms.treatments
        }
        adjusted[metric] = adjust_rows({k: r.p_value for k, r in lifts[metric].items()}, correction)  # type: ignore[arg-type]
    units = {v.key: stats_of[v.pk]["units"] for v in arms.all}
    total_units = data.units()
    order = np.argsort(-total_units, kind="stable")
    significant_any = np.zeros(len(data.keys), dtype=bool)
    for by_arm in adjusted.values():
        for values in by_arm.values():
            significant_any |= np.nan_to_num(values, nan=1.0) < alpha
    # Plain Python lists once: indexing numpy scalars row by row is several times slower.
    columns = {
        (metric, key): (
            _values(r.control_mean),
            _values(r.treatment_mean),
            _values(r.estimate),
            _values(r.ci_lower),
            _values(r.ci_upper),
            _values(r.p_value),
            _values(adjusted[metric][key]),
            (np.nan_to_num(adjusted[metric][key], nan=1.0) < alpha).tolist(),
        )
        for metric, by_arm in lifts.items()
        for key, r in by_arm.items()
    }
    unit_lists = {key: values.astype(int).tolist() for key, values in units.items()}
    rest = None
    if top is not None and top < len(order):
        left = order[top:]
        rest = BreakdownRest(
            rows=int(left.size),
            units=int(total_units[left].sum()),
            excluded=int(data.excluded[left].sum()),
            significant=int(significant_any[left].sum()),
        )
        order = order[:top]
    rows: list[BreakdownRow] = []
    for i in order.tolist():
        row_metrics = {}
        for metric in metrics:
            values: dict[str, float | None] = {}
            row_lifts_: dict[str, BreakdownLift] = {}
            for v in arms.treatments:
                control_mean, treatment_mean, estimate, lower, upper, p, p_adj, significant = columns[(metric, v.key)]
                values[arms.control.key] = control_mean[i]
                values[v.key] = treatment_mean[i]
                low, high = lower[i], upper[i]
                row_lifts_[v.key] = BreakdownLift(
                    relative=estimate[i],
                    ci=None if low is None and high is None else (low, high),
                    p_value=p[i],
                    p_value_adjusted=p_adj[i],
                    significant=significant[i],
                )
            row_metrics[metric] = BreakdownMetric(values=values, lifts=row_lifts_)
        rows.append(
            BreakdownRow(
                key=data.keys[i],
                title=data.titles[i],
                category=data.categories[i],
                excluded=bool(data.excluded[i]),
                units={key: values[i] for key, values in unit_lists.items()},
                metrics=row_metrics,
            )
        )
    return Breakdown(
        dimension=data.dimension,  # type: ignore[arg-type]
        metrics=list(metrics),
        correction=correction,  # type: ignore[arg-type]
        rows_total=len(rows),
        excluded_rows=int(data.excluded.sum()),
        significant_rows=int(significant_any.sum()),
        note=BREAKDOWN_NOTE.format(correction="Holm" if correction == "holm" else "Benjamini-Hochberg"),
        rows=rows,
        rest=rest,
    )
