"""The report's novelty views: day statistics kept by the snapshots, the daily lift and its trend,
exposure cohorts, the warning, the CSV rows and the page's chart."""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from analytics import services
from analytics.charts.report import daily_lift_chart
from analytics.event_scans import day_aggregates_from_events
from analytics.models import ReportSnapshot
from analytics.report.csv_export import CSV_COLUMNS, report_csv
from analytics.snapshots import snapshot_take
from analytics.views import detail_context, report_html
from experiments.models import Experiment
from ingest.models import Event, EventType
from tests.analytics.factories import Truth, totals_from_events, traffic
from tests.analytics.test_report_contract import assert_valid

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

DAYS = 10
UNITS = 1600  # new visitors a day


def _fading(experiment: Experiment, *, units_per_day: int = UNITS, lift: float = 0.6) -> list[Event]:
    """New visitors each day; the treatment's CTR lift starts at `lift` and halves every two days."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=DAYS)
    events: list[Event] = []
    for day in range(DAYS):
        truth = Truth(ctr=0.09 * (1 + lift * 0.5 ** (day / 2)), cvr=0.04)
        events += traffic(
            experiment,
            units=units_per_day,
            days=1,
            start=start + timedelta(days=day),
            seed=day,
            truths={"llm-l060": truth},
            totals=False,
            unit_prefix=f"d{day}-",
        )
    totals_from_events(experiment, events)
    Experiment.objects.filter(pk=experiment.pk).update(started_at=start)
    experiment.refresh_from_db()
    return events


@pytest.fixture
def fading(two_arm) -> Experiment:
    _fading(two_arm)
    return two_arm


def test_day_statistics_are_each_days_activity_alone(two_arm):
    traffic(two_arm, units=600, days=4, seed=3)  # visitors come back on later days
    events = Event.objects.filter(experiment=two_arm)
    per_day = day_aggregates_from_events(experiment=two_arm)
    assert len(per_day) == 4
    units: dict = defaultdict(set)
    clicks: dict = defaultdict(int)
    for event in events:
        key = (event.ts.astimezone(UTC).date(), event.variant_id)
        units[key].add(event.unit)
        clicks[key] += event.type == EventType.CLICK
    for day, by_variant in per_day.items():
        for variant_id, stats in by_variant.items():
            assert stats.units == len(units[(day, variant_id)])
            assert stats.clicks == clicks[(day, variant_id)]


def test_report_shows_a_fading_lift_day_by_day_and_warns(fading):
    """One experiment (building it is the slow part) for the report, its cohorts, CSV and page."""
    report = services.report_build(experiment=fading, backfill="now")
    novelty = report.novelty
    assert novelty is not None and len(novelty.daily) == DAYS
    assert all(ReportSnapshot.objects.filter(experiment=fading).values_list("day_variants", flat=True))
    assert not any(d.partial for d in novelty.daily)
    daily = [d.metrics["ctr"].lifts["llm-l060"].estimate for d in novelty.daily]
    assert daily[0] > 0.35 and daily[-1] < 0.15, daily  # +60 % on day 1, +4 % by day 10
    trend = novelty.trend["ctr"]["llm-l060"]
    assert trend.slope < 0 and trend.fading and trend.fitted[0] > trend.fitted[1]
    assert "llm-l060: ctr" in novelty.fading
    assert any(w.startswith("The daily lift is fading: llm-l060 on CTR") for w in report.warnings)
    # units of each day's row: the day's visitors only (each visits on one day here)
    assert sum(d.units["control"] for d in novelty.daily) == report.variants[0].units
    # every pointwise interval is well-formed and holds its estimate
    for day in novelty.daily:
        lift = day.metrics["ctr"].lifts["llm-l060"]
        assert lift.scale == "relative" and lift.ci[0] < lift.estimate < lift.ci[1] and 0 <= lift.p_value <= 1
    assert_valid(report.to_dict())
    _cohorts_split_the_units_at_the_end_of_week_one(fading)
    _csv_and_page_show_the_daily_lift(fading)


def _cohorts_split_the_units_at_the_end_of_week_one(fading):
    novelty = services.report_build(experiment=fading, backfill="never").novelty
    assert novelty.cohort_boundary == fading.started_at + timedelta(days=7)
    week_1, later = novelty.cohorts
    assert (week_1.cohort, later.cohort) == ("week_1", "later")
    report = services.report_build(experiment=fading, backfill="never")
    for variant in report.variants:
        assert week_1.units[variant.key] + later.units[variant.key] == variant.units
    assert week_1.units["control"] == pytest.approx(7 * UNITS / 2, abs=30)  # days 1-7's control visitors
    # the novelty had worn off for the later visitors
    first = week_1.metrics["ctr"].lifts["llm-l060"].estimate
    rest = later.metrics["ctr"].lifts["llm-l060"].estimate
    difference = novelty.cohort_difference["ctr"]["llm-l060"]
    assert difference.estimate == pytest.approx(rest - first) and difference.estimate < 0
    assert difference.p_value < 0.05


def test_a_constant_lift_is_not_fading(two_arm):
    _fading(two_arm, units_per_day=800, lift=0.0)
    report = services.report_build(experiment=two_arm, backfill="now")
    assert report.novelty.fading == []
    assert not any("fading" in w for w in report.warnings)


def test_todays_snapshot_keeps_the_day_so_far_and_completes_yesterday(two_arm):
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)
    traffic(two_arm, units=200, days=2, seed=4)
    snapshot_take(experiment=two_arm, now=yesterday.replace(hour=12))
    early = ReportSnapshot.objects.get(experiment=two_arm, day=yesterday.date())
    assert early.day_until == yesterday.replace(hour=12)
    today = snapshot_take(experiment=two_arm, now=now)
    early.refresh_from_db()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert early.day_until == midnight  # yesterday rescanned to its end, once
    full = day_aggregates_from_events(experiment=two_arm)
    for variant_id, stats in full[yesterday.date()].items():
        assert early.day_variants[str(variant_id)]["units"] == stats.units
    assert today.day_until == now
    partial = services.report_build(experiment=two_arm, backfill="never", now=now).novelty
    assert partial is not None and partial.daily[-1].day == now.date() and partial.daily[-1].partial
    assert not partial.daily[-2].partial  # yesterday is complete now


def _csv_and_page_show_the_daily_lift(fading):
    report = services.report_build(experiment=fading, backfill="never")
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    days = [r for r in rows if r["breakdown"] == "day"]
    assert len(days) == DAYS * 2 * len(report.novelty.metrics)
    first = next(r for r in days if r["variant"] == "llm-l060" and r["metric"] == "ctr")
    lift = report.novelty.daily[0].metrics["ctr"].lifts["llm-l060"]
    assert first["breakdown_key"] == report.novelty.daily[0].day.isoformat()
    assert math.isclose(float(first["lift_relative"]), lift.estimate)
    assert math.isclose(float(first["ci_lower"]), lift.ci[0]) and first["test_scale"] == "relative"
    cohorts = {r["breakdown_key"] for r in rows if r["breakdown"] == "exposure_cohort"}
    assert cohorts == {"week_1", "later"}
    assert all(len(r) == len(CSV_COLUMNS) for r in rows)
    figure = daily_lift_chart(report)
    assert figure is not None
    points = figure["data"][0]
    assert points["x"][0] == report.novelty.daily[0].day.isoformat() and points["error_y"]["type"] == "data"
    assert any("fading" in trace.get("name", "") for trace in figure["data"])
    context = detail_context(report)
    assert context["figures"]["chart-daily"] is figure or context["figures"]["chart-daily"] == figure
    html = report_html(report)
    assert "Is the lift fading?" in html and 'data-chart="chart-daily"' in html
