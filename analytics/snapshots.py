"""Daily snapshots of an experiment's sufficient statistics (the report's looks): taking today's,
backfilling missing days from the raw events, and the periodic task's work over running experiments."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from analytics import dispatch
from analytics.day_snapshots import snapshot_day_take, snapshot_days_backfill
from analytics.event_scans import daily_aggregates_from_events
from analytics.models import ReportSnapshot
from analytics.selectors import (
    VariantAggregates,
    snapshots_for,
    units_in_several_variants,
    variant_aggregates,
    variant_aggregates_holdout,
)
from experiments.models import Experiment, Variant

logger = logging.getLogger(__name__)

# While a backfill is queued or running, reports of the experiment do not queue another one.
BACKFILL_LOCK_SECONDS = 15 * 60


def snapshots_incomplete(*, experiment: Experiment, snapshots: list[ReportSnapshot]) -> bool:
    """Whether the daily looks miss days since the start (traffic from before the snapshots began)."""
    if experiment.started_at is None:
        return False
    if not snapshots:
        return True
    first, last = snapshots[0].day, snapshots[-1].day
    return first > experiment.started_at.astimezone(UTC).date() or len(snapshots) < (last - first).days + 1


def snapshot_backfill_request(experiment: Experiment) -> bool:
    """Queue a backfill of the experiment's daily looks, unless one was queued in the last
    BACKFILL_LOCK_SECONDS (False then)."""
    if not cache.add(f"analytics:backfill:{experiment.pk}", 1, timeout=BACKFILL_LOCK_SECONDS):
        return False
    dispatch.snapshot_backfill_enqueue(experiment_id=experiment.pk)
    return True


def snapshot_take(*, experiment: Experiment, now: datetime | None = None) -> ReportSnapshot:
    """Store today's look: the experiment's current sufficient statistics (replaces today's earlier one)."""
    now = now or timezone.now()
    aggregates = variant_aggregates(experiment=experiment)
    holdout = None
    if experiment.allocation_mode == Experiment.AllocationMode.BANDIT:
        from experiments.assignment import snapshot_build

        in_holdout = snapshot_build(experiment).allocation.in_holdout
        slice_ = variant_aggregates_holdout(experiment=experiment, in_holdout=in_holdout)
        holdout = {str(k): v.as_dict() for k, v in slice_.items()}
    snapshot, _ = ReportSnapshot.objects.update_or_create(
        experiment=experiment,
        day=now.astimezone(UTC).date(),
        defaults={
            "taken_at": now,
            "source": ReportSnapshot.Source.TOTALS,
            "variants": {str(k): v.as_dict() for k, v in aggregates.items()},
            "holdout_variants": holdout,
            "units_in_several_variants": units_in_several_variants(experiment=experiment),
        },
    )
    snapshot_day_take(experiment=experiment, snapshot=snapshot, now=now)
    return snapshot


def snapshot_backfill(*, experiment: Experiment, replace: bool = False, now: datetime | None = None) -> int:
    """Daily looks from the raw events, for the days that have no snapshot (all days with `replace`).

    One scan of the experiment's events. Every day from the start to the last day with events
    or snapshots gets a look; days without events repeat the day before (cumulative statistics).
    Returns the number of snapshots written.
    """
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    daily = daily_aggregates_from_events(experiment=experiment)
    existing = set(ReportSnapshot.objects.filter(experiment=experiment).values_list("day", flat=True))
    candidates = [d for d, _ in daily[:1]]
    if experiment.started_at is not None:
        candidates.append(experiment.started_at.astimezone(UTC).date())
    if not candidates:
        return 0
    first = min(candidates)
    last = min(today, max([first, *(d for d, _ in daily[-1:]), *existing]))
    variant_ids = list(Variant.objects.filter(experiment=experiment).values_list("id", flat=True))
    empty = {variant_id: VariantAggregates.empty() for variant_id in variant_ids}
    by_day = dict(daily)
    current = empty
    rows = []
    day = first
    while day <= last:
        current = by_day.get(day, current)
        if replace or day not in existing:
            end_of_day = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
            rows.append(
                ReportSnapshot(
                    experiment=experiment,
                    day=day,
                    taken_at=min(end_of_day, now),
                    source=ReportSnapshot.Source.EVENTS,
                    variants={str(k): v.as_dict() for k, v in {**empty, **current}.items()},
                )
            )
        day += timedelta(days=1)
    if rows and rows[-1].day == max(existing | {rows[-1].day}):
        rows[-1].units_in_several_variants = units_in_several_variants(experiment=experiment)
    with transaction.atomic():
        if replace:
            replaced = ReportSnapshot.objects.filter(experiment=experiment, day__in=[r.day for r in rows])
            # A bandit experiment's slice statistics cannot be rebuilt from the events: keep them.
            kept = dict(replaced.exclude(holdout_variants=None).values_list("day", "holdout_variants"))
            for row in rows:
                row.holdout_variants = kept.get(row.day)
            replaced.delete()
        # A concurrent backfill or snapshot may have written a day meanwhile: theirs stands.
        ReportSnapshot.objects.bulk_create(rows, ignore_conflicts=True)
    snapshot_days_backfill(experiment=experiment, now=now)
    logger.info("backfilled %d daily snapshots of %s from raw events", len(rows), experiment.key)
    return len(rows)


def snapshots_take_running(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic task's work: today's snapshot of every running experiment, backfilling first
    where its daily looks are incomplete. Returns {experiment key: snapshots written}."""
    now = now or timezone.now()
    written: dict[str, int] = {}
    for experiment in Experiment.objects.filter(status=Experiment.Status.RUNNING).order_by("pk"):
        count = 0
        if snapshots_incomplete(experiment=experiment, snapshots=snapshots_for(experiment=experiment)):
            count += snapshot_backfill(experiment=experiment, now=now)
        snapshot_take(experiment=experiment, now=now)
        written[experiment.key] = count + 1
    return written
