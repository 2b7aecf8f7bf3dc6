"""Which copy a visitor sees: `assign_variant`, served from a per-process allocation cache.

The assign endpoint is the hottest path of the platform. Running experiments are frozen (their
seed, coverage and weights cannot change), so an allocation can be cached in-process; the
cache lives a few seconds so that a pause or stop made on another web node takes effect
quickly, and services clear it immediately in their own process.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from experiments.hashing import Allocation
from experiments.models import Experiment

ALLOCATION_TTL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ExperimentSnapshot:
    """An experiment's allocation and copy, as assignment and event validation need them."""

    allocation: Allocation
    copies: tuple[str, ...]
    control_index: int
    started_at_ts: float | None
    status: str
    experiment_id: int
    variant_ids: tuple[int, ...]
    price: float = 0.0  # the product's, for the revenue plausibility cap of ingestion
    # Bandit mode: (effective-from timestamp, allocation) of every version, oldest first; the
    # last one is `allocation`. Empty for fixed-weight experiments.
    history: tuple[tuple[float, Allocation], ...] = ()

    @property
    def control_key(self) -> str:
        return self.allocation.variant_keys[self.control_index]

    def allocation_at(self, ts: float | None) -> Allocation:
        """The allocation in force at time `ts` (the current one for fixed-weight experiments)."""
        if ts is None or not self.history:
            return self.allocation
        chosen = self.history[0][1]
        for effective_from, allocation in self.history:
            if effective_from <= ts:
                chosen = allocation
            else:
                break
        return chosen


@dataclass(frozen=True, slots=True)
class Assignment:
    experiment: str
    variant: str
    copy: str
    in_experiment: bool

    def as_dict(self) -> dict:
        return {
            "experiment": self.experiment,
            "variant": self.variant,
            "copy": self.copy,
            "in_experiment": self.in_experiment,
        }


_cache: dict[str, tuple[float, ExperimentSnapshot | None]] = {}
_CACHE_MAX_ENTRIES = 10_000
_KEY_RE = re.compile(r"[-a-zA-Z0-9_]{1,64}")  # Experiment.key is a SlugField(max_length=64)


def snapshot_build(experiment: Experiment) -> ExperimentSnapshot:
    variants = list(experiment.variants.all())
    control_index = next((i for i, v in enumerate(variants) if v.is_control), 0)
    keys = [v.key for v in variants]

    def build(weights: list[float], holdout: float = 0.0) -> Allocation:
        return Allocation.build(
            key=experiment.key,
            seed=experiment.hash_seed,
            variant_keys=keys,
            weights=weights,
            coverage=experiment.coverage,
            namespace=experiment.namespace,
            active=experiment.status == Experiment.Status.RUNNING,
            holdout=holdout,
        )

    history: tuple[tuple[float, Allocation], ...] = ()
    if experiment.allocation_mode == Experiment.AllocationMode.BANDIT:
        versions = list(experiment.allocation_versions.order_by("version"))
        initial = build([v.weight for v in variants], experiment.bandit_holdout)
        history = tuple(
            (
                row.effective_from.timestamp(),
                build([float(row.weights.get(k, 0.0)) for k in keys], experiment.bandit_holdout),
            )
            for row in versions
        ) or ((float("-inf"), initial),)
        allocation = history[-1][1]
    else:
        allocation = build([v.weight for v in variants])
    return ExperimentSnapshot(
        allocation=allocation,
        copies=tuple(v.copy for v in variants),
        control_index=control_index,
        started_at_ts=experiment.started_at.timestamp() if experiment.started_at else None,
        status=experiment.status,
        experiment_id=experiment.pk,
        variant_ids=tuple(v.pk for v in variants),
        history=history,
        price=float(experiment.product.price or 0),
    )


def experiment_snapshot(key: str) -> ExperimentSnapshot | None:
    """The cached snapshot for `key`, or None for an unknown experiment."""
    if not _KEY_RE.fullmatch(key):
        # Not a slug, so no experiment's key: no query (PostgreSQL refuses strings holding NUL)
        # and no cache entry.
        return None
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    experiment = Experiment.objects.filter(key=key).select_related("product").prefetch_related("variants").first()
    snapshot = snapshot_build(experiment) if experiment is not None else None
    if len(_cache) > _CACHE_MAX_ENTRIES:  # unknown keys are cached too: bound memory against floods
        _cache.clear()
    _cache[key] = (now + ALLOCATION_TTL_SECONDS, snapshot)
    return snapshot


def snapshot_cache_clear(key: str | None = None) -> None:
    if key is None:
        _cache.clear()
    else:
        _cache.pop(key, None)


def assign_from_snapshot(snapshot: ExperimentSnapshot, unit: str) -> Assignment:
    index = snapshot.allocation.variation_index(unit)
    in_experiment = index >= 0
    if not in_experiment:
        index = snapshot.control_index
    return Assignment(
        experiment=snapshot.allocation.key,
        variant=snapshot.allocation.variant_keys[index] if snapshot.allocation.variant_keys else "",
        copy=snapshot.copies[index] if snapshot.copies else "",
        in_experiment=in_experiment,
    )


def assign_variant(*, experiment_key: str, unit: str) -> Assignment | None:
    """The variant `unit` sees in the experiment, or None when the experiment does not exist or
    is a draft (storefronts never see a draft: its copy may be unapproved).

    Visitors outside coverage or the namespace, and every visitor of an experiment that is
    not running, see the control copy with `in_experiment=False`.
    """
    snapshot = experiment_snapshot(experiment_key)
    if snapshot is None or snapshot.status == Experiment.Status.DRAFT:
        return None
    return assign_from_snapshot(snapshot, unit)


def growthbook_config(experiment: Experiment) -> dict:
    """A GrowthBook-style experiment definition a storefront SDK can evaluate locally."""
    variants = list(experiment.variants.all())
    snapshot = snapshot_build(experiment)
    bandit = None
    if snapshot.allocation.holdout > 0:
        # GrowthBook's SDKs know one range per variation: a bandit-mode experiment must be assigned
        # by /api/v1/assign (or a client that reads `bandit`), not by a stock SDK.
        bandit = {
            "holdout": snapshot.allocation.holdout,
            "version": len(snapshot.history),
            "history": [
                {"effective_from": ts if ts != float("-inf") else None, "weights": list(a.weights)}
                for ts, a in snapshot.history
            ],
        }
    return {
        "key": experiment.key,
        "seed": experiment.hash_seed,
        "hashVersion": 2,
        "hashAttribute": "id",
        "coverage": experiment.coverage,
        "weights": list(snapshot.allocation.weights),
        "namespace": list(experiment.namespace) if experiment.namespace else None,
        "active": experiment.status == Experiment.Status.RUNNING,
        "status": experiment.status,
        "started_at": experiment.started_at.isoformat() if experiment.started_at else None,
        # Only approved copy reaches a storefront (a started experiment has no other; belt and braces).
        "variations": [
            {"key": v.key, "name": v.name or v.key, "copy": v.copy if v.approved else None} for v in variants
        ],
        "bandit": bandit,
    }
