"""The report as CSV: one row per variant and metric, for spreadsheets."""

from __future__ import annotations

import csv
import io
from typing import Any

from analytics.report.types import Report

CSV_COLUMNS = (
    "experiment",
    "variant",
    "is_control",
    "lambda",
    "units",
    "metric",
    "value",
    "lift_absolute",
    "lift_relative",
    "ci_lower",
    "ci_upper",
    "p_value",
    "p_value_adjusted",
    "sequential_ci_lower",
    "sequential_ci_upper",
    "sequential_p_value",
    "sequential_p_value_adjusted",
    "chance_to_beat_control",
    "significant",
    "sequential_significant",
    "test_scale",
    # The headline on the metric's test scale (relative fraction or absolute per unit), and the fixed test's method.
    "estimate",
    "estimate_ci_lower",
    "estimate_ci_upper",
    "estimate_sequential_ci_lower",
    "estimate_sequential_ci_upper",
    "method",
    "guardrail",
    # Catalog experiments: rows of the per-product and per-category breakdowns follow the pooled rows, with
    # these three set (empty on pooled rows); their p-values are adjusted across the breakdown's rows.
    # Then the novelty rows: `breakdown` is `day` (breakdown_key the UTC day; that day's activity alone) or
    # `exposure_cohort` (week_1 or later); their p-values are unadjusted (pointwise).
    "breakdown",
    "breakdown_key",
    "excluded",
    # true on every row of a report whose events came from the traffic simulator (the demo's lifts are made up)
    "simulated_traffic",
    # CUPED (pooled rows whose lift is adjusted): the share of the lift's variance removed, and the
    # headline without the covariate (on the test scale; its p-value adjusted across variants).
    "cuped_variance_reduction",
    "unadjusted_estimate",
    "unadjusted_ci_lower",
    "unadjusted_ci_upper",
    "unadjusted_p_value_adjusted",
)
_NO_INTERVAL = (None, None)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _write(writer: Any, line: list[Any]) -> None:
    """One row; the columns it does not fill (CUPED's, on breakdown and novelty rows) are empty."""
    writer.writerow([_cell(v) for v in line] + [""] * (len(CSV_COLUMNS) - len(line)))


def _cuped_cells(lift: Any) -> tuple[Any, ...]:
    if lift is None or lift.cuped is None or lift.unadjusted is None:
        return (None,) * 5
    plain = lift.unadjusted
    ci = plain.estimate_ci or _NO_INTERVAL
    return (lift.cuped.variance_reduction, plain.estimate, ci[0], ci[1], plain.p_value_adjusted)


def report_csv(report: Report) -> str:
    """One row per variant and metric; relative lifts and intervals as fractions, like the JSON.

    Copy text is left out: spreadsheet programs run cells that start with `=` as formulas.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for variant in report.variants:
        for metric in report.metrics:
            result = variant.metrics.get(metric)
            lift = result.lift if result else None
            ci = (lift.ci if lift else None) or _NO_INTERVAL
            seq = (lift.sequential_ci if lift else None) or _NO_INTERVAL
            est_ci = (lift.estimate_ci if lift else None) or _NO_INTERVAL
            est_seq = (lift.estimate_sequential_ci if lift else None) or _NO_INTERVAL
            settings = report.metric_settings.get(metric)
            row = [
                report.experiment,
                variant.key,
                variant.is_control,
                variant.lambda_value,
                variant.units,
                metric,
                result.value if result else None,
                *(
                    (
                        lift.absolute,
                        lift.relative,
                        ci[0],
                        ci[1],
                        lift.p_value,
                        lift.p_value_adjusted,
                        seq[0],
                        seq[1],
                        lift.sequential_p_value,
                        lift.sequential_p_value_adjusted,
                        lift.chance_to_beat_control,
                        lift.significant,
                        lift.sequential_significant,
                        lift.scale,
                    )
                    if lift
                    else (None,) * 14
                ),
                *((lift.estimate, est_ci[0], est_ci[1], est_seq[0], est_seq[1], lift.method) if lift else (None,) * 6),
                bool(settings and settings.guardrail),
                None,
                None,
                None,
                report.simulated_traffic,
                *_cuped_cells(lift),
            ]
            _write(writer, row)
    _breakdown_rows(writer, report)
    _novelty_rows(writer, report)
    return buffer.getvalue()


def _breakdown_rows(writer: Any, report: Report) -> None:
    variants = {v.key: v for v in report.variants}
    for breakdown in report.breakdowns:
        for row in breakdown.rows:
            for key, units in row.units.items():
                variant = variants[key]
                for metric, result in row.metrics.items():
                    lift = result.lifts.get(key)
                    ci = (lift.ci if lift else None) or _NO_INTERVAL
                    line = [
                        report.experiment,
                        key,
                        variant.is_control,
                        variant.lambda_value,
                        units,
                        metric,
                        result.values.get(key),
                        None,
                        *((lift.relative, ci[0], ci[1], lift.p_value, lift.p_value_adjusted) if lift else (None,) * 5),
                        *(None,) * 5,
                        lift.significant if lift else None,
                        None,
                        "relative" if lift else None,
                        *(None,) * 6,
                        False,
                        breakdown.dimension,
                        row.key,
                        row.excluded,
                        report.simulated_traffic,
                    ]
                    _write(writer, line)


def _novelty_rows(writer: Any, report: Report) -> None:
    novelty = report.novelty
    if novelty is None:
        return
    variants = {v.key: v for v in report.variants}
    periods = [("day", d.day.isoformat(), d.units, d.metrics) for d in novelty.daily]
    periods += [("exposure_cohort", c.cohort, c.units, c.metrics) for c in novelty.cohorts]
    for dimension, key, units_by_variant, metrics in periods:
        for variant_key, units in units_by_variant.items():
            variant = variants[variant_key]
            for metric, result in metrics.items():
                lift = result.lifts.get(variant_key)
                ci = (lift.ci if lift else None) or _NO_INTERVAL
                relative = lift is not None and lift.scale == "relative"
                estimate = lift.estimate if lift else None
                line = [
                    report.experiment,
                    variant_key,
                    variant.is_control,
                    variant.lambda_value,
                    units,
                    metric,
                    result.values.get(variant_key),
                    None if relative else estimate,
                    estimate if relative else None,
                    *((ci[0], ci[1], lift.p_value) if lift else (None,) * 3),
                    *(None,) * 8,
                    lift.scale if lift else None,
                    *((estimate, ci[0], ci[1]) if lift else (None,) * 3),
                    *(None,) * 3,
                    False,
                    dimension,
                    key,
                    None,
                    report.simulated_traffic,
                ]
                _write(writer, line)
