"""Which copy a visitor sees: `assign_variant`, served from a per-process allocation cache.

The assign endpoint is the hottest path of the platform. Running experiments are frozen (their
seed, coverage and weights cannot change), so an allocation can be cached in-process; the
cache lives a few seconds so that a pause or stop made on another web node takes effect
quickly, and services clear it immediately in their own process.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import FloatField
from django.db.models.functions import Cast

from abplatform.errors import FieldErrors
from catalog.models import Product
from experiments.hashing import Allocation
from experiments.models import Experiment, ExperimentProduct, VariantCopy

ALLOCATION_TTL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ProductCopies:
    """One product of an experiment: its id, price and the copy each arm shows there (in variant
    order). An arm without approved copy shows the control's (`fallback` names those arms)."""

    product_id: int
    price: float
    copies: tuple[str, ...]
    fallback: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class ExperimentSnapshot:
    """An experiment's allocation and copy, as assignment and event validation need them."""

    allocation: Allocation
    products: Mapping[str, ProductCopies]  # by SKU
    control_index: int
    started_at_ts: float | None
    status: str
    experiment_id: int
    variant_ids: tuple[int, ...]
    # Bandit mode: (effective-from timestamp, allocation) of every version, oldest first; the
    # last one is `allocation`. Empty for fixed-weight experiments.
    history: tuple[tuple[float, Allocation], ...] = ()

    @property
    def control_key(self) -> str:
        return self.allocation.variant_keys[self.control_index]

    @property
    def only_sku(self) -> str | None:
        """The SKU of a one-product experiment, where events and assignments may omit it."""
        return next(iter(self.products)) if len(self.products) == 1 else None

    @property
    def price(self) -> float:
        """The highest price in the set: the revenue plausibility cap of an order without a SKU."""
        return max((p.price for p in self.products.values()), default=0.0)

    def product_for(self, sku: str | None) -> tuple[str | None, ProductCopies | None, str]:
        """(SKU, its copies, "") for a SKU of the set (None: the only one), else (None, None, reason)."""
        if sku in (None, ""):
            only = self.only_sku
            if only is None:
                return None, None, f"required: the experiment covers {len(self.products)} products"
            return only, self.products[only], ""
        found = self.products.get(sku)
        if found is None:
            return None, None, f"{sku[:80]!r} is not a product of experiment {self.allocation.key!r}"
        return sku, found, ""

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
    product: str = ""

    def as_dict(self) -> dict:
        return {
            "experiment": self.experiment,
            "variant": self.variant,
            "product": self.product,
            "copy": self.copy,
            "in_experiment": self.in_experiment,
        }


_cache: dict[str, tuple[float, ExperimentSnapshot | None]] = {}
_build_lock = threading.Lock()
_CACHE_MAX_ENTRIES = 10_000
_KEY_RE = re.compile(r"[-a-zA-Z0-9_]{1,64}")  # Experiment.key is a SlugField(max_length=64)


_NO_FALLBACK: frozenset[int] = frozenset()


def _products_build(experiment: Experiment, variants: list, control_index: int) -> dict[str, ProductCopies]:
    """Per SKU, the copy each arm shows. Only approved copy reaches a storefront: an arm without it
    on a product shows the control's copy there (the start rules allow that only when the
    marketer chose `control_fallback`)."""
    # Rebuilt by every process once per TTL, so kept lean for a catalog of 10,000 products: the
    # copy rows by variant id (no join with the variant table), and the fallback sets that many
    # products share made once.
    n = len(variants)
    index_of = {v.pk: i for i, v in enumerate(variants)}
    texts: dict[int, list[str | None]] = {}
    if index_of:
        for variant_id, product_id, text in (
            VariantCopy.objects.filter(variant_id__in=list(index_of), status=VariantCopy.Status.APPROVED)
            .order_by()
            .values_list("variant_id", "product_id", "copy")
        ):
            row = texts.get(product_id)
            if row is None:
                row = texts[product_id] = [None] * n
            row[index_of[variant_id]] = text
    empty: list[str | None] = [None] * n
    fallbacks: dict[tuple[int, ...], frozenset[int]] = {(): _NO_FALLBACK}
    products: dict[str, ProductCopies] = {}
    for product_id, sku, price, current in (
        ExperimentProduct.objects.filter(experiment=experiment)
        .order_by("product__sku")
        # A float from the database: the price is only a plausibility cap, and building 10,000
        # Decimals first cost as much as the rest of the loop.
        .annotate(price_f=Cast("product__price", FloatField()))
        .values_list("product_id", "product__sku", "price_f", "product__copy")
    ):
        row = texts.get(product_id, empty)
        if None in row:
            control = row[control_index] if n and row[control_index] is not None else current
            copies = tuple(control if text is None else text for text in row)
            missing = tuple(i for i, text in enumerate(row) if text is None)
            fallback = fallbacks.get(missing)
            if fallback is None:
                fallback = fallbacks[missing] = frozenset(missing)
        else:
            copies, fallback = tuple(row), _NO_FALLBACK
        products[sku] = ProductCopies(product_id=product_id, price=float(price or 0), copies=copies, fallback=fallback)
    return products


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
        products=_products_build(experiment, variants, control_index),
        control_index=control_index,
        started_at_ts=experiment.started_at.timestamp() if experiment.started_at else None,
        status=experiment.status,
        experiment_id=experiment.pk,
        variant_ids=tuple(v.pk for v in variants),
        history=history,
    )


def experiment_snapshot(key: str) -> ExperimentSnapshot | None:
    """The cached snapshot for `key`, or None for an unknown experiment."""
    if not _KEY_RE.fullmatch(key):
        # Not a slug, so no experiment's key: no query (PostgreSQL refuses strings holding NUL)
        # and no cache entry.
        return None
    hit = _cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    # One rebuild at a time per process. A catalog snapshot takes a few hundred milliseconds to
    # build; without this every thread of a web worker that saw it expire rebuilt it at once. While
    # one thread rebuilds, the others keep serving the snapshot that just expired (a cleared or
    # never-built one they wait for).
    if not _build_lock.acquire(blocking=hit is None):
        return hit[1]
    try:
        hit = _cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        experiment = Experiment.objects.filter(key=key).prefetch_related("variants").first()
        snapshot = snapshot_build(experiment) if experiment is not None else None
        if len(_cache) > _CACHE_MAX_ENTRIES:  # unknown keys are cached too: bound memory against floods
            _cache.clear()
        _cache[key] = (now + ALLOCATION_TTL_SECONDS, snapshot)
        return snapshot
    finally:
        _build_lock.release()


def snapshot_cache_clear(key: str | None = None) -> None:
    _index_cache[0] = 0.0  # a start, pause or stop changes which experiments cover a product
    if key is None:
        _cache.clear()
    else:
        _cache.pop(key, None)


def assign_from_snapshot(snapshot: ExperimentSnapshot, unit: str, sku: str | None = None) -> Assignment:
    """The arm of `unit` (the same on every product: the hash ignores the product) and its copy on
    `sku` (None: the only product of a one-product experiment). Raises FieldErrors for a SKU outside
    the set, or a missing one where the set has several."""
    index = snapshot.allocation.variation_index(unit)
    in_experiment = index >= 0
    if not in_experiment:
        index = snapshot.control_index
    sku, product, reason = snapshot.product_for(sku)
    if product is None:
        raise FieldErrors({"product": reason})
    return Assignment(
        experiment=snapshot.allocation.key,
        variant=snapshot.allocation.variant_keys[index] if snapshot.allocation.variant_keys else "",
        copy=product.copies[index] if product.copies else "",
        in_experiment=in_experiment,
        product=sku or "",
    )


def assign_variant(*, experiment_key: str, unit: str, product: str | None = None) -> Assignment | None:
    """The variant `unit` sees in the experiment and its copy on `product` (a SKU; may be omitted
    for a one-product experiment), or None when the experiment does not exist or is a draft
    (storefronts never see a draft: its copy may be unapproved).

    Visitors outside coverage or the namespace, and every visitor of an experiment that is
    not running, see the control copy with `in_experiment=False`.
    """
    snapshot = experiment_snapshot(experiment_key)
    if snapshot is None or snapshot.status == Experiment.Status.DRAFT:
        return None
    return assign_from_snapshot(snapshot, unit, product)


_index_cache: list = [0.0, {}]  # [expires at, {SKU: (experiment key, …)}]


def _active_index() -> dict[str, tuple[str, ...]]:
    """SKU → keys of the running or paused experiments covering it (cached like snapshots)."""
    now = time.monotonic()
    if _index_cache[0] > now:
        return _index_cache[1]
    index: dict[str, list[str]] = {}
    for key, sku in ExperimentProduct.objects.filter(
        experiment__status__in=(Experiment.Status.RUNNING, Experiment.Status.PAUSED)
    ).values_list("experiment__key", "product__sku"):
        index.setdefault(sku, []).append(key)
    _index_cache[:] = [now + ALLOCATION_TTL_SECONDS, {sku: tuple(keys) for sku, keys in index.items()}]
    return _index_cache[1]


def copy_for_products(*, unit: str, skus: list[str]) -> dict[str, dict]:
    """For each SKU, the running experiment covering it, the unit's arm and the copy: one call for a
    listing page. A SKU in no active experiment gets its current copy with `experiment: None`; an
    unknown SKU gets `None`. Where non-overlapping namespaces let several experiments cover a
    product, the one whose range holds the unit decides."""
    index = _active_index()
    result: dict[str, dict] = {}
    plain = [sku for sku in skus if sku not in index]
    current = dict(Product.objects.filter(sku__in=plain).values_list("sku", "copy")) if plain else {}
    for sku in skus:
        keys = index.get(sku)
        if not keys:
            result[sku] = (
                {"experiment": None, "variant": None, "copy": current[sku], "in_experiment": False}
                if sku in current
                else None
            )
            continue
        chosen: Assignment | None = None
        for key in keys:
            snapshot = experiment_snapshot(key)
            if snapshot is None or sku not in snapshot.products:
                continue
            assignment = assign_from_snapshot(snapshot, unit, sku)
            if chosen is None or (assignment.in_experiment and not chosen.in_experiment):
                chosen = assignment
        result[sku] = None if chosen is None else {k: v for k, v in chosen.as_dict().items() if k != "product"}
    return result


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
        # Only approved copy reaches a storefront (an arm without it shows the control's). The copy
        # of a larger set is in /api/v1/experiments/KEY/copy.json (`copy_map`).
        "variations": [
            {
                "key": v.key,
                "name": v.name or v.key,
                "copy": snapshot.products[snapshot.only_sku].copies[i] if snapshot.only_sku else None,
            }
            for i, v in enumerate(variants)
        ],
        "products": len(snapshot.products),
        "bandit": bandit,
    }


def copy_map(experiment: Experiment) -> dict:
    """Every product's copy in every arm, for an SDK that assigns locally: `copies[SKU][i]` is the
    copy of `variations[i]`. Frozen with the experiment, so cacheable (the view adds an ETag)."""
    snapshot = experiment_snapshot(experiment.key) or snapshot_build(experiment)
    return {
        "key": experiment.key,
        "variations": list(snapshot.allocation.variant_keys),
        "copies": {sku: list(p.copies) for sku, p in snapshot.products.items()},
    }
