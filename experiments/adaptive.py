"""Adaptive λ (bandit mode): the allocation history of an experiment and its daily re-weighting.

The pure parts (Thompson sampling, the floor) live in `analytics.stats.bandit`; the hash-space split
into a fixed holdout slice and an adaptive slice in `experiments.hashing.Allocation`. Here are
the reads and writes: `allocation_initialize` (at start), `allocation_reweight` (one
experiment, at most once per `REWEIGHT_MIN_INTERVAL`), `allocations_reweight_running` (the beat
task's entry point) and `allocation_history` (for the report).
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from analytics.stats.bandit import ArmCounts, thompson_weights
from experiments.assignment import snapshot_cache_clear
from experiments.hashing import normalize_weights
from experiments.models import AllocationVersion, Experiment
from ingest.models import UnitTotals

# "At most daily", with an hour of slack so a daily beat entry never skips a day by a few seconds.
REWEIGHT_MIN_INTERVAL = timedelta(hours=23)
METRIC_SUCCESS = {"ctr": "clicks", "cvr": "orders"}


def _initial_weights(experiment: Experiment) -> dict[str, float]:
    variants = list(experiment.variants.all())
    return dict(zip((v.key for v in variants), normalize_weights([v.weight for v in variants]), strict=True))


def allocation_initialize(*, experiment: Experiment, now: datetime | None = None) -> AllocationVersion | None:
    """Record version 1 (the variants' own weights) when a bandit-mode experiment starts."""
    if experiment.allocation_mode != Experiment.AllocationMode.BANDIT:
        return None
    existing = experiment.allocation_versions.order_by("version").first()
    if existing is not None:
        return existing
    version = AllocationVersion.objects.create(
        experiment=experiment,
        version=1,
        effective_from=experiment.started_at or now or timezone.now(),
        weights=_initial_weights(experiment),
        reason="start: the variants' weights",
    )
    snapshot_cache_clear(experiment.key)
    return version


def arm_counts(*, experiment: Experiment) -> list[ArmCounts]:
    """Impressions and successes of the primary metric per variant, over all traffic."""
    success = METRIC_SUCCESS.get(experiment.primary_metric, "clicks")
    sums = {
        row["variant_id"]: row
        for row in UnitTotals.objects.filter(experiment=experiment)
        .values("variant_id")
        .order_by()
        .annotate(trials=Sum("impressions"), successes=Sum(success))
    }
    counts = []
    for variant in experiment.variants.all():
        row = sums.get(variant.pk) or {}
        counts.append(
            ArmCounts(key=variant.key, trials=int(row.get("trials") or 0), successes=int(row.get("successes") or 0))
        )
    return counts


@transaction.atomic
def allocation_reweight(
    *, experiment: Experiment, now: datetime | None = None, force: bool = False
) -> AllocationVersion | None:
    """Add a version with Thompson-sampling weights; None when it is too early or not applicable.

    The control keeps its starting share of the adaptive slice; every λ arm keeps at least
    `experiment.bandit_floor` of it. The posterior draws are seeded by (experiment, version), so
    the weights of a version can be recomputed from the counts it records.
    """
    now = now or timezone.now()
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.allocation_mode != Experiment.AllocationMode.BANDIT or experiment.status != Experiment.Status.RUNNING:
        return None
    latest = experiment.allocation_versions.order_by("-version").first() or allocation_initialize(
        experiment=experiment, now=now
    )
    assert latest is not None
    if not force and now - latest.effective_from < REWEIGHT_MIN_INTERVAL:
        return None
    control = next((v for v in experiment.variants.all() if v.is_control), None)
    if control is None:
        return None
    initial = _initial_weights(experiment)
    counts = arm_counts(experiment=experiment)
    version = latest.version + 1
    result = thompson_weights(
        arms=counts,
        control=control.key,
        control_share=initial[control.key],
        floor=experiment.bandit_floor,
        seed=zlib.crc32(f"{experiment.key}:{version}".encode()),
    )
    row = AllocationVersion.objects.create(
        experiment=experiment,
        version=version,
        effective_from=now,
        weights=result.weights,
        prob_best=result.prob_best,
        counts={c.key: {"impressions": c.trials, "successes": c.successes} for c in counts},
        reason=f"Thompson sampling on {experiment.primary_metric}",
    )
    transaction.on_commit(lambda: snapshot_cache_clear(experiment.key))
    return row


def allocations_reweight_running(*, now: datetime | None = None) -> dict[str, int]:
    """Re-weight every running bandit-mode experiment that is due; {key: new version}."""
    done: dict[str, int] = {}
    running = Experiment.objects.filter(
        status=Experiment.Status.RUNNING, allocation_mode=Experiment.AllocationMode.BANDIT
    ).order_by("pk")
    for experiment in running:
        row = allocation_reweight(experiment=experiment, now=now)
        if row is not None:
            done[experiment.key] = row.version
    return done


def allocation_history(*, experiment: Experiment) -> list[dict[str, Any]]:
    return [
        {
            "version": row.version,
            "effective_from": row.effective_from.isoformat(),
            "weights": row.weights,
            "prob_best": row.prob_best,
            "reason": row.reason,
        }
        for row in experiment.allocation_versions.order_by("version")
    ]
