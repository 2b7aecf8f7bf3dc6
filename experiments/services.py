"""Writes to experiments, with the lifecycle rules in one place (the writes to one arm are in
`experiments.variants`).

Rules (each broken rule raises `LifecycleError` with a sentence a marketer can act on):
- start needs exactly one control, at least one other variant, positive weights, and every
  variant's copy approved and passing the product's brand guideline;
- once an experiment has started, its seed, coverage, namespace and variants are frozen:
  changing the allocation of a live test would silently move visitors between variants;
- once started, its analysis plan (primary metric, alpha, multiple-comparison correction) is
  frozen too: choosing them after seeing data inflates false positives;
- every change (create, edit, variants, transitions) is recorded in the admin history with the
  user (the `system` user for commands and tasks), the time, and old and new values.
- at most one active (running or paused) experiment per product, unless both sit in the same
  namespace with non-overlapping ranges;
- a stopped experiment is final.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.admin.models import ADDITION
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from abplatform.errors import FieldErrors, LifecycleError
from catalog.models import Product
from catalog.rules import check_copy
from experiments.adaptive import allocation_initialize
from experiments.assignment import snapshot_cache_clear
from experiments.copies import variant_copies_sync
from experiments.history import history_diff, history_record, history_values, history_variant_values
from experiments.inputs import experiment_guardrails_parse, experiment_namespace_parse, product_set_parse
from experiments.models import Experiment, ExperimentProduct, VariantCopy
from experiments.product_sets import product_set_resolve
from experiments.variants import variant_rows, variants_replace

FROZEN_EXPERIMENT_FIELDS = ("seed", "coverage", "namespace_id", "namespace_start", "namespace_end")
ANALYSIS_PLAN_FIELDS = ("primary_metric", "alpha", "correction", "guardrail_metrics", "planned_units")
EDITABLE_WHEN_LIVE = ("name", "hypothesis")
ACTIVE_STATUSES = (Experiment.Status.RUNNING, Experiment.Status.PAUSED)


def experiment_products_set(*, experiment: Experiment, spec: Any) -> int:
    """Resolve a product set spec into the experiment's products (a draft's only); returns the count."""
    spec = product_set_parse(spec)
    products = list(product_set_resolve(spec).values_list("pk", flat=True))
    ExperimentProduct.objects.filter(experiment=experiment).exclude(product_id__in=products).delete()
    have = set(ExperimentProduct.objects.filter(experiment=experiment).values_list("product_id", flat=True))
    ExperimentProduct.objects.bulk_create(
        [ExperimentProduct(experiment=experiment, product_id=pk) for pk in products if pk not in have], batch_size=2000
    )
    experiment.product_set = spec
    experiment.save(update_fields=["product_set", "updated_at"])
    return len(products)


@transaction.atomic
def experiment_create(
    *,
    key: str,
    name: str,
    product: Product | None = None,
    products: Any = None,
    control_fallback: bool = False,
    owner: AbstractBaseUser | None = None,
    hypothesis: str = "",
    primary_metric: str = Experiment.Metric.CTR,
    alpha: float = 0.05,
    correction: str = "",
    seed: str = "",
    coverage: float = 1.0,
    namespace: Any = None,
    allocation_mode: str = Experiment.AllocationMode.FIXED,
    bandit_holdout: float = 0.2,
    bandit_floor: float = 0.05,
    guardrail_metrics: Iterable[str] = (),
    planned_units: int | None = None,
    variants: Iterable[dict] = (),
) -> Experiment:
    if Experiment.objects.filter(key=key).exists():
        raise FieldErrors({"key": f"an experiment with key {key!r} already exists"})
    if not 0.0 < coverage <= 1.0:
        raise FieldErrors({"coverage": "must be in (0, 1]"})
    if (product is None) == (products is None):
        raise FieldErrors({"products": 'give either "product" (a SKU) or "products" (a product set), not both'})
    ns_id, ns_start, ns_end = experiment_namespace_parse(namespace)
    rows = variant_rows(variants)
    experiment = Experiment.objects.create(
        key=key,
        name=name,
        control_fallback=control_fallback,
        owner=owner if owner is not None and owner.pk else None,
        hypothesis=hypothesis,
        primary_metric=primary_metric,
        alpha=alpha,
        correction=correction or settings.COPYLIFT_REPORT_CORRECTION,
        seed=seed,
        coverage=coverage,
        namespace_id=ns_id,
        namespace_start=ns_start,
        namespace_end=ns_end,
        allocation_mode=allocation_mode,
        bandit_holdout=bandit_holdout,
        bandit_floor=bandit_floor,
        guardrail_metrics=experiment_guardrails_parse(guardrail_metrics),
        planned_units=planned_units,
    )
    experiment_products_set(experiment=experiment, spec=products if products is not None else {"skus": [product.sku]})
    variants_replace(experiment, rows, owner)
    changes = {name: {"old": None, "new": value} for name, value in history_values(experiment).items()}
    changes["variants"] = {"old": None, "new": history_variant_values(experiment)}
    history_record(experiment, owner, "Created", changes=changes, action_flag=ADDITION)
    return experiment


@transaction.atomic
def experiment_update(
    *, experiment: Experiment, data: dict[str, Any], user: AbstractBaseUser | None = None
) -> Experiment:
    """Apply a partial update; allocation fields and variants are refused once started."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    live = experiment.status != Experiment.Status.DRAFT
    data = dict(data)
    if "namespace" in data:
        data["namespace_id"], data["namespace_start"], data["namespace_end"] = experiment_namespace_parse(
            data.pop("namespace")
        )
    if live:
        frozen = [f for f in data if f not in EDITABLE_WHEN_LIVE]
        changed = [f for f in frozen if f == "variants" or getattr(experiment, f, None) != data[f]]
        plan = sorted(f for f in changed if f in ANALYSIS_PLAN_FIELDS)
        if plan:
            raise LifecycleError(
                f"experiment {experiment.key!r} is {experiment.status}: {', '.join(plan)} cannot change after "
                "start (the analysis plan is fixed before the data comes in; changing it afterwards inflates "
                "false positives)"
            )
        if changed:
            raise LifecycleError(
                f"experiment {experiment.key!r} is {experiment.status}: {', '.join(sorted(changed))} "
                "cannot change after start (it would re-shuffle visitors between variants)"
            )
    if "coverage" in data and not 0.0 < float(data["coverage"]) <= 1.0:
        raise FieldErrors({"coverage": "must be in (0, 1]"})
    if "guardrail_metrics" in data:
        data["guardrail_metrics"] = experiment_guardrails_parse(data["guardrail_metrics"])
    variants = data.pop("variants", None)
    spec = data.pop("products", None)
    if "product" in data:
        spec = {"skus": [data.pop("product").sku]}
    before = history_values(experiment)
    variants_before = history_variant_values(experiment) if variants is not None else None
    for field, value in data.items():
        setattr(experiment, field, value)
    experiment.save()
    if spec is not None and not live:
        experiment_products_set(experiment=experiment, spec=spec)
        if variants is None:
            variant_copies_sync(experiment=experiment)
    changes = history_diff(before, history_values(experiment))
    if variants is not None:
        variants_replace(experiment, variant_rows(variants), user)
        variants_after = history_variant_values(experiment)
        if variants_after != variants_before:
            changes["variants"] = {"old": variants_before, "new": variants_after}
    if changes:
        history_record(experiment, user, "Changed", changes=changes)
    snapshot_cache_clear(experiment.key)
    return experiment


def experiments_mark_simulated(*, keys: Iterable[str] = (), ids: Iterable[int] = ()) -> int:
    """Label experiments as holding simulated traffic (the simulator's, the demo's): their reports
    say so. Idempotent; returns how many were newly marked. Not in the history: it records what
    came in, not a choice anyone made."""
    keys, ids = list(keys), list(ids)
    if not keys and not ids:
        return 0
    return Experiment.objects.filter(Q(key__in=keys) | Q(pk__in=ids), simulated_traffic=False).update(
        simulated_traffic=True
    )


def experiment_start_problems(experiment: Experiment) -> list[str]:
    """Why the experiment cannot start now (empty when it can)."""
    problems: list[str] = []
    variants = list(experiment.variants.all())
    controls = [v for v in variants if v.is_control]
    if len(controls) != 1:
        problems.append(f"needs exactly one control variant (has {len(controls)})")
    if len(variants) - len(controls) < 1:
        problems.append("needs at least one variant besides the control")
    n_products = ExperimentProduct.objects.filter(experiment=experiment).count()
    if n_products == 0:
        problems.append("its product set is empty")
    for variant in variants:
        if variant.weight <= 0:
            problems.append(f"variant {variant.key!r} has weight {variant.weight}; weights must be positive")
        missing = list(
            VariantCopy.objects.filter(variant=variant)
            .exclude(status=VariantCopy.Status.APPROVED)
            .values_list("product__sku", flat=True)[:4]
        )
        n_missing = n_products - VariantCopy.objects.filter(variant=variant, status=VariantCopy.Status.APPROVED).count()
        if n_missing and (variant.is_control or not experiment.control_fallback):
            shown = ", ".join(missing[:3]) + (" …" if n_missing > 3 else "")
            if n_products == 1:
                problems.append(f"variant {variant.key!r} copy is not approved")
            else:
                problems.append(
                    f"variant {variant.key!r} has no approved copy for {n_missing} of {n_products} products ({shown}); "
                    "approve them, or start with control_fallback so those show the control copy"
                )
        for row in VariantCopy.objects.filter(variant=variant, status=VariantCopy.Status.APPROVED).select_related(
            "product"
        ):
            guideline = row.product.guideline
            compliance = check_copy(row.copy, guideline.as_rules() if guideline is not None else None)
            where = "" if n_products == 1 else f" on {row.product.sku}"
            problems.extend(f"variant {variant.key!r}{where}: {reason}" for reason in compliance.violations)
    if not 0.0 < experiment.coverage <= 1.0:
        problems.append("coverage must be in (0, 1]")
    return problems


def experiment_excluded_products(experiment: Experiment) -> list[str]:
    """SKUs left out of the analysis: some arm had no approved copy there and showed the control's."""
    return sorted(
        set(
            VariantCopy.objects.filter(variant__experiment=experiment)
            .exclude(status=VariantCopy.Status.APPROVED)
            .values_list("product__sku", flat=True)
        )
    )


def _ranges_overlap(a: Experiment, b: Experiment) -> bool:
    if not a.namespace or not b.namespace or a.namespace[0] != b.namespace[0]:
        return True
    return a.namespace[1] < b.namespace[2] and b.namespace[1] < a.namespace[2]


@transaction.atomic
def experiment_start(*, experiment: Experiment, user: AbstractBaseUser | None = None) -> Experiment:
    """Start a draft, or resume a paused experiment."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status == Experiment.Status.RUNNING:
        raise LifecycleError(f"experiment {experiment.key!r} is already running")
    if experiment.status == Experiment.Status.STOPPED:
        raise LifecycleError(f"experiment {experiment.key!r} is stopped; a stopped experiment cannot restart")
    problems = experiment_start_problems(experiment)
    if problems:
        raise LifecycleError(f"experiment {experiment.key!r} cannot start: " + "; ".join(problems))
    # Lock the products' rows so two concurrent starts over shared products serialize here.
    product_ids = list(ExperimentProduct.objects.filter(experiment=experiment).values_list("product_id", flat=True))
    list(Product.objects.select_for_update().filter(pk__in=product_ids).order_by("pk").values_list("pk", flat=True))
    shared = (
        ExperimentProduct.objects.filter(product_id__in=product_ids, experiment__status__in=ACTIVE_STATUSES)
        .exclude(experiment=experiment)
        .values_list("experiment_id", "product__sku")
    )
    by_experiment: dict[int, list[str]] = {}
    for other_id, sku in shared:
        by_experiment.setdefault(other_id, []).append(sku)
    clashes = [
        (other, by_experiment[other.pk])
        for other in Experiment.objects.filter(pk__in=by_experiment)
        if _ranges_overlap(experiment, other)
    ]
    if clashes:
        skus = sorted({sku for _, shared_skus in clashes for sku in shared_skus})
        keys = ", ".join(other.key for other, _ in clashes)
        where = (
            f"product {skus[0]} already has"
            if len(skus) == 1
            else f"{len(skus)} products ({', '.join(skus[:5])}"
            + (" …) already have" if len(skus) > 5 else ") already have")
        )
        raise LifecycleError(
            f"{where} active experiment(s) {keys} whose traffic overlaps; give both the same namespace with "
            "non-overlapping ranges"
        )
    resumed = experiment.status == Experiment.Status.PAUSED
    experiment.status = Experiment.Status.RUNNING
    if experiment.started_at is None:
        experiment.started_at = timezone.now()
    experiment.save(update_fields=["status", "started_at", "updated_at"])
    allocation_initialize(experiment=experiment)
    snapshot_cache_clear(experiment.key)
    history_record(experiment, user, "Resumed" if resumed else "Started")
    return experiment


@transaction.atomic
def experiment_pause(*, experiment: Experiment, user: AbstractBaseUser | None = None) -> Experiment:
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status != Experiment.Status.RUNNING:
        raise LifecycleError(f"experiment {experiment.key!r} is {experiment.status}; only a running one can pause")
    experiment.status = Experiment.Status.PAUSED
    experiment.save(update_fields=["status", "updated_at"])
    snapshot_cache_clear(experiment.key)
    history_record(experiment, user, "Paused")
    return experiment


@transaction.atomic
def experiment_stop(*, experiment: Experiment, user: AbstractBaseUser | None = None) -> Experiment:
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status not in ACTIVE_STATUSES:
        raise LifecycleError(
            f"experiment {experiment.key!r} is {experiment.status}; only a running or paused one can stop"
        )
    experiment.status = Experiment.Status.STOPPED
    experiment.stopped_at = timezone.now()
    experiment.save(update_fields=["status", "stopped_at", "updated_at"])
    snapshot_cache_clear(experiment.key)
    history_record(experiment, user, "Stopped")
    return experiment
