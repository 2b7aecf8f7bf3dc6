"""The lift report of one experiment, as one JSON-ready object.

`report_assemble` is pure: it takes the experiment's variants, their current sufficient
statistics (from the per-unit totals) and the daily looks (from the snapshots) and returns the
report that the pages, the API, the CSV export and `manage.py lift_report` all render.
`analytics.services.report_build` does the reads and calls it.

Conventions of the numbers:
- lifts are treatment vs control; relative lifts and their intervals are fractions (0.125 = +12.5 %);
- `ci` is the fixed-horizon interval (valid at one planned look), `sequential_ci` the always-valid
  interval of the configured sequential test at the latest look (valid however often one looks);
- each metric has a test scale: relative lift, except revenue per unit, whose relative test runs
  hot on skewed revenue (6 % false positives at alpha 5 % in the engine's validation), so its
  p-values, significance and decision use the absolute lift (both lifts are always shown);
- p-values are adjusted across the treatment arms of each metric (Holm by default).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings

from abplatform.errors import FieldErrors
from analytics.selectors import METRICS, VariantAggregates
from analytics.stats import (
    SequentialResult,
    StatsConfig,
    adjust_p_values,
    analyze_metric,
    days_left,
    sequential_path,
    sequential_test,
    srm_test,
)
from analytics.stats.results import finite_or_none
from experiments.models import Experiment, Variant

METRIC_LABELS = {
    "ctr": "CTR",
    "cvr": "CVR",
    "click_to_order": "orders / clicks",
    "atc_rate": "add-to-cart rate",
    "orders_per_unit": "orders per unit",
    "revenue_per_unit": "revenue per unit",
}
ALL_METRICS = tuple(METRICS)
ABSOLUTE_SCALE_METRICS = frozenset({"revenue_per_unit"})
SEQUENTIAL_METHODS = ("cs", "msprt", "group_sequential")
CORRECTIONS = ("holm", "bh")
DECISIONS = ("ship", "keep_control", "stop_no_effect", "keep_running", "inconclusive", "srm_problem", "not_enough_data")


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


@dataclass(frozen=True)
class ReportOptions:
    """How the report analyses the data; defaults from settings (`COPYLIFT_REPORT_*`)."""

    sequential_method: str = ""
    correction: str = ""
    sequential_tuning_n: float = 0.0
    minimum_lift: float = 0.0  # smallest relative lift worth detecting: days left and the no-effect rule
    power: float = 0.8

    def __post_init__(self) -> None:
        defaults = {
            "sequential_method": _setting("COPYLIFT_REPORT_SEQUENTIAL_METHOD", "cs"),
            "correction": _setting("COPYLIFT_REPORT_CORRECTION", "holm"),
            "sequential_tuning_n": float(_setting("COPYLIFT_REPORT_SEQUENTIAL_TUNING_N", 5000)),
            "minimum_lift": float(_setting("COPYLIFT_REPORT_MINIMUM_LIFT", 0.05)),
        }
        for name, value in defaults.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)
        if self.sequential_method not in SEQUENTIAL_METHODS:
            raise ValueError(f"sequential_method must be one of {', '.join(SEQUENTIAL_METHODS)}")
        if self.correction not in CORRECTIONS:
            raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}")
        if not 0 < self.minimum_lift < 1:
            raise ValueError("minimum_lift must lie strictly between 0 and 1")

    def config(self, experiment: Experiment, *, scale: str = "relative") -> StatsConfig:
        return StatsConfig(
            alpha=experiment.alpha,
            difference_type=scale,  # type: ignore[arg-type]
            sequential_method=self.sequential_method,  # type: ignore[arg-type]
            sequential_tuning_n=self.sequential_tuning_n,
            correction=self.correction,  # type: ignore[arg-type]
        )


def report_options(params: Mapping[str, str]) -> ReportOptions:
    """Options from request parameters (`sequential_method`, `correction`); bad values raise FieldErrors."""
    try:
        return ReportOptions(
            sequential_method=params.get("sequential_method", ""), correction=params.get("correction", "")
        )
    except ValueError as exc:
        field = "correction" if "correction" in str(exc) else "sequential_method"
        raise FieldErrors({field: str(exc)}) from None


@dataclass(frozen=True)
class Look:
    """Cumulative statistics of every variant at one moment (a daily snapshot, or the live totals)."""

    day: date
    taken_at: datetime
    source: str  # "totals" / "events" (snapshots) or "live"
    aggregates: Mapping[int, VariantAggregates]

    def of(self, variant_id: int) -> VariantAggregates:
        return self.aggregates.get(variant_id) or VariantAggregates.empty()


@dataclass
class _Arms:
    """The experiment's variants with the control first (the engine's convention)."""

    control: Variant
    treatments: list[Variant] = field(default_factory=list)

    @property
    def all(self) -> list[Variant]:
        return [self.control, *self.treatments]


def _arms(variants: Sequence[Variant]) -> _Arms | None:
    controls = [v for v in variants if v.is_control]
    if not controls:
        return None
    return _Arms(control=controls[0], treatments=[v for v in variants if v is not controls[0]])


def _pair(lower: float | None, upper: float | None) -> list[float | None] | None:
    if lower is None and upper is None:
        return None
    return [finite_or_none(lower), finite_or_none(upper)]


def variant_label(variant: Variant | Mapping[str, Any]) -> str:
    """`llm-l060 (λ=0.6)`: the key, and the creativity weight where there is one."""
    if isinstance(variant, Mapping):
        key, lam = variant["key"], variant.get("lambda")
    else:
        key, lam = variant.key, variant.lambda_value
    return f"{key} (λ={lam:g})" if lam is not None else key


def pct(value: float | None, digits: int = 1) -> str:
    """+8.1 % (typographic minus for negatives); an en dash when unknown."""
    if value is None:
        return "–"
    text = f"{abs(value) * 100:.{digits}f} %"
    return ("−" if value < 0 else "+") + text


def interval(ci: Sequence[float | None] | None) -> str:
    if not ci:
        return "[–]"
    lower, upper = ci
    return f"[{pct(lower) if lower is not None else '−∞'}, {pct(upper) if upper is not None else '+∞'}]"


# --- Per-metric analysis ----------------------------------------------------------------------------------------


def _final(path: list[SequentialResult]) -> SequentialResult | None:
    return path[-1] if path else None


def _metric_block(
    *,
    experiment: Experiment,
    metric: str,
    arms: _Arms,
    looks: list[Look],
    options: ReportOptions,
    timeseries: list[dict] | None,
) -> dict[str, Any]:
    """The metric's value per variant and, per treatment, every lift, interval, p-value and decision."""
    scale = "absolute" if metric in ABSOLUTE_SCALE_METRICS else "relative"
    config_rel = options.config(experiment)
    config_abs = options.config(experiment, scale="absolute")
    config = config_abs if scale == "absolute" else config_rel
    # One statistic object per look and variant, shared by every test that reads it (they memoize).
    per_look = [{v.pk: look.of(v.pk).statistic(metric) for v in arms.all} for look in looks]
    control_stat = per_look[-1][arms.control.pk]
    treatment_stats = {v.key: per_look[-1][v.pk] for v in arms.treatments}
    analysis = analyze_metric(
        control_stat, treatment_stats, metric=metric, control_name=arms.control.key, config=config
    )
    values = {arms.control.key: analysis.control.mean}
    values.update({summary.name: summary.mean for summary in analysis.treatments})

    paths_rel: dict[str, list[SequentialResult]] = {}
    paths_head: dict[str, list[SequentialResult]] = {}
    for variant in arms.treatments:
        pairs = [(stats[arms.control.pk], stats[variant.pk]) for stats in per_look]
        paths_rel[variant.key] = sequential_path(pairs, config_rel)
        paths_head[variant.key] = sequential_path(pairs, config_abs) if scale == "absolute" else paths_rel[variant.key]
    head_finals = [_final(paths_head[v.key]) for v in arms.treatments]
    sequential_adjusted = adjust_p_values([r.p_value if r else None for r in head_finals], options.correction)

    lifts: dict[str, dict[str, Any]] = {}
    for variant, comparison, head, seq_adjusted in zip(
        arms.treatments, analysis.comparisons, head_finals, sequential_adjusted, strict=True
    ):
        rel = _final(paths_rel[variant.key])
        seq_abs = (
            head if scale == "absolute" else sequential_test(control_stat, treatment_stats[variant.key], config_abs)
        )
        fixed = comparison.fixed
        warning = head.warning if head else None
        lifts[variant.key] = {
            "absolute": fixed.absolute.estimate,
            "relative": fixed.relative.estimate,
            "ci": _pair(fixed.relative.ci_lower, fixed.relative.ci_upper),
            "ci_absolute": _pair(fixed.absolute.ci_lower, fixed.absolute.ci_upper),
            "scale": scale,
            "p_value": comparison.p_value,
            "p_value_adjusted": comparison.p_value_adjusted,
            "sequential_ci": _pair(rel.ci_lower, rel.ci_upper) if rel else None,
            "sequential_ci_absolute": _pair(seq_abs.ci_lower, seq_abs.ci_upper) if seq_abs else None,
            "sequential_p_value": head.p_value if head else None,
            "sequential_p_value_adjusted": seq_adjusted,
            "sequential_decision": head.decision if head else None,
            "chance_to_beat_control": comparison.bayesian.chance_to_beat_control,
            "expected_loss": comparison.bayesian.expected_loss_treatment,
            "significant": bool(comparison.significant_adjusted),
            "sequential_significant": bool(
                seq_adjusted is not None and seq_adjusted < experiment.alpha and warning is None
            ),
            "warning": warning,
            "error": fixed.error or (head.error if head else None),
        }

    if timeseries is not None:
        for index, entry in enumerate(timeseries):
            entry["lift"][metric] = {
                key: {
                    "relative": path[index].estimate,
                    "sequential_ci": _pair(path[index].ci_lower, path[index].ci_upper),
                    "sequential_p_value": paths_head[key][index].p_value,
                }
                for key, path in paths_rel.items()
            }
    return {"scale": scale, "values": values, "lifts": lifts, "error": analysis.error}


# --- Decision ---------------------------------------------------------------------------------------------------


def _days_between(start: datetime | None, end: datetime) -> float | None:
    if start is None:
        return None
    return max(0.0, (end - start).total_seconds() / 86_400)


def _decision(
    *,
    experiment: Experiment,
    arms: _Arms | None,
    units: dict[str, int],
    srm: dict[str, Any],
    primary: dict[str, Any] | None,
    looks: list[Look],
    options: ReportOptions,
    days_running: float | None,
) -> dict[str, Any]:
    metric = experiment.primary_metric
    label = METRIC_LABELS[metric]
    decision: dict[str, Any] = {"status": "not_enough_data", "winner": None, "metric": metric, "days_left": None}

    def done(status: str, text: str, **extra: Any) -> dict[str, Any]:
        decision.update(status=status, text=text, **extra)
        return decision

    if arms is None:
        return done("not_enough_data", "This experiment has no control variant: nothing to compare against.")
    if not arms.treatments:
        return done("not_enough_data", "Only the control so far: add an LLM variant to compare its copy with it.")
    if experiment.status == Experiment.Status.DRAFT:
        return done("not_enough_data", "Draft: start the experiment to collect traffic.")
    if sum(units.values()) == 0:
        return done("not_enough_data", "No traffic yet: the report fills in as storefront events arrive.")
    if srm.get("flag"):
        return done(
            "srm_problem",
            f"Sample ratio mismatch (p = {srm['p_value']:.2g}): units are not split across the variants as "
            "configured, so assignment or tracking is broken and the lifts cannot be trusted. Fix it before "
            "reading the results.",
        )
    if primary is None:
        return done("not_enough_data", f"{label} was not analysed.")
    lifts = primary["lifts"]
    alpha = experiment.alpha
    stopped = experiment.status == Experiment.Status.STOPPED

    winners = [
        v
        for v in arms.treatments
        if lifts[v.key]["sequential_significant"] and lifts[v.key]["sequential_decision"] == "stop_increase"
    ]
    if winners:
        best = max(winners, key=lambda v: lifts[v.key]["relative"] or 0.0)
        lift = lifts[best.key]
        others = [variant_label(v) for v in winners if v is not best]
        text = (
            f"{variant_label(best)} beats control on {label}: {pct(lift['relative'])} "
            f"{interval(lift['sequential_ci'])}, sequential test significant, safe to stop."
        )
        if others:
            text += f" Also ahead of control: {', '.join(others)}."
        return done("ship", text, winner=best.key, lift=_decision_lift(lift))

    losers = [
        v
        for v in arms.treatments
        if lifts[v.key]["sequential_significant"] and lifts[v.key]["sequential_decision"] == "stop_decrease"
    ]
    if len(losers) == len(arms.treatments):
        best = max(losers, key=lambda v: lifts[v.key]["relative"] or -math.inf)
        lift = lifts[best.key]
        return done(
            "keep_control",
            f"Control beats every variant on {label} (closest: {variant_label(best)} {pct(lift['relative'])} "
            f"{interval(lift['sequential_ci'])}), sequential test significant: safe to stop and keep the control copy.",
            winner=arms.control.key,
            lift=_decision_lift(lift),
        )

    burn_in = [lifts[v.key]["warning"] for v in arms.treatments if lifts[v.key]["warning"]]
    if not burn_in and _no_effect(lifts, arms, options):
        return done(
            "stop_no_effect",
            f"No variant moves {label} by more than ±{options.minimum_lift * 100:g} %: every variant's "
            f"always-valid interval lies inside that band ({_intervals(lifts, arms)}). Safe to stop; the copy "
            "makes no difference worth shipping.",
        )

    best = max(arms.treatments, key=lambda v: lifts[v.key]["relative"] if lifts[v.key]["relative"] is not None else -1)
    estimate = _days_left(experiment, arms, best, looks, options, days_running)
    decision["days_left"] = estimate.get("days_left")
    decision["days_left_detail"] = estimate
    if stopped:
        return done(
            "inconclusive",
            f"Stopped before a conclusive result on {label}: best variant {variant_label(best)} "
            f"{pct(lifts[best.key]['relative'])} {interval(lifts[best.key]['sequential_ci'])}, "
            f"not significant at α = {alpha:g}.",
        )
    if burn_in:
        why = f"fewer than {options.config(experiment).min_units_per_arm:,} units in an arm so far"
    else:
        why = f"no variant is significantly different on {label} yet"
    return done("keep_running", f"Keep running: {why}; {_days_text(estimate)}.")


def _decision_lift(lift: dict[str, Any]) -> dict[str, Any]:
    return {
        "relative": lift["relative"],
        "sequential_ci": lift["sequential_ci"],
        "sequential_p_value": lift["sequential_p_value_adjusted"],
    }


def _no_effect(lifts: dict[str, dict], arms: _Arms, options: ReportOptions) -> bool:
    """Every treatment's always-valid interval excludes lifts of ±minimum_lift (or the design ended)."""
    if options.sequential_method == "group_sequential":
        return all(lifts[v.key]["sequential_decision"] == "stop_no_effect" for v in arms.treatments)
    bound = options.minimum_lift
    for variant in arms.treatments:
        ci = lifts[variant.key]["sequential_ci"]
        if not ci or ci[0] is None or ci[1] is None or not (-bound < ci[0] and ci[1] < bound):
            return False
    return True


def _intervals(lifts: dict[str, dict], arms: _Arms) -> str:
    return "; ".join(f"{v.key} {interval(lifts[v.key]['sequential_ci'])}" for v in arms.treatments)


def _days_left(
    experiment: Experiment,
    arms: _Arms,
    best: Variant,
    looks: list[Look],
    options: ReportOptions,
    days_running: float | None,
) -> dict[str, Any]:
    """Days until the leading variant's sequential test has `power` for a lift of `minimum_lift`.

    The minimum lift worth detecting, not the observed one: early estimates are noisy and mostly
    too large, and a days-left figure built on them would promise a finish that keeps receding.
    """
    target = options.minimum_lift
    if not days_running or days_running < 1 / 24:
        return {"days_left": None, "relative_lift": target, "error": "the experiment started less than an hour ago"}
    metric = experiment.primary_metric
    current = looks[-1]
    result = days_left(
        current.of(arms.control.pk).statistic(metric),
        current.of(best.pk).statistic(metric),
        relative_lift=target,
        days_elapsed=days_running,
        power=options.power,
        config=options.config(experiment),
    )
    return {
        "days_left": result.days_left,
        "relative_lift": target,
        "power": options.power,
        "variant": best.key,
        "daily_units": result.daily_units,
        "units_needed": result.units_needed,
        "current_power": result.current_power,
        "error": result.error,
    }


def _days_text(estimate: dict[str, Any]) -> str:
    lift = f"a {estimate['relative_lift'] * 100:g} % lift with {estimate.get('power', 0.8) * 100:g} % power"
    days = estimate.get("days_left")
    if days is None:
        if estimate.get("error") and "too small" in estimate["error"]:
            return f"{lift} is out of reach at the current traffic"
        return "too early to estimate how long"
    if days < 1:
        return f"likely less than a day more at current traffic to detect {lift}"
    return f"about {days:.0f} more day{'s' if round(days) != 1 else ''} at current traffic to detect {lift}"


# --- The report -------------------------------------------------------------------------------------------------


def report_assemble(
    *,
    experiment: Experiment,
    variants: Sequence[Variant],
    looks: list[Look],
    options: ReportOptions,
    now: datetime,
    metrics: Sequence[str] = ALL_METRICS,
    with_timeseries: bool = True,
    copy_scores: Mapping[int, Mapping[str, float | None]] | None = None,
    units_in_several_variants: int | None = None,
    snapshot_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report. `looks` are cumulative and oldest first; the last one is the current state."""
    wanted = {experiment.primary_metric, *metrics}  # the decision needs the primary metric
    metrics = [metric for metric in ALL_METRICS if metric in wanted]
    arms = _arms(variants)
    ordered = arms.all if arms else list(variants)
    current = looks[-1]
    config = options.config(experiment)
    units = {v.key: int(current.of(v.pk).units) for v in ordered}
    srm_result = srm_test(
        [units[v.key] for v in ordered],
        [float(v.weight) for v in ordered],
        names=[v.key for v in ordered],
        threshold=config.srm_threshold,
    )
    srm = {
        "p_value": srm_result.p_value,
        "flag": srm_result.flagged,
        "observed": units,
        "expected": {row.name: row.expected_units for row in srm_result.rows},
        "chi_square": srm_result.chi_square,
        "threshold": srm_result.threshold,
        "reason": srm_result.reason,
    }
    end = experiment.stopped_at or now
    days_running = _days_between(experiment.started_at, end)

    timeseries: list[dict] | None = None
    if with_timeseries:
        timeseries = []
        previous: dict[str, int] = {}
        for look in looks:
            look_units = {v.key: int(look.of(v.pk).units) for v in ordered}
            timeseries.append(
                {
                    "day": look.day.isoformat(),
                    "taken_at": look.taken_at.isoformat(),
                    "source": look.source,
                    "units": look_units,
                    "new_units": {key: n - previous.get(key, 0) for key, n in look_units.items()},
                    "lift": {},
                }
            )
            previous = look_units

    blocks: dict[str, dict[str, Any]] = {}
    if arms is not None:
        for metric in metrics:
            blocks[metric] = _metric_block(
                experiment=experiment, metric=metric, arms=arms, looks=looks, options=options, timeseries=timeseries
            )

    scores = copy_scores or {}
    variant_rows = []
    for variant in ordered:
        agg = current.of(variant.pk)
        score = scores.get(variant.pk) or {}
        variant_rows.append(
            {
                "key": variant.key,
                "name": variant.name,
                "is_control": variant.is_control,
                "lambda": variant.lambda_value,
                "source": variant.source,
                "weight": variant.weight,
                "copy": variant.copy,
                "diversity": score.get("diversity"),
                "novelty": score.get("novelty"),
                "p_conv": score.get("p_conv"),
                "units": int(agg.units),
                "impressions": int(agg.impressions),
                "clicks": int(agg.clicks),
                "add_to_carts": int(agg.add_to_carts),
                "orders": int(agg.orders),
                "revenue": finite_or_none(agg.revenue),
                "metrics": {
                    metric: {
                        "value": block["values"].get(variant.key),
                        "lift": None if variant.is_control else block["lifts"].get(variant.key),
                    }
                    for metric, block in blocks.items()
                },
            }
        )

    decision = _decision(
        experiment=experiment,
        arms=arms,
        units=units,
        srm=srm,
        primary=blocks.get(experiment.primary_metric),
        looks=looks,
        options=options,
        days_running=days_running,
    )
    warnings = []
    if units_in_several_variants:
        warnings.append(
            f"{units_in_several_variants} unit(s) have events in more than one variant: the storefront may "
            "be sending its own variant instead of the assigned one."
        )
    for metric, block in blocks.items():
        if block.get("error"):
            warnings.append(f"{METRIC_LABELS[metric]}: {block['error']}")
    product = experiment.product
    return {
        "experiment": experiment.key,
        "name": experiment.name,
        "status": experiment.status,
        "product": {"sku": product.sku, "title": product.title, "category": product.category.name},
        "primary_metric": experiment.primary_metric,
        "computed_at": now.isoformat(),
        "started_at": experiment.started_at.isoformat() if experiment.started_at else None,
        "stopped_at": experiment.stopped_at.isoformat() if experiment.stopped_at else None,
        "days_running": days_running,
        "alpha": experiment.alpha,
        "sequential_method": options.sequential_method,
        "sequential_tuning_n": options.sequential_tuning_n,
        "min_units_per_arm": config.min_units_per_arm,
        "correction": options.correction,
        "minimum_lift": options.minimum_lift,
        "metrics": list(blocks) or list(metrics),
        "metric_scales": {metric: block["scale"] for metric, block in blocks.items()},
        "units": sum(units.values()),
        "units_in_several_variants": units_in_several_variants,
        "srm": srm,
        "variants": variant_rows,
        "decision": decision,
        "warnings": warnings,
        "snapshots": snapshot_info or {},
        "timeseries": timeseries if timeseries is not None else [],
    }


# --- CSV --------------------------------------------------------------------------------------------------------

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
)


def report_csv(report: Mapping[str, Any]) -> str:
    """One row per variant and metric; relative lifts and intervals as fractions, like the JSON.

    Copy text is left out: spreadsheet programs run cells that start with `=` as formulas.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return value

    for variant in report["variants"]:
        for metric in report["metrics"]:
            block = variant["metrics"].get(metric) or {}
            lift = block.get("lift") or {}
            ci = lift.get("ci") or [None, None]
            seq = lift.get("sequential_ci") or [None, None]
            row = [
                report["experiment"],
                variant["key"],
                variant["is_control"],
                variant["lambda"],
                variant["units"],
                metric,
                block.get("value"),
                lift.get("absolute"),
                lift.get("relative"),
                ci[0],
                ci[1],
                lift.get("p_value"),
                lift.get("p_value_adjusted"),
                seq[0],
                seq[1],
                lift.get("sequential_p_value"),
                lift.get("sequential_p_value_adjusted"),
                lift.get("chance_to_beat_control"),
                lift.get("significant") if lift else None,
                lift.get("sequential_significant") if lift else None,
                lift.get("scale"),
            ]
            writer.writerow([cell(v) for v in row])
    return buffer.getvalue()
