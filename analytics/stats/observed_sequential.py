"""Group-sequential looks with alpha spent by observed information (units so far / planned).

One look per day; ramping traffic and weekend dips move the information fraction, not the
calendar. Rules are those of
:func:`~analytics.stats.group_sequential.observed_information_schedule`. Validation: ``python -m
analytics.stats.validate_analysis`` (section 3) and tests/analytics/stats/test_observed_information.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from analytics.stats import group_sequential as gs
from analytics.stats.config import DEFAULT_CONFIG, StatsConfig
from analytics.stats.results import finite_or_none
from analytics.stats.sequential import PathSoFar, SequentialResult, group_sequential_test
from analytics.stats.statistics import Statistic, safe_n


def observed_group_sequential_path(
    looks: Sequence[tuple[Statistic, Statistic]],
    *,
    planned_units: float,
    config: StatsConfig = DEFAULT_CONFIG,
    ended: bool = False,
    final_lift: tuple[float, float] | None = None,
) -> list[SequentialResult]:
    """Group-sequential results for daily cumulative looks, alpha spent by observed information.

    The information fraction of a look is (control + treatment units so far) / ``planned_units``
    (:func:`~analytics.stats.group_sequential.observed_information_schedule`): ramping traffic
    and weekend dips move it, the calendar does not. A day without new units repeats the
    previous look; the first look at or past the planned units (or the last look, with
    ``ended``) is final and spends all alpha left; looks after it show their own estimate with
    the final boundary, but keep the final look's p-value and decision. As in
    :func:`sequential_path`, p-values are running minima and a stop stays a stop. ``final_lift``: the
    last look's (estimate, std_error), e.g. CUPED-adjusted, as in :func:`sequential_path`.
    """
    units = [float(safe_n(c) or 0) + float(safe_n(t) or 0) for c, t in looks]
    schedule = gs.observed_information_schedule(units, planned_units, config.alpha, ended=ended)
    path = PathSoFar()
    results = path.results
    design: list[float] = []
    for index, (control, treatment) in enumerate(looks):
        lift = final_lift if index == len(looks) - 1 else None
        if schedule.design_look[index]:
            design.append(schedule.fractions[index])
            result = group_sequential_test(
                control,
                treatment,
                config,
                information_fractions=design,
                final_look=index == schedule.final_look,
                lift=lift,
            )
        elif schedule.after_plan[index] and schedule.final_look is not None:
            final = results[schedule.final_look]
            current = group_sequential_test(control, treatment, config, information_fractions=design, lift=lift)
            critical = schedule.boundaries[index]
            result = replace(
                final,
                estimate=current.estimate,
                std_error=current.std_error,
                z=current.z,
                ci_lower=None
                if current.estimate is None
                else finite_or_none(current.estimate - critical * current.std_error),
                ci_upper=None
                if current.estimate is None
                else finite_or_none(current.estimate + critical * current.std_error),
                warning="after the planned final look: the decision is the final look's",
                error=current.error,
            )
        else:
            result = (
                results[-1]
                if results
                else group_sequential_test(
                    control, treatment, config, information_fractions=[max(schedule.fractions[index], 1e-9)]
                )
            )
        result = replace(result, look=index + 1, information_fraction=schedule.fractions[index] or None)
        path.add(result, p_counts=result.warning is None or schedule.after_plan[index])
    return results
