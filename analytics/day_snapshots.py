"""Writes: each daily snapshot's statistics of that day's activity alone, for the daily lift.

The cumulative statistics of a snapshot cannot give a day's lift: differences of sums of squares
of cumulative per-unit totals are not the sums of squares of the day's per-unit totals. So each
snapshot also keeps the day alone (`ReportSnapshot.day_variants`), read from that day's raw events
through the (experiment, ts) index: the hourly snapshot scans today's events (and yesterday's
once more, when its last snapshot was taken before midnight, so every closed day ends complete);
the backfill scans all events once. Reports then read snapshots only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from analytics.event_scans import day_aggregates_from_events
from analytics.models import ReportSnapshot
from analytics.selectors import VariantAggregates
from experiments.models import Experiment, Variant


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _stored(experiment: Experiment, by_variant: dict[int, VariantAggregates]) -> dict[str, dict[str, float]]:
    variant_ids = Variant.objects.filter(experiment=experiment).values_list("id", flat=True)
    return {str(v): by_variant.get(v, VariantAggregates.empty()).as_dict() for v in variant_ids}


def snapshot_day_take(*, experiment: Experiment, snapshot: ReportSnapshot, now: datetime) -> None:
    """Today's activity so far into today's `snapshot`, and yesterday's whole day if it is not complete yet."""
    today = snapshot.day
    start = _midnight(today)
    yesterday = ReportSnapshot.objects.filter(experiment=experiment, day=today - timedelta(days=1)).first()
    if yesterday is not None and (yesterday.day_until is None or yesterday.day_until < start):
        start -= timedelta(days=1)
    by_day = day_aggregates_from_events(experiment=experiment, start=start, end=now)
    if yesterday is not None and start < _midnight(today):
        yesterday.day_variants = _stored(experiment, by_day.get(yesterday.day, {}))
        yesterday.day_until = _midnight(today)
        yesterday.save(update_fields=["day_variants", "day_until"])
    snapshot.day_variants = _stored(experiment, by_day.get(today, {}))
    snapshot.day_until = now
    snapshot.save(update_fields=["day_variants", "day_until"])


def snapshot_days_backfill(*, experiment: Experiment, now: datetime) -> int:
    """Fill the day statistics of every snapshot that lacks them or ended before its day did (one scan of
    the experiment's events). Returns the number of snapshots updated."""
    stale = [
        s
        for s in ReportSnapshot.objects.filter(experiment=experiment).order_by("day")
        if s.day_until is None or s.day_until < min(now, _midnight(s.day + timedelta(days=1)))
    ]
    if not stale:
        return 0
    by_day = day_aggregates_from_events(experiment=experiment)
    for snapshot in stale:
        snapshot.day_variants = _stored(experiment, by_day.get(snapshot.day, {}))
        snapshot.day_until = min(now, _midnight(snapshot.day + timedelta(days=1)))
    ReportSnapshot.objects.bulk_update(stale, ["day_variants", "day_until"])
    return len(stale)
