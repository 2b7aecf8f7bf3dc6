"""Adaptive λ, the loop's analysis half: per-arm totals → Thompson sampling → the next allocation.

Runs daily from the beat (`analytics.tasks.allocations_reweight`). It reads the unit totals of
ingestion, draws the weights with the pure `analytics.stats.bandit`, and records the version
through `experiments.adaptive.allocation_version_add`, so experiments never reads ingestion.
"""

from __future__ import annotations

import zlib
from datetime import datetime

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from analytics.stats.bandit import ArmCounts, thompson_weights
from experiments.adaptive import allocation_version_add, experiment_lock_for_reweight, initial_weights
from experiments.models import AllocationVersion, Experiment
from ingest.models import UnitTotals

METRIC_SUCCESS = {"ctr": "clicks", "cvr": "orders"}


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
    locked = experiment_lock_for_reweight(experiment=experiment, now=now, force=force)
    if locked is None:
        return None
    experiment, latest = locked
    control = next((v for v in experiment.variants.all() if v.is_control), None)
    if control is None:
        return None
    initial = initial_weights(experiment)
    counts = arm_counts(experiment=experiment)
    version = latest.version + 1
    result = thompson_weights(
        arms=counts,
        control=control.key,
        control_share=initial[control.key],
        floor=experiment.bandit_floor,
        seed=zlib.crc32(f"{experiment.key}:{version}".encode()),
    )
    return allocation_version_add(
        experiment=experiment,
        after=latest,
        effective_from=now,
        weights=result.weights,
        prob_best=result.prob_best,
        counts={c.key: {"impressions": c.trials, "successes": c.successes} for c in counts},
        reason=f"Thompson sampling on {experiment.primary_metric}",
    )


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
