"""Adaptive λ (bandit mode): the allocation versions of an experiment.

The hash-space split into a fixed holdout slice and an adaptive slice is
`experiments.hashing.Allocation`; the re-weighting itself (totals → Thompson sampling →
weights) is `analytics.allocation`, which reads the unit totals and writes the next version
through `allocation_version_add`. Here: `allocation_initialize` (at start), the version writes
and `allocation_history` (for the report).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from experiments.assignment import snapshot_cache_clear
from experiments.hashing import normalize_weights
from experiments.models import AllocationVersion, Experiment

# "At most daily", with an hour of slack so a daily beat entry never skips a day by a few seconds.
REWEIGHT_MIN_INTERVAL = timedelta(hours=23)


def initial_weights(experiment: Experiment) -> dict[str, float]:
    """The variants' own weights, normalised: version 1, and the control's share thereafter."""
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
        weights=initial_weights(experiment),
        reason="start: the variants' weights",
    )
    snapshot_cache_clear(experiment.key)
    return version


def allocation_version_add(
    *,
    experiment: Experiment,
    after: AllocationVersion,
    effective_from: datetime,
    weights: dict[str, float],
    prob_best: dict[str, float],
    counts: dict[str, dict[str, int]],
    reason: str,
) -> AllocationVersion:
    """Record the next version of a bandit-mode experiment's adaptive slice. The caller holds the
    experiment's row lock (`experiment_lock_for_reweight`) and computed the weights."""
    row = AllocationVersion.objects.create(
        experiment=experiment,
        version=after.version + 1,
        effective_from=effective_from,
        weights=weights,
        prob_best=prob_best,
        counts=counts,
        reason=reason,
    )
    transaction.on_commit(lambda: snapshot_cache_clear(experiment.key))
    return row


def experiment_lock_for_reweight(
    *, experiment: Experiment, now: datetime, force: bool = False
) -> tuple[Experiment, AllocationVersion] | None:
    """Lock a running bandit-mode experiment that is due for re-weighting (at most every
    `REWEIGHT_MIN_INTERVAL` unless `force`): (experiment, its latest version), else None.
    Call inside a transaction."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.allocation_mode != Experiment.AllocationMode.BANDIT or experiment.status != Experiment.Status.RUNNING:
        return None
    latest = experiment.allocation_versions.order_by("-version").first() or allocation_initialize(
        experiment=experiment, now=now
    )
    if latest is None or (not force and now - latest.effective_from < REWEIGHT_MIN_INTERVAL):
        return None
    return experiment, latest


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
