"""Writes to an experiment's arms: replacing them all from a request body (create and update),
saving or deleting one in place (the admin's inline rows), approving an arm's copy at once, and
the LLM arms that generation makes. Arms change only while the experiment is a draft; every
change is recorded in the admin history."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from abplatform.errors import FieldErrors, LifecycleError
from catalog.models import Product
from experiments.assignment import snapshot_cache_clear
from experiments.copies import variant_copies_sync, variant_copy_generated
from experiments.history import history_record
from experiments.models import VARIANT_FIELDS as MODEL_VARIANT_FIELDS
from experiments.models import Experiment, Variant, VariantCopy

# What the history records of an edited arm: its own fields and the LLM settings.
VARIANT_FIELDS = (*MODEL_VARIANT_FIELDS, "prompt_version", "model_name", "adapter")


def variant_rows(variants: Iterable[dict]) -> list[dict]:
    """The arms of a request body, refused (FieldErrors) when two share a key."""
    rows = list(variants)
    keys = [row.get("key") for row in rows]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise FieldErrors({"variants": f"duplicate variant key(s): {', '.join(duplicates)}"})
    return rows


def _variant_source(row: dict) -> str:
    if row.get("source"):
        return row["source"]
    if row.get("is_control"):
        return Variant.Source.CONTROL
    return Variant.Source.LLM if row.get("lambda_value") is not None else Variant.Source.HUMAN


def _hand_copies(experiment: Experiment, rows: list[dict]) -> dict[str, dict[str, str]]:
    """Variant key → SKU → text from the rows' `copy` (a one-product experiment's v1 shape) and
    `copies` ({SKU: text}); FieldErrors for a SKU outside the set or `copy` on a larger set."""
    skus = set(experiment.products.values_list("sku", flat=True))
    only = next(iter(skus)) if len(skus) == 1 else None
    texts: dict[str, dict[str, str]] = {}
    for index, row in enumerate(rows):
        mine = dict(row.get("copies") or {})
        outside = sorted(set(mine) - skus)
        if outside:
            raise FieldErrors({f"variants[{index}].copies": f"SKU(s) not in the experiment: {', '.join(outside[:10])}"})
        if row.get("copy"):
            if only is None:
                raise FieldErrors(
                    {f"variants[{index}].copy": 'one copy fits a one-product experiment; use "copies": {SKU: text}'}
                )
            mine.setdefault(only, row["copy"])
        texts[row["key"]] = mine
    return texts


def variants_replace(experiment: Experiment, rows: list[dict], user: AbstractBaseUser | None) -> None:
    experiment.variants.all().delete()
    for position, row in enumerate(rows):
        Variant.objects.create(
            experiment=experiment,
            position=position,
            key=row["key"],
            name=row.get("name") or row["key"],
            is_control=bool(row.get("is_control", False)),
            lambda_value=row.get("lambda_value"),
            weight=float(row.get("weight", 1.0)),
            source=_variant_source(row),
            prompt_version=row.get("prompt_version", ""),
            model_name=row.get("model_name", ""),
            adapter=row.get("adapter", ""),
        )
    variant_copies_sync(experiment=experiment, hand_copies=_hand_copies(experiment, rows))
    for row in rows:
        if row.get("approved"):
            # The v1 body approves an arm's copy with the arm: the caller read it before sending.
            _variant_copies_approve_all(experiment.variants.get(key=row["key"]), user)


def _variant_copies_approve_all(variant: Variant, user: AbstractBaseUser | None) -> int:
    return (
        VariantCopy.objects.filter(variant=variant)
        .exclude(copy="")
        .update(
            status=VariantCopy.Status.APPROVED,
            reviewed_by=user if user and user.pk else None,
            reviewed_at=timezone.now(),
        )
    )


@transaction.atomic
def variant_approve(*, variant: Variant, user: AbstractBaseUser | None, approved: bool = True) -> Variant:
    """Approve (or withdraw approval of) every product copy of the arm at once: the v1 action, for
    one-product experiments and for marketers who reviewed the whole arm."""
    variant = Variant.objects.select_for_update().select_related("experiment").get(pk=variant.pk)
    if variant.experiment.status != Experiment.Status.DRAFT:
        raise LifecycleError(
            f"experiment {variant.experiment.key!r} is {variant.experiment.status}: its copy approvals are frozen"
        )
    if approved:
        _variant_copies_approve_all(variant, user)
    else:
        VariantCopy.objects.filter(variant=variant, status=VariantCopy.Status.APPROVED).update(
            status=VariantCopy.Status.PENDING, reviewed_by=None, reviewed_at=None
        )
    history_record(variant.experiment, user, f"{'Approved' if approved else 'Unapproved'} variant {variant.key}")
    return variant


def _draft_or_refuse(experiment: Experiment, what: str) -> None:
    if experiment.status != Experiment.Status.DRAFT:
        raise LifecycleError(
            f"experiment {experiment.key!r} is {experiment.status}: {what} cannot change after start "
            "(it would re-shuffle visitors between variants)"
        )


@transaction.atomic
def variant_save(*, variant: Variant, user: AbstractBaseUser | None = None) -> Variant:
    """Save one variant edited in place (the admin's inline rows); only while the experiment is a draft.
    A new arm gets its per-product copy rows (the control's hold each product's current copy)."""
    experiment = Experiment.objects.select_for_update().get(pk=variant.experiment_id)
    _draft_or_refuse(experiment, "variants")
    old = Variant.objects.filter(pk=variant.pk).first() if variant.pk is not None else None
    variant.save()
    changes = {
        f"variant {variant.key}: {name}": {
            "old": getattr(old, name, None) if old else None,
            "new": getattr(variant, name),
        }
        for name in VARIANT_FIELDS
        if old is None or getattr(old, name) != getattr(variant, name)
    }
    if changes:
        history_record(
            experiment, user, f"{'Added' if old is None else 'Changed'} variant {variant.key}", changes=changes
        )
    variant_copies_sync(experiment=experiment)
    snapshot_cache_clear(experiment.key)
    return variant


@transaction.atomic
def variant_delete(*, variant: Variant, user: AbstractBaseUser | None = None) -> None:
    experiment = Experiment.objects.select_for_update().get(pk=variant.experiment_id)
    _draft_or_refuse(experiment, "variants")
    changes = {f"variant {variant.key}": {"old": variant.key, "new": None}}
    variant.delete()
    history_record(experiment, user, f"Deleted variant {variant.key}", changes=changes)
    snapshot_cache_clear(experiment.key)


def variant_for_lambda(*, experiment: Experiment, key: str, lambda_value: float, position: int) -> tuple[Variant, bool]:
    """The LLM arm `key` at λ = `lambda_value`, made (unapproved copy rows for every product) when
    missing. The control is never taken over, even if someone named it like an LLM arm: the new
    arm is then `key-llm`. Returns (variant, created). The caller holds the experiment's row lock
    and has checked that it is a draft."""
    variant = experiment.variants.filter(key=key).first()
    if variant is not None and not variant.is_control:
        if variant.lambda_value != lambda_value or variant.source != Variant.Source.LLM:
            variant.lambda_value = lambda_value
            variant.source = Variant.Source.LLM
            variant.save(update_fields=["lambda_value", "source"])
        return variant, False
    variant = Variant.objects.create(
        experiment=experiment,
        key=key if variant is None else f"{key}-llm",
        name=f"LLM λ={lambda_value:.2f}",
        position=position,
        lambda_value=lambda_value,
        source=Variant.Source.LLM,
    )
    variant_copies_sync(experiment=experiment)
    history_record(
        experiment,
        None,
        f"Generated variant {variant.key}",
        changes={f"variant {variant.key}": {"old": None, "new": key}},
    )
    return variant, True


def variant_save_generated(
    *,
    experiment: Experiment,
    key: str,
    copy: str,
    lambda_value: float,
    position: int,
    product: Product | None = None,
    candidates: list[dict] | None = None,
) -> tuple[Variant, bool]:
    """Store copy an LLM wrote at λ = `lambda_value` for `product` (default: the experiment's only
    product) in arm `key`; fresh copy needs fresh review, so it is pending. Returns (variant, created)."""
    variant, created = variant_for_lambda(experiment=experiment, key=key, lambda_value=lambda_value, position=position)
    product = product or experiment.product
    old = VariantCopy.objects.filter(variant=variant, product=product).values_list("copy", flat=True).first()
    variant_copy_generated(variant=variant, product=product, copy=copy, candidates=candidates or [])
    if not created:
        history_record(
            experiment,
            None,
            f"Generated copy for variant {variant.key}",
            changes={f"variant {variant.key}: copy": {"old": old, "new": copy}},
        )
    return variant, created
