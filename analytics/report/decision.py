"""The report's decision: ship, keep the control, stop for no effect, or keep running (and for how long)."""

from __future__ import annotations

import math
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

    winners = stopping("stop_increase")
    if winners:
        best = max(winners, key=lambda v: lifts[v.key].relative or 0.0)
        lift = lifts[best.key]
        others = [variant_label(v) for v in winners if v is not best]
        text = (
            f"{variant_label(best)} beats control on {label}: {pct(lift.relative)} "
            f"{interval(lift.sequential_ci)}, sequential test significant, safe to stop."
        )
        if others:
            text += f" Also ahead of control: {', '.join(others)}."
        return done("ship", text, winner=best.key, lift=_decision_lift(lift))

    losers = stopping("stop_decrease")
    if len(losers) == len(arms.treatments):
        best = max(losers, key=lambda v: lifts[v.key].relative or -math.inf)
        lift = lifts[best.key]
        return done(
            "keep_control",
            f"Control beats every variant on {label} (closest: {variant_label(best)} {pct(lift.relative)} "
            f"{interval(lift.sequential_ci)}), sequential test significant: safe to stop and keep the control copy.",
            winner=arms.control.key,
            lift=_decision_lift(lift),
        )

    burn_in = [lifts[v.key].warning for v in arms.treatments if lifts[v.key].warning]
    if not burn_in and _no_effect(lifts, arms, options):
        return done(
            "stop_no_effect",
            f"No variant moves {label} by more than ±{options.minimum_lift * 100:g} %: every variant's "
            f"always-valid interval lies inside that band ({_intervals(lifts, arms)}). Safe to stop; the copy "
            "makes no difference worth shipping.",
        )

    best = max(arms.treatments, key=lambda v: lifts[v.key].relative if lifts[v.key].relative is not None else -1)
    estimate = _days_left(experiment, arms, best, looks, options, days_running)
    more = {"days_left": estimate.days_left, "days_left_detail": estimate}
    if stopped:
        return done(
            "inconclusive",
            f"Stopped before a conclusive result on {label}: best variant {variant_label(best)} "
            f"{pct(lifts[best.key].relative)} {interval(lifts[best.key].sequential_ci)}, "
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


def _no_effect(lifts: dict[str, Lift], arms: Arms, options: ReportOptions) -> bool:
    """Every treatment's always-valid interval excludes lifts of ±minimum_lift (or the design ended)."""
    if options.sequential_method == "group_sequential":
        return all(lifts[v.key].sequential_decision == "stop_no_effect" for v in arms.treatments)
    bound = options.minimum_lift
    for variant in arms.treatments:
        ci = lifts[variant.key].sequential_ci
        if not ci or ci[0] is None or ci[1] is None or not (-bound < ci[0] and ci[1] < bound):
            return False
    return True


def _intervals(lifts: dict[str, Lift], arms: Arms) -> str:
    return "; ".join(f"{v.key} {interval(lifts[v.key].sequential_ci)}" for v in arms.treatments)


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
