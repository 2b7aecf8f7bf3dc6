"""Idempotent storage of event batches, and the per-unit totals kept up to date with them.

PostgreSQL: the batch is COPYed into a session temp table, then one statement inserts the new
events (ON CONFLICT on the idempotency key skips stored ones), aggregates exactly the inserted
rows per (experiment, unit, variant) and upserts them into the totals. SQLite (the embedded
default) takes the same steps with plain bulk inserts. Both run inside one transaction with
the batch record, so a re-delivered batch changes nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from ingest.models import Event, EventType, IngestBatch, IngestStats, QuarantinedEvent, UnitTotals
from ingest.plausibility import Rules, UnitCounts, plausibility_split

# Column order of a row as the API queues it.
ROW_COLUMNS = ("experiment_id", "variant_id", "event_id", "type", "unit", "ts", "revenue")
_TYPE_FIELDS = ("impressions", "clicks", "add_to_carts", "orders")


@dataclass(frozen=True)
class StoreResult:
    stored: int
    duplicates: int
    already_processed: bool = False
    quarantined: int = 0


# A session temp table, emptied by DELETE inside each transaction: `ON COMMIT DELETE ROWS`
# truncates at every commit, which costs file operations (measured: ~15 ms a commit).
_PG_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
    experiment_id bigint, variant_id bigint, event_id varchar(64), type smallint,
    unit varchar(128), ts timestamptz, revenue double precision
)
"""

# Event type codes come from EventType, formatted in once (they are constants, not input).
_PG_MERGE = f"""
WITH inserted AS (
    INSERT INTO experiments_event (experiment_id, variant_id, event_id, type, unit, ts, revenue, write_key_id,
                                   received_at)
    SELECT experiment_id, variant_id, event_id, type, unit, ts, revenue, %(write_key_id)s, %(received_at)s
    FROM ingest_stage
    ON CONFLICT (experiment_id, event_id) DO NOTHING
    RETURNING experiment_id, variant_id, unit, type, ts, revenue
), per_unit AS (
    SELECT experiment_id, unit, variant_id,
           count(*) FILTER (WHERE type = {EventType.IMPRESSION.value}) AS impressions,
           count(*) FILTER (WHERE type = {EventType.CLICK.value}) AS clicks,
           count(*) FILTER (WHERE type = {EventType.ADD_TO_CART.value}) AS add_to_carts,
           count(*) FILTER (WHERE type = {EventType.ORDER.value}) AS orders,
           coalesce(sum(revenue) FILTER (WHERE type = {EventType.ORDER.value}), 0) AS revenue,
           min(ts) FILTER (WHERE type = {EventType.IMPRESSION.value}) AS first_exposure,
           min(ts) AS first_seen, max(ts) AS last_seen
    FROM inserted GROUP BY experiment_id, unit, variant_id
), upserted AS (
    INSERT INTO experiments_unittotals AS t (experiment_id, unit, variant_id, impressions, clicks, add_to_carts,
                                             orders, revenue, first_exposure, first_seen, last_seen)
    -- A fixed order takes row locks in the same order in every worker: no deadlocks between them.
    SELECT * FROM per_unit ORDER BY experiment_id, unit, variant_id
    ON CONFLICT (experiment_id, unit, variant_id) DO UPDATE SET
        impressions = t.impressions + EXCLUDED.impressions,
        clicks = t.clicks + EXCLUDED.clicks,
        add_to_carts = t.add_to_carts + EXCLUDED.add_to_carts,
        orders = t.orders + EXCLUDED.orders,
        revenue = t.revenue + EXCLUDED.revenue,
        first_exposure = LEAST(t.first_exposure, EXCLUDED.first_exposure),
        first_seen = LEAST(t.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(t.last_seen, EXCLUDED.last_seen)
    RETURNING 1
)
SELECT experiment_id, count(*) FROM inserted GROUP BY experiment_id
"""  # noqa: S608 (only EventType constants are formatted in)


def _store_postgres(rows: list[list], write_key_id: int | None, received_at: datetime) -> Counter:
    with connection.cursor() as cursor:
        cursor.execute(_PG_STAGE)
        with cursor.cursor.copy(
            "COPY ingest_stage (experiment_id, variant_id, event_id, type, unit, ts, revenue) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(_PG_MERGE, {"write_key_id": write_key_id, "received_at": received_at})
        stored = Counter({experiment_id: count for experiment_id, count in cursor.fetchall()})
        cursor.execute("DELETE FROM ingest_stage")
        return stored


def _store_sqlite(rows: list[list], write_key_id: int | None, received_at: datetime) -> Counter:
    by_experiment: dict[int, list[list]] = defaultdict(list)
    for row in rows:
        by_experiment[row[0]].append(row)
    new_rows: list[list] = []
    for experiment_id, batch in by_experiment.items():
        existing = set(
            Event.objects.filter(experiment_id=experiment_id, event_id__in={r[2] for r in batch}).values_list(
                "event_id", flat=True
            )
        )
        for row in batch:
            if row[2] not in existing:
                existing.add(row[2])  # a duplicate inside the batch itself
                new_rows.append(row)
    Event.objects.bulk_create(
        [
            Event(
                experiment_id=r[0],
                variant_id=r[1],
                event_id=r[2],
                type=r[3],
                unit=r[4],
                ts=datetime.fromisoformat(r[5]),
                revenue=r[6],
                write_key_id=write_key_id,
                received_at=received_at,
            )
            for r in new_rows
        ]
    )
    _totals_add_sqlite(new_rows)
    return Counter(r[0] for r in new_rows)


def _totals_add_sqlite(rows: list[list]) -> None:
    deltas: dict[tuple[int, str, int], dict] = {}
    for experiment_id, variant_id, _event_id, event_type, unit, ts_iso, revenue in rows:
        ts = datetime.fromisoformat(ts_iso)
        delta = deltas.setdefault(
            (experiment_id, unit, variant_id),
            {"counts": [0, 0, 0, 0], "revenue": 0.0, "first_exposure": None, "first_seen": ts, "last_seen": ts},
        )
        delta["counts"][event_type] += 1
        delta["revenue"] += revenue or 0.0
        if event_type == EventType.IMPRESSION and (delta["first_exposure"] is None or ts < delta["first_exposure"]):
            delta["first_exposure"] = ts
        delta["first_seen"] = min(delta["first_seen"], ts)
        delta["last_seen"] = max(delta["last_seen"], ts)
    for (experiment_id, unit, variant_id), delta in deltas.items():
        totals, _ = UnitTotals.objects.get_or_create(
            experiment_id=experiment_id,
            unit=unit,
            variant_id=variant_id,
            defaults={"first_seen": delta["first_seen"], "last_seen": delta["last_seen"]},
        )
        for name, count in zip(_TYPE_FIELDS, delta["counts"], strict=True):
            setattr(totals, name, getattr(totals, name) + count)
        totals.revenue += delta["revenue"]
        if delta["first_exposure"] is not None:
            totals.first_exposure = min(filter(None, (totals.first_exposure, delta["first_exposure"])))
        totals.first_seen = min(totals.first_seen, delta["first_seen"])
        totals.last_seen = max(totals.last_seen, delta["last_seen"])
        totals.save()


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
) -> StoreResult:
    """Store one batch exactly once; returns how many events were new and how many duplicates."""
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
    if not created:
        return StoreResult(stored=0, duplicates=0, already_processed=True)
    queued = Counter(row[0] for row in rows)
    rows, quarantined = _plausible(rows, write_key_id, received_at)
    if connection.vendor == "postgresql":
        stored = _store_postgres(rows, write_key_id, received_at) if rows else Counter()
    else:
        stored = _store_sqlite(rows, write_key_id, received_at) if rows else Counter()
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
    total_stored = sum(stored.values())
    total_quarantined = sum(quarantined.values())
    duplicates = sum(queued.values()) - total_stored - total_quarantined
    IngestBatch.objects.filter(batch_id=batch_id).update(stored=total_stored, duplicates=duplicates)
    return StoreResult(stored=total_stored, duplicates=duplicates, quarantined=total_quarantined)


def _plausible(rows: list[list], write_key_id: int | None, received_at: datetime) -> tuple[list[list], Counter]:
    """The rows to store (new events that pass ingest.plausibility, and already-known ids, which
    storage counts as duplicates) and the quarantined count per experiment. Quarantined rows are
    written here, in the batch's transaction."""
    if not rows:
        return rows, Counter()
    by_experiment: dict[int, list[list]] = defaultdict(list)
    for row in rows:
        by_experiment[row[0]].append(row)
    known: list[list] = []
    new: list[list] = []
    totals: dict[tuple[int, str], UnitCounts] = {}
    for experiment_id, batch in by_experiment.items():
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
        for unit, impressions, clicks, orders in (
            UnitTotals.objects.filter(experiment_id=experiment_id, unit__in=units)
            .values("unit")
            .annotate(i=Sum("impressions"), c=Sum("clicks"), o=Sum("orders"))
            .values_list("unit", "i", "c", "o")
        ):
            totals[(experiment_id, unit)] = UnitCounts(impressions, clicks, orders)
    split = plausibility_split(new, totals=totals, rules=Rules.from_settings())
    if split.quarantined:
        QuarantinedEvent.objects.bulk_create(
            [
                QuarantinedEvent(
                    experiment_id=r[0],
                    variant_id=r[1],
                    event_id=r[2],
                    type=r[3],
                    unit=r[4],
                    ts=datetime.fromisoformat(r[5]),
                    revenue=r[6],
                    reason=reason,
                    write_key_id=write_key_id,
                    received_at=received_at,
                )
                for r, reason in split.quarantined
            ],
            ignore_conflicts=True,  # a concurrent batch quarantined the same id: it stays once
        )
    return known + split.accepted, Counter(r[0] for r, _ in split.quarantined)


def rejected_count(*, write_key_id: int, rejected: dict[str, int]) -> None:
    """Count refused events of a batch that queued nothing (no valid event: no task)."""
    with transaction.atomic():
        for key, count in rejected.items():
            _stats_bump(write_key_id, int(key) if key else None, rejected=count)
