"""Snapshots: the beat task, on-demand snapshots, the one-off backfill from raw events, and reports
that read snapshots instead of the raw events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from abplatform.celery import app
from analytics import services, tasks
from analytics.event_scans import daily_aggregates_from_events, variant_aggregates_from_events
from analytics.models import ReportSnapshot
from analytics.selectors import VariantAggregates, variant_aggregates
from analytics.snapshots import snapshot_backfill, snapshot_take
from experiments.models import Experiment
from ingest.models import UnitTotals
from tests.analytics.factories import Truth, totals_from_events, traffic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


@pytest.fixture
def running(make_experiment):
    return make_experiment(start=True)


def _approx(aggregates: dict[int, VariantAggregates]) -> dict:
    return {k: pytest.approx(v.as_dict()) for k, v in aggregates.items()}


def test_raw_scan_equals_the_per_unit_totals(running):
    traffic(running, units=900, days=3, seed=1, truths={"llm-l040": Truth(0.2, 0.08)})
    totals = variant_aggregates(experiment=running)
    assert sum(a.units for a in totals.values()) == 900
    assert _approx(variant_aggregates_from_events(experiment=running)) == {k: v.as_dict() for k, v in totals.items()}


def test_daily_backfill_is_cumulative_up_to_each_midnight(running):
    events = traffic(running, units=700, days=5, seed=2)
    days = daily_aggregates_from_events(experiment=running)
    assert len(days) == 5
    for day, aggregates in days:
        # The totals of the events up to that midnight, aggregated the way ingestion would have.
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        UnitTotals.objects.filter(experiment=running).delete()
        totals_from_events(running, [e for e in events if e.ts < midnight])
        assert _approx(aggregates) == {k: v.as_dict() for k, v in variant_aggregates(experiment=running).items()}


def test_backfill_fills_missing_days_only_and_repeats_quiet_days(running):
    traffic(running, units=300, days=6, seed=3)
    Experiment.objects.filter(pk=running.pk).update(started_at=running.started_at - timedelta(days=2))
    running.refresh_from_db()
    today = timezone.now().astimezone(UTC).date()
    kept = snapshot_take(experiment=running, now=timezone.now() - timedelta(days=3))
    written = snapshot_backfill(experiment=running)
    snapshots = list(ReportSnapshot.objects.filter(experiment=running).order_by("day"))
    # From the (moved) start to yesterday, the last day with events: 8 days, one of them already taken.
    assert [s.day for s in snapshots] == [today - timedelta(days=8 - i) for i in range(8)]
    assert written == 7
    assert ReportSnapshot.objects.get(pk=kept.pk).source == "totals"
    assert all(s.source == "events" for s in snapshots if s.pk != kept.pk)
    assert all(sum(v["units"] for v in s.variants.values()) == 0 for s in snapshots[:2])  # before any traffic
    assert snapshots[-1].units_in_several_variants == 0
    # A second run writes nothing; --replace rebuilds every day from the events.
    assert snapshot_backfill(experiment=running) == 0
    assert snapshot_backfill(experiment=running, replace=True) == 8
    assert ReportSnapshot.objects.get(experiment=running, day=kept.day).source == "events"


def test_snapshot_take_replaces_todays_look(running):
    traffic(running, units=200, days=2, seed=4)
    first = snapshot_take(experiment=running)
    UnitTotals.objects.filter(experiment=running).first().delete()
    second = snapshot_take(experiment=running)
    assert first.pk == second.pk and first.day == second.day
    assert sum(v["units"] for v in ReportSnapshot.objects.get(pk=first.pk).variants.values()) == 199
    assert second.units_in_several_variants == 0


def test_beat_task_snapshots_running_experiments_and_backfills_first(running, make_experiment):
    draft = make_experiment("a-draft")
    traffic(running, units=300, days=3, seed=5)
    schedule = app.conf.beat_schedule["analytics-report-snapshots"]
    assert schedule["task"] == tasks.report_snapshots_take.name
    assert tasks.report_snapshots_take.name.startswith("analytics.tasks.")  # routed to the default queue
    tasks.report_snapshots_take.delay()
    days = list(ReportSnapshot.objects.filter(experiment=running).values_list("day", "source"))
    today = timezone.now().astimezone(UTC).date()
    assert len(days) == 4 and days[-1] == (today, "totals")
    assert not ReportSnapshot.objects.filter(experiment=draft).exists()
    tasks.report_snapshots_take.delay()  # idempotent
    assert ReportSnapshot.objects.filter(experiment=running).count() == 4


def test_backfill_command(running, make_experiment):
    traffic(running, units=100, days=2, seed=6)
    call_command("report_snapshots", running.key, "--backfill")
    assert ReportSnapshot.objects.filter(experiment=running).count() == 3


def test_report_queues_one_backfill_then_reads_snapshots_only(running, django_capture_on_commit_callbacks):
    traffic(running, units=400, days=4, seed=7)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = services.report_build(experiment=running)
    assert len(callbacks) == 1  # the backfill task, queued on commit (and run eagerly in tests)
    assert report.snapshots.backfill == "pending"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = services.report_build(experiment=running)
    assert callbacks == []
    assert report.snapshots.count == 4 and report.snapshots.backfill is None
    with CaptureQueriesContext(connection) as queries:
        report = services.report_build(experiment=running)
    assert len(report.timeseries) == 4
    # CUPED's covariate reads events of *other* experiments through the (unit, ts) index: not a rescan.
    rescans = [q["sql"] for q in queries if "experiments_event" in q["sql"] and "e.experiment_id <>" not in q["sql"]]
    assert not rescans, "the report rescanned raw events"


def test_backfill_is_queued_at_most_once_while_pending(running, django_capture_on_commit_callbacks):
    traffic(running, units=100, days=2, seed=8)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = services.report_build(experiment=running)
        services.report_build(experiment=running)
    assert len(callbacks) == 1
    assert first.snapshots.backfill == "pending"
    assert first.timeseries[-1].source == "live"


def test_report_uses_snapshots_as_sequential_looks(running):
    traffic(running, units=600, days=3, seed=9)
    snapshot_backfill(experiment=running)
    report = services.report_build(experiment=running, backfill="never")
    assert [look.source for look in report.timeseries] == ["events"] * 3
    # A new unit today makes the live totals a fourth look.
    totals = UnitTotals.objects.filter(experiment=running).first()
    now = timezone.now()
    UnitTotals.objects.create(
        experiment=running, variant_id=totals.variant_id, unit="late", impressions=1, first_seen=now, last_seen=now
    )
    report = services.report_build(experiment=running, backfill="never")
    assert [look.source for look in report.timeseries] == ["events"] * 3 + ["live"]
    assert sum(report.timeseries[-1].new_units.values()) == 1
