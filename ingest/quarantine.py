"""The rows of a batch that pass the plausibility rules (ingest.plausibility) against what each
unit has already sent, and the quarantine of the others."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db.models import QuerySet, Sum

from ingest.models import BreakdownUnitTotals, Dimension, Event, QuarantinedEvent, UnitTotals
from ingest.plausibility import Rules, UnitCounts, plausibility_split
from ingest.rows import row_event_fields, rows_by_experiment


def _per_unit(totals: QuerySet) -> QuerySet:
    """(unit, impressions, clicks, orders) summed per unit over these totals rows."""
    return (
        totals.values("unit")
        .annotate(i=Sum("impressions"), c=Sum("clicks"), o=Sum("orders"))
        .values_list("unit", "i", "c", "o")
    )


def rows_plausible(rows: list[list], write_key_id: int | None, received_at: datetime) -> tuple[list[list], Counter]:
    """The rows to store (new events that pass ingest.plausibility, and already-known ids, which
    storage counts as duplicates) and the quarantined count per experiment. Quarantined rows are
    written here, in the batch's transaction."""
    if not rows:
        return rows, Counter()
    known: list[list] = []
    new: list[list] = []
    totals: dict[tuple[int, str], UnitCounts] = {}
    for experiment_id, batch in rows_by_experiment(rows).items():
        ids = {r[2] for r in batch}
        stored_ids = set(
            Event.objects.filter(experiment_id=experiment_id, event_id__in=ids).values_list("event_id", flat=True)
        )
        held_ids = set(
            QuarantinedEvent.objects.filter(experiment_id=experiment_id, event_id__in=ids).values_list(
                "event_id", flat=True
            )
        )
        seen: set[str] = set()
        for row in batch:
            if row[2] in stored_ids:
                known.append(row)  # a duplicate of a stored event: storage drops and counts it
            elif row[2] not in held_ids and row[2] not in seen:
                seen.add(row[2])
                new.append(row)
            # else: a duplicate of a quarantined event or of one earlier in this batch: dropped
        units = {r[4] for r in batch if r[2] not in stored_ids}
        for unit, impressions, clicks, orders in _per_unit(
            UnitTotals.objects.filter(experiment_id=experiment_id, unit__in=units)
        ):
            totals[(experiment_id, unit)] = UnitCounts(impressions, clicks, orders)
        # The pooled totals leave excluded products out; a unit's earlier click on one still lets its
        # order there through. (Excluded products this batch names: the query stays per batch.)
        excluded = {r[7] for r in batch if r[8]}
        if excluded:
            for unit, impressions, clicks, orders in _per_unit(
                BreakdownUnitTotals.objects.filter(
                    experiment_id=experiment_id, unit__in=units, dimension=Dimension.PRODUCT, key__in=excluded
                )
            ):
                counts = totals.setdefault((experiment_id, unit), UnitCounts())
                counts.impressions += impressions
                counts.clicks += clicks
                counts.orders += orders
    split = plausibility_split(new, totals=totals, rules=Rules.from_settings())
    if split.quarantined:
        QuarantinedEvent.objects.bulk_create(
            [
                QuarantinedEvent(
                    **row_event_fields(r), reason=reason, write_key_id=write_key_id, received_at=received_at
                )
                for r, reason in split.quarantined
            ],
            ignore_conflicts=True,  # a concurrent batch quarantined the same id: it stays once
        )
    return known + split.accepted, Counter(r[0] for r, _ in split.quarantined)
