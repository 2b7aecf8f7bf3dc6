"""Looks: the cumulative statistics of every variant at one moment, from a daily snapshot or the live totals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from analytics.models import ReportSnapshot
from analytics.selectors import VariantAggregates


@dataclass(frozen=True)
class Look:
    """Cumulative statistics of every variant at one moment (a daily snapshot, or the live totals)."""

    day: date
    taken_at: datetime
    source: str  # "totals" / "events" (snapshots) or "live"
    aggregates: Mapping[int, VariantAggregates]

    def of(self, variant_id: int) -> VariantAggregates:
        return self.aggregates.get(variant_id) or VariantAggregates.empty()


def look_from_snapshot(snapshot: ReportSnapshot, *, holdout: bool = False) -> Look:
    """The snapshot as a look: all traffic, or (`holdout`) a bandit experiment's holdout slice."""
    stored = snapshot.holdout_variants if holdout else snapshot.variants
    return Look(
        day=snapshot.day,
        taken_at=snapshot.taken_at,
        source=snapshot.source,
        aggregates={int(k): VariantAggregates.from_dict(v) for k, v in (stored or {}).items()},
    )


def looks_with_live(daily: list[Look], live: Look) -> list[Look]:
    """The daily looks, with the live totals replacing today's look or following the last one."""
    looks = list(daily)
    if looks and dict(looks[-1].aggregates) == dict(live.aggregates):
        return looks  # nothing arrived since (e.g. a stopped experiment): not a new look
    if looks and looks[-1].day >= live.day:
        looks[-1] = live
    else:
        looks.append(live)
    return looks
