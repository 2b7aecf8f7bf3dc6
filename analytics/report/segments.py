"""A report's breakdown by one unit attribute (a segment: device, new vs returning visitor, traffic source,
country), on the per-product breakdown's machinery: the same vectorised test per row and arm, and the p-values
adjusted across the segment's rows and arms of each metric (the experiment's Holm or Benjamini-Hochberg)."""

from __future__ import annotations

import dataclasses

from analytics.breakdown_selectors import segment_data
from analytics.report.breakdowns import breakdown_analyse
from analytics.report.metrics import arms_of
from analytics.report.options import ReportOptions
from analytics.report.types import Report
from experiments.models import Experiment, Variant

SEGMENT_LABELS = {
    "device": "device",
    "visitor": "new vs returning visitor",
    "source": "traffic source",
    "country": "country",
}
SEGMENT_NOTE = (
    "Exploratory: each {label} is a separate comparison on fewer units than the pooled result, chosen after the "
    "experiment was planned; the p-values are adjusted ({correction}) across all of its rows and arms of each "
    "metric. Decide on the pooled result; read a segment's lift as a lead for the next experiment. Units whose "
    "storefront sent no {label} are the row 'unknown'; a unit keeps the attributes of its first event that sent any."
)


def report_with_segment(
    report: Report, *, experiment: Experiment, variants: list[Variant], options: ReportOptions
) -> Report:
    """The report with one more breakdown, by `options.segment`, of every metric the report analysed."""
    arms = arms_of(variants)
    segment = options.segment
    if not segment or arms is None or not arms.treatments or not report.units:
        return report
    correction = options.correction_for(experiment)
    breakdown = breakdown_analyse(
        segment_data(experiment=experiment, segment=segment),
        arms=arms,
        metrics=list(report.metrics),
        config=options.config(experiment),
        correction=correction,
        alpha=experiment.alpha,
    )
    label = SEGMENT_LABELS[segment]
    note = SEGMENT_NOTE.format(label=label, correction="Holm" if correction == "holm" else "Benjamini-Hochberg")
    warning = (
        f"The breakdown by {label} is exploratory ({breakdown.rows_total} rows, "
        f"{breakdown.significant_rows} significant after adjustment): decide on the pooled result."
    )
    return dataclasses.replace(
        report,
        breakdowns=[*report.breakdowns, dataclasses.replace(breakdown, note=note)],
        warnings=[*report.warnings, warning],
    )
