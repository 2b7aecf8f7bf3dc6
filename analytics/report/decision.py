"""The report's decision: ship, keep the control, stop for no effect, or keep running (and for how long)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from analytics.report.format import METRIC_LABELS, interval, pct, variant_label
from analytics.report.looks import Look
from analytics.report.metrics import Arms, MetricAnalysis
from analytics.report.options import ReportOptions
from analytics.report.types import DaysLeft, DecisionLift, DecisionStatus, Lift, ReportDecision, Srm
from analytics.stats import days_left
from experiments.models import Experiment, Variant


def days_between(start: datetime | None, end: datetime) -> float | None:
    if start is None:
        return None
    return max(0.0, (end - start).total_seconds() / 86_400)


def decide(
    *,
    experiment: Experiment,
    arms: Arms | None,
    units: dict[str, int],
    srm: Srm,
    primary: MetricAnalysis | None,
    looks: list[Look],
    options: ReportOptions,
    days_running: float | None,
    guardrails: Mapping[str, MetricAnalysis] | None = None,
) -> ReportDecision:
    metric = experiment.primary_metric
    label = METRIC_LABELS[metric]

    def done(status: DecisionStatus, text: str, **extra) -> ReportDecision:
        return ReportDecision(status=status, metric=metric, text=text, **extra)

    if arms is None:
        return done("not_enough_data", "This experiment has no control variant: nothing to compare against.")
    if not arms.treatments:
        return done("not_enough_data", "Only the control so far: add an LLM variant to compare its copy with it.")
    if experiment.status == Experiment.Status.DRAFT:
        return done("not_enough_data", "Draft: start the experiment to collect traffic.")
    if sum(units.values()) == 0:
        return done("not_enough_data", "No traffic yet: the report fills in as storefront events arrive.")
    if srm.flag:
        return done(
            "srm_problem",
            f"Sample ratio mismatch (p = {srm.p_value:.2g}): units are not split across the variants as "
            "configured, so assignment or tracking is broken and the lifts cannot be trusted. Fix it before "
            "reading the results.",
        )
    if primary is None:
        return done("not_enough_data", f"{label} was not analysed.")
    lifts = primary.lifts
    alpha = experiment.alpha
    stopped = experiment.status == Experiment.Status.STOPPED

    def stopping(direction: str) -> list[Variant]:
        return [
            v
            for v in arms.treatments
            if lifts[v.key].sequential_significant and lifts[v.key].sequential_decision == direction
        ]

    candidates = stopping("stop_increase")
    harms = {v.key: _guardrail_harms(v, guardrails or {}) for v in candidates}
    winners = [v for v in candidates if not harms[v.key]]
    blocked = [v for v in candidates if harms[v.key]]
    blocked_by = [f"{v.key}: {metric}" for v in blocked for metric in harms[v.key]] or None
    if winners:
        best = max(winners, key=lambda v: lifts[v.key].estimate or 0.0)
        lift = lifts[best.key]
        others = [variant_label(v) for v in winners if v is not best]
        text = (
            f"{variant_label(best)} beats control on {label}: {_headline(lift)}, sequential test significant, "
            "safe to stop."
        )
        if others:
            text += f" Also ahead of control: {', '.join(others)}."
        if blocked:
            text += f" Not shippable, though ahead: {_harm_text(blocked, harms, guardrails or {})}."
        return done("ship", text, winner=best.key, lift=_decision_lift(lift), blocked_by=blocked_by)
    if blocked:
        best = max(blocked, key=lambda v: lifts[v.key].estimate or 0.0)
        lift = lifts[best.key]
        return done(
            "guardrail_harm",
            f"{variant_label(best)} beats control on {label} ({_headline(lift)}), but a guardrail blocks shipping: "
            f"{_harm_text(blocked, harms, guardrails or {})}. Keep the control copy or fix the variant.",
            lift=_decision_lift(lift),
            blocked_by=blocked_by,
        )

    losers = stopping("stop_decrease")
    if len(losers) == len(arms.treatments):
        best = max(losers, key=lambda v: lifts[v.key].estimate or -math.inf)
        lift = lifts[best.key]
        return done(
            "keep_control",
            f"Control beats every variant on {label} (closest: {variant_label(best)} {_headline(lift)}), "
            "sequential test significant: safe to stop and keep the control copy.",
            winner=arms.control.key,
            lift=_decision_lift(lift),
        )

    burn_in = [
        lifts[v.key].warning
        for v in arms.treatments
        if lifts[v.key].warning and not lifts[v.key].warning.startswith("after the planned final look")
    ]
    band = _band(primary, arms, options)
    if not burn_in and _no_effect(lifts, arms, options, band):
        return done(
            "stop_no_effect",
            f"No variant moves {label} by more than ±{options.minimum_lift * 100:g} %"
            f"{_band_text(primary, band)}: every variant's always-valid interval lies inside that band "
            f"({_intervals(lifts, arms)}). Safe to stop; the copy makes no difference worth shipping.",
        )

    best = max(arms.treatments, key=lambda v: lifts[v.key].estimate if lifts[v.key].estimate is not None else -1e300)
    estimate = _days_left(experiment, arms, best, looks, options, days_running)
    more = {"days_left": estimate.days_left, "days_left_detail": estimate}
    if stopped:
        return done(
            "inconclusive",
            f"Stopped before a conclusive result on {label}: best variant {variant_label(best)} "
            f"{_headline(lifts[best.key])}, "
            f"not significant at α = {alpha:g}.",
            **more,
        )
    if burn_in:
        why = f"fewer than {options.config(experiment).min_units_per_arm:,} units in an arm so far"
    else:
        why = f"no variant is significantly different on {label} yet"
    return done("keep_running", f"Keep running: {why}; {_days_text(estimate)}.", **more)


def _decision_lift(lift: Lift) -> DecisionLift:
    return DecisionLift(
        relative=lift.relative,
        sequential_ci=lift.sequential_ci,
        sequential_p_value=lift.sequential_p_value_adjusted,
    )


def _band(primary: MetricAnalysis, arms: Arms, options: ReportOptions) -> float | None:
    """Half-width of the no-effect band on the metric's scale: the minimum lift, relative or in units."""
    if primary.scale == "relative":
        return options.minimum_lift
    control = primary.values.get(arms.control.key)
    return None if not control else abs(control) * options.minimum_lift


def _band_text(primary: MetricAnalysis, band: float | None) -> str:
    return f" (±{band:.4g} per unit on the absolute scale)" if primary.scale == "absolute" and band else ""


def _no_effect(lifts: dict[str, Lift], arms: Arms, options: ReportOptions, band: float | None) -> bool:
    """Every treatment's always-valid interval, on the metric's scale, lies inside ±band (or the design ended)."""
    if options.sequential_method == "group_sequential":
        return all(lifts[v.key].sequential_decision == "stop_no_effect" for v in arms.treatments)
    if not band:
        return False
    for variant in arms.treatments:
        ci = lifts[variant.key].estimate_sequential_ci
        if not ci or ci[0] is None or ci[1] is None or not (-band < ci[0] and ci[1] < band):
            return False
    return True


def _headline(lift: Lift) -> str:
    """The lift and its always-valid interval on the metric's scale, as people read them."""
    if lift.scale == "relative":
        return f"{pct(lift.estimate)} {interval(lift.estimate_sequential_ci)}"
    ci = lift.estimate_sequential_ci or (None, None)

    def num(value: float | None) -> str:
        return "–" if value is None else f"{value:+.4g}".replace("-", "−")

    return f"{num(lift.estimate)} per unit [{num(ci[0])}, {num(ci[1])}] ({pct(lift.relative)})"


def _intervals(lifts: dict[str, Lift], arms: Arms) -> str:
    return "; ".join(f"{v.key} {_headline(lifts[v.key])}" for v in arms.treatments)


def _guardrail_harms(variant: Variant, guardrails: Mapping[str, MetricAnalysis]) -> list[str]:
    """The guardrail metrics on which `variant` is significantly worse than control (sequential or fixed-horizon:
    a guardrail errs on the side of blocking)."""
    harmed = []
    for metric, analysis in guardrails.items():
        lift = analysis.lifts.get(variant.key)
        if lift is None or lift.estimate is None:
            continue
        sequential = lift.sequential_significant and lift.sequential_decision == "stop_decrease"
        if sequential or (lift.significant and lift.estimate < 0):
            harmed.append(metric)
    return harmed


def _harm_text(blocked: list[Variant], harms: dict[str, list[str]], guardrails: Mapping[str, MetricAnalysis]) -> str:
    parts = []
    for variant in blocked:
        for metric in harms[variant.key]:
            lift = guardrails[metric].lifts[variant.key]
            parts.append(f"{variant_label(variant)} harms {METRIC_LABELS[metric]} {_headline(lift)}")
    return "; ".join(parts)


def _days_left(
    experiment: Experiment,
    arms: Arms,
    best: Variant,
    looks: list[Look],
    options: ReportOptions,
    days_running: float | None,
) -> DaysLeft:
    """Days until the leading variant's sequential test has `power` for a lift of `minimum_lift`.

    The minimum lift worth detecting, not the observed one: early estimates are noisy and mostly
    too large, and a days-left figure built on them would promise a finish that keeps receding.
    """
    target = options.minimum_lift
    if not days_running or days_running < 1 / 24:
        return DaysLeft(days_left=None, relative_lift=target, error="the experiment started less than an hour ago")
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
    return DaysLeft(
        days_left=result.days_left,
        relative_lift=target,
        power=options.power,
        variant=best.key,
        daily_units=result.daily_units,
        units_needed=result.units_needed,
        current_power=result.current_power,
        error=result.error,
    )


def _days_text(estimate: DaysLeft) -> str:
    power = estimate.power if estimate.power is not None else 0.8
    lift = f"a {estimate.relative_lift * 100:g} % lift with {power * 100:g} % power"
    days = estimate.days_left
    if days is None:
        if estimate.error and "too small" in estimate.error:
            return f"{lift} is out of reach at the current traffic"
        return "too early to estimate how long"
    if days < 1:
        return f"likely less than a day more at current traffic to detect {lift}"
    return f"about {days:.0f} more day{'s' if round(days) != 1 else ''} at current traffic to detect {lift}"
