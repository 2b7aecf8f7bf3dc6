"""The report's novelty views: daily lift (each day's activity alone), its trend, and the lift by
exposure cohort (units first exposed in week 1 vs later), so that a fading effect is visible.

`novelty_analyse` is pure (statistics in, the typed `Novelty` out; the maths in
`analytics.stats.novelty`); `report_with_novelty` reads what it needs: the day statistics the
snapshots keep and one grouped query over the per-unit totals for the cohorts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from analytics.event_scans import cohort_aggregates
from analytics.models import ReportSnapshot
from analytics.report.breakdowns import _arm_arrays, _values
from analytics.report.format import METRIC_LABELS, interval, pct
from analytics.report.metrics import Arms, arms_of
from analytics.report.novelty_types import (
    CohortDifference,
    DailyLift,
    ExposureCohort,
    LiftTrend,
    Novelty,
    PeriodLift,
    PeriodMetric,
)
from analytics.report.options import ReportOptions
from analytics.report.types import Report
from analytics.selectors import VariantAggregates
from analytics.stats import StatsConfig, metric_scale
from analytics.stats.breakdown import RowLifts
from analytics.stats.novelty import lift_difference, lift_trend, period_lifts
from experiments.models import Experiment, Variant

COHORT_DAYS = 7
NOVELTY_NOTE = (
    "Daily lift: each day's activity alone (the units with events that day), with a pointwise "
    "{confidence:.0%} interval per day, not adjusted for the many days. The trend is a weighted line "
    "through the daily lifts; 'fading' means it points significantly toward zero, as a novelty effect "
    "does, and the cumulative lift then overstates the lasting one. Cohorts: units first exposed in the "
    "first {cohort_days} days vs later, each over its whole history; a week-1 lift below the later "
    "cohort's says the effect wears off with repeated exposure. Exploratory: decide on the pooled result."
)


def _stats_arrays(rows: Sequence[Mapping[int, VariantAggregates]], variant_id: int) -> dict[str, np.ndarray]:
    names = [f.name for f in dataclasses.fields(VariantAggregates)]
    table = np.array(
        [[float(getattr(row.get(variant_id) or VariantAggregates.empty(), n)) for n in names] for row in rows],
        dtype=float,
    ).reshape(len(rows), len(names))
    return {name: table[:, j] for j, name in enumerate(names)}


def _periods(
    rows: Sequence[Mapping[int, VariantAggregates]], *, arms: Arms, metrics: Sequence[str], config: StatsConfig
) -> tuple[list[dict[str, int]], list[dict[str, PeriodMetric]], dict[str, dict[str, RowLifts]]]:
    """Per period (row): units by variant key, and per metric each arm's value and each treatment's lift."""
    stats = {v.pk: _stats_arrays(rows, v.pk) for v in arms.all}
    units = [{v.key: int(stats[v.pk]["units"][i]) for v in arms.all} for i in range(len(rows))]
    lifts: dict[str, dict[str, RowLifts]] = {}
    per_period: list[dict[str, PeriodMetric]] = [{} for _ in rows]
    for metric in metrics:
        scale = metric_scale(metric)
        control = _arm_arrays(stats[arms.control.pk], metric)
        lifts[metric] = {
            v.key: period_lifts(control, _arm_arrays(stats[v.pk], metric), relative=scale == "relative", config=config)
            for v in arms.treatments
        }
        columns = {
            key: (_values(r.estimate), _values(r.ci_lower), _values(r.ci_upper), _values(r.p_value))
            for key, r in lifts[metric].items()
        }
        means = {arms.control.key: _values(next(iter(lifts[metric].values())).control_mean)} if lifts[metric] else {}
        means.update({key: _values(r.treatment_mean) for key, r in lifts[metric].items()})
        for i in range(len(rows)):
            period_lifts_: dict[str, PeriodLift] = {}
            for key, (estimate, lower, upper, p) in columns.items():
                low, high = lower[i], upper[i]
                period_lifts_[key] = PeriodLift(
                    estimate=estimate[i],
                    scale=scale,
                    ci=None if low is None and high is None else (low, high),
                    p_value=p[i],
                )
            per_period[i][metric] = PeriodMetric(
                values={v.key: means[v.key][i] if v.key in means else None for v in arms.all}, lifts=period_lifts_
            )
    return units, per_period, lifts


def _finite(values: np.ndarray, i: int) -> float | None:
    value = float(values[i])
    return value if np.isfinite(value) else None


def novelty_analyse(
    *,
    days: Sequence[tuple[date, Mapping[int, VariantAggregates], bool]],
    cohorts: Mapping[str, Mapping[int, VariantAggregates]] | None,
    cohort_boundary: datetime | None,
    arms: Arms,
    metrics: Sequence[str],
    config: StatsConfig,
) -> Novelty:
    """`days`: (day, statistics of that day alone by variant id, partial) oldest first; `cohorts`: the
    statistics by variant id of the "first" (week 1) and "later" cohorts."""
    units, per_day, day_lifts = _periods([stats for _, stats, _ in days], arms=arms, metrics=metrics, config=config)
    daily = [
        DailyLift(day=day, partial=partial, units=units[i], metrics=per_day[i])
        for i, (day, _, partial) in enumerate(days)
    ]
    origin = days[0][0] if days else None
    x = np.array([(day - origin).days for day, _, _ in days], dtype=float) if origin else np.array([])
    trend: dict[str, dict[str, LiftTrend]] = {}
    fading: list[str] = []
    for metric, by_arm in day_lifts.items():
        trend[metric] = {}
        for key, r in by_arm.items():
            t = lift_trend(r.estimate, r.std_error, x=x, alpha=config.alpha)  # type: ignore[arg-type]
            trend[metric][key] = LiftTrend(
                days=t.days,
                slope=t.slope,
                ci=t.ci,
                p_value=t.p_value,
                mean_lift=t.mean_lift,
                fitted=None if t.slope is None else (t.at(float(x[0])), t.at(float(x[-1]))),
                fading=t.fading,
                error=t.error,
            )
            if t.fading:
                fading.append(f"{key}: {metric}")
    cohort_rows: list[ExposureCohort] = []
    difference: dict[str, dict[str, CohortDifference]] = {}
    if cohorts is not None:
        rows = [cohorts.get("first", {}), cohorts.get("later", {})]
        c_units, c_metrics, c_lifts = _periods(rows, arms=arms, metrics=metrics, config=config)
        cohort_rows = [
            ExposureCohort(cohort=name, units=c_units[i], metrics=c_metrics[i])  # type: ignore[arg-type]
            for i, name in enumerate(("week_1", "later"))
        ]
        for metric, by_arm in c_lifts.items():
            difference[metric] = {}
            for key, r in by_arm.items():
                se = r.std_error if r.std_error is not None else np.full(2, np.nan)
                d = lift_difference(
                    _finite(r.estimate, 0), _finite(se, 0), _finite(r.estimate, 1), _finite(se, 1), alpha=config.alpha
                )
                difference[metric][key] = CohortDifference(estimate=d.estimate, ci=d.ci, p_value=d.p_value)
    return Novelty(
        metrics=list(metrics),
        note=NOVELTY_NOTE.format(confidence=1 - config.alpha, cohort_days=COHORT_DAYS),
        daily=daily,
        trend=trend,
        cohort_boundary=cohort_boundary,
        cohorts=cohort_rows,
        cohort_difference=difference,
        fading=fading,
    )


def _fading_warning(novelty: Novelty) -> str | None:
    parts = []
    for item in novelty.fading:
        key, metric = item.split(": ")
        t = novelty.trend[metric][key]
        per_day = f"{t.slope:+.2%}" if metric_scale(metric) == "relative" else f"{t.slope:+.3g}"
        parts.append(f"{key} on {METRIC_LABELS[metric]} ({per_day} a day, p = {t.p_value:.3g})")
    if not parts:
        return None
    return (
        "The daily lift is fading: " + "; ".join(parts) + ". A novelty effect? The cumulative lift overstates the "
        "lasting one; read the daily lift and the exposure cohorts before shipping."
    )


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def report_with_novelty(
    report: Report,
    *,
    experiment: Experiment,
    variants: list[Variant],
    snapshots: Sequence[ReportSnapshot],
    options: ReportOptions,
    metrics: Sequence[str],
    now: datetime,
) -> Report:
    """The report with its novelty views (fixed-allocation experiments that have started and have units)."""
    arms = arms_of(variants)
    if arms is None or not arms.treatments or experiment.started_at is None or not report.units:
        return report
    today = now.astimezone(UTC).date()
    days = [
        (
            s.day,
            {int(k): VariantAggregates.from_dict(v) for k, v in s.day_variants.items()},
            s.day >= today or s.day_until is None or s.day_until < _day_end(s.day),
        )
        for s in snapshots
        if s.day_variants is not None
    ]
    boundary = experiment.started_at + timedelta(days=COHORT_DAYS)
    cohorts = cohort_aggregates(experiment=experiment, boundary=boundary)
    novelty = novelty_analyse(
        days=days,
        cohorts=cohorts,
        cohort_boundary=boundary,
        arms=arms,
        metrics=[m for m in metrics if m in report.metrics],
        config=options.config(experiment),
    )
    warnings = list(report.warnings)
    if (warning := _fading_warning(novelty)) is not None:
        warnings.append(warning)
    return dataclasses.replace(report, novelty=novelty, warnings=warnings)


def _lift_text(value: float | None, relative: bool) -> str:
    if value is None:
        return "–"
    return pct(value) if relative else f"{value:+.4g}"


def _interval_text(ci: tuple[float | None, float | None] | None, relative: bool) -> str:
    if relative:
        return interval(ci)
    if not ci or ci[0] is None or ci[1] is None:
        return "[–]"
    return f"[{ci[0]:+.4g}, {ci[1]:+.4g}]"


def novelty_table(report: Report) -> list[dict[str, Any]]:
    """The page's rows, per metric and treatment: the daily lift's trend and the two cohorts' lifts, as text."""
    novelty = report.novelty
    if novelty is None:
        return []
    cohorts = {c.cohort: c for c in novelty.cohorts}
    rows = []
    for metric in novelty.metrics:
        relative = report.metric_scales.get(metric, metric_scale(metric)) == "relative"
        for key, trend in novelty.trend.get(metric, {}).items():
            week_1 = cohorts.get("week_1")
            later = cohorts.get("later")
            first_lift = week_1.metrics[metric].lifts.get(key) if week_1 and metric in week_1.metrics else None
            later_lift = later.metrics[metric].lifts.get(key) if later and metric in later.metrics else None
            difference = novelty.cohort_difference.get(metric, {}).get(key)
            rows.append(
                {
                    "metric": METRIC_LABELS[metric],
                    "variant": key,
                    "days": trend.days,
                    "first": _lift_text(trend.fitted[0], relative) if trend.fitted else "–",
                    "last": _lift_text(trend.fitted[1], relative) if trend.fitted else "–",
                    "slope": _lift_text(trend.slope, relative),
                    "slope_ci": _interval_text(trend.ci, relative),
                    "p_value": trend.p_value,
                    "fading": trend.fading,
                    "week_1": _lift_text(first_lift.estimate if first_lift else None, relative),
                    "week_1_units": sum(week_1.units.values()) if week_1 else 0,
                    "later": _lift_text(later_lift.estimate if later_lift else None, relative),
                    "later_units": sum(later.units.values()) if later else 0,
                    "difference": _lift_text(difference.estimate if difference else None, relative),
                    "difference_p": difference.p_value if difference else None,
                }
            )
    return rows
