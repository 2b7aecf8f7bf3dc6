"""Idempotent storage of event batches, and the per-unit totals kept up to date with them.

One transaction per batch: the batch record (and the batch out of the outbox, ingest.outbox),
the rows past the plausibility rules (the others quarantined, ingest.quarantine), the new events
with the unit totals and the per-product and per-category breakdowns (PostgreSQL in one statement,
ingest.store_postgres; SQLite, the embedded default, in the same steps with plain bulk inserts,
ingest.store_sqlite), each write key's ingest stats and the units' first attributes. A
re-delivered batch changes nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ingest.breakdown_stats import STAT_FIELDS
from ingest.models import IngestBatch, IngestStats, UnitAttributes
from ingest.outbox import batch_done
from ingest.quarantine import rows_plausible
from ingest.rows import ROW_COLUMNS, rows_normalize
from ingest.store_postgres import store_postgres
from ingest.store_sqlite import store_sqlite

# The queued rows' columns and the breakdown statistics' fields, where callers have always found them.
__all__ = ["ROW_COLUMNS", "STAT_FIELDS", "StoreResult", "events_store", "rejected_count"]


@dataclass(frozen=True)
class StoreResult:
    stored: int
    duplicates: int
    already_processed: bool = False
    quarantined: int = 0


def _stats_bump(write_key_id: int | None, experiment_id: int | None, **deltas: int) -> None:
    if write_key_id is None or not any(deltas.values()):
        return
    updates = {name: F(name) + value for name, value in deltas.items()}
    if IngestStats.objects.filter(write_key_id=write_key_id, experiment_id=experiment_id).update(**updates):
        return
    IngestStats.objects.get_or_create(write_key_id=write_key_id, experiment_id=experiment_id)
    IngestStats.objects.filter(write_key_id=write_key_id, experiment_id=experiment_id).update(**updates)


@transaction.atomic
def events_store(
    *,
    batch_id: str,
    rows: list[list],
    write_key_id: int | None,
    rejected: dict[str, int] | None = None,
    received_at: datetime | None = None,
    attributes: list[list] | None = None,
) -> StoreResult:
    """Store one batch exactly once; returns how many events were new and how many duplicates.

    `attributes`: [experiment id, unit, {name: value}] of events that carried unit attributes; a unit's
    first ones are kept (one row per experiment and unit, later ones ignored)."""
    received_at = received_at or timezone.now()
    rejected = rejected or {}
    _, created = IngestBatch.objects.get_or_create(
        batch_id=uuid.UUID(batch_id),
        defaults={
            "write_key_id": write_key_id,
            "received_at": received_at,
            "processed_at": timezone.now(),
            "events": len(rows),
            "stored": 0,
            "duplicates": 0,
            "rejected": sum(rejected.values()),
        },
    )
    batch_done(batch_id)  # out of the outbox, with the batch record: both happen or neither
    if not created:
        return StoreResult(stored=0, duplicates=0, already_processed=True)
    rows = rows_normalize(rows)
    queued = Counter(row[0] for row in rows)
    rows, quarantined = rows_plausible(rows, write_key_id, received_at)
    if connection.vendor == "postgresql":
        stored = store_postgres(rows, write_key_id, received_at) if rows else Counter()
    else:
        stored = store_sqlite(rows, write_key_id, received_at) if rows else Counter()
    for experiment_id in set(queued) | {int(k) for k in rejected if k}:
        _stats_bump(
            write_key_id,
            experiment_id,
            queued=queued[experiment_id],
            stored=stored[experiment_id],
            quarantined=quarantined[experiment_id],
            duplicates=queued[experiment_id] - stored[experiment_id] - quarantined[experiment_id],
            rejected=rejected.get(str(experiment_id), 0),
        )
    _stats_bump(write_key_id, None, rejected=rejected.get("", 0))
    if attributes:
        _attributes_keep(attributes, received_at)
    total_stored = sum(stored.values())
    total_quarantined = sum(quarantined.values())
    duplicates = sum(queued.values()) - total_stored - total_quarantined
    IngestBatch.objects.filter(batch_id=batch_id).update(stored=total_stored, duplicates=duplicates)
    return StoreResult(stored=total_stored, duplicates=duplicates, quarantined=total_quarantined)


def _attributes_keep(attributes: list[list], received_at: datetime) -> None:
    """One row per (experiment, unit): the attributes of the batch's earliest event of each unit (by its
    `ts`; messages queued before the ts was sent keep the batch order), unless the unit has a row already."""
    first: dict[tuple[int, str], tuple[str, dict[str, str | int], datetime | None]] = {}
    for experiment_id, unit, values, *rest in attributes:
        ts = datetime.fromisoformat(rest[0]) if rest and rest[0] else None
        key = (int(experiment_id), str(unit))
        order = ts.isoformat() if ts else ""
        if key not in first or (ts is not None and first[key][2] is not None and order < first[key][0]):
            first[key] = (order, values, ts)
    UnitAttributes.objects.bulk_create(
        [
            UnitAttributes(
                experiment_id=experiment_id,
                unit=unit,
                created_at=received_at,
                sent_at=ts,
                **{name: values.get(name, "") for name in ("device", "visitor", "source", "country")},
                prior_orders=values.get("prior_orders"),
            )
            for (experiment_id, unit), (_, values, ts) in first.items()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )


def rejected_count(*, write_key_id: int, rejected: dict[str, int]) -> None:
    """Count refused events of a batch that queued nothing (no valid event: no task)."""
    with transaction.atomic():
        for key, count in rejected.items():
            _stats_bump(write_key_id, int(key) if key else None, rejected=count)
