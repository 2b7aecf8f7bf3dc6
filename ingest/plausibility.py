"""Plausibility rules: event streams no person produces are quarantined, never summed.

A write key sits in every storefront page, so anyone can post events with it; validation checks
each event alone, these rules check what one unit (visitor) did in one experiment, counting what
is already in its totals and the batch in time order:

- clicks: at most INGEST_MAX_CLICKS_PER_IMPRESSION × impressions + 1 (the + 1 lets a click arrive
  before its impression); 0 turns the rule off;
- orders: each order needs a click of the unit (orders ≤ clicks); INGEST_ORDERS_NEED_CLICK;
- bursts: at most INGEST_BURST_MAX_EVENTS_PER_SECOND events of one unit within any second of
  the batch; 0 turns the rule off.
(Revenue far above the product's price is refused earlier, by validation: ingest.accept.)

A quarantined event is stored in QuarantinedEvent with its reason (same idempotency key, so a
retry is a duplicate) and counted per write key and experiment; it never reaches the totals.
Two batches of one unit stored at the same moment by two workers are checked against the same
totals: the rules bound what a unit can add per batch, not exactly across concurrent batches.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from ingest.models import EventType, QuarantinedEvent

Reason = QuarantinedEvent.Reason


@dataclass
class UnitCounts:
    impressions: int = 0
    clicks: int = 0
    orders: int = 0


@dataclass(frozen=True)
class Rules:
    max_clicks_per_impression: float
    orders_need_click: bool
    burst_per_second: int

    @classmethod
    def from_settings(cls) -> Rules:
        return cls(
            max_clicks_per_impression=float(getattr(settings, "INGEST_MAX_CLICKS_PER_IMPRESSION", 2.0)),
            orders_need_click=bool(getattr(settings, "INGEST_ORDERS_NEED_CLICK", True)),
            burst_per_second=int(getattr(settings, "INGEST_BURST_MAX_EVENTS_PER_SECOND", 10)),
        )


@dataclass
class Split:
    accepted: list[list] = field(default_factory=list)
    quarantined: list[tuple[list, str]] = field(default_factory=list)


def plausibility_split(
    rows: list[list],
    *,
    totals: dict[tuple[int, str], UnitCounts],
    rules: Rules,
) -> Split:
    """Split new rows (`[experiment_id, variant_id, event_id, type, unit, ts_iso, revenue]`, none
    of them already stored) into accepted and quarantined, given each unit's stored totals."""
    split = Split()
    by_unit: dict[tuple[int, str], list[list]] = defaultdict(list)
    for row in rows:
        by_unit[(row[0], row[4])].append(row)
    for unit_key, unit_rows in by_unit.items():
        counts = totals.get(unit_key) or UnitCounts()
        counts = UnitCounts(counts.impressions, counts.clicks, counts.orders)
        recent: deque[float] = deque()
        # Time order, and the funnel's order within one instant (impression, click, cart, order).
        for row in sorted(unit_rows, key=lambda r: (r[5], r[3])):
            reason = None
            if rules.burst_per_second > 0:
                ts = datetime.fromisoformat(row[5]).timestamp()
                while recent and recent[0] <= ts - 1.0:
                    recent.popleft()
                recent.append(ts)
                if len(recent) > rules.burst_per_second:
                    reason = Reason.BURST
            event_type = row[3]
            clicking = event_type == EventType.CLICK and rules.max_clicks_per_impression > 0
            if (
                reason is None
                and clicking
                and counts.clicks + 1 > rules.max_clicks_per_impression * counts.impressions + 1
            ):
                reason = Reason.CLICKS
            ordering = event_type == EventType.ORDER and rules.orders_need_click
            if reason is None and ordering and counts.orders + 1 > counts.clicks:
                reason = Reason.ORDER_WITHOUT_CLICK
            if reason is not None:
                split.quarantined.append((row, reason))
                continue
            if event_type == EventType.IMPRESSION:
                counts.impressions += 1
            elif event_type == EventType.CLICK:
                counts.clicks += 1
            elif event_type == EventType.ORDER:
                counts.orders += 1
            split.accepted.append(row)
    return split
