"""Per-product copy of an experiment's arms (`VariantCopy`): the rows an arm needs, the checks a
reviewer sees, and the review actions (approve, edit, reject) in one place.

Rules:
- every arm has one row per product of the set; the control's rows hold each product's current
  copy and are approved from the start (it is what the shop shows today);
- copy is checked against the product's brand guideline and the copy guards whenever it is
  written; the findings are stored as `flags` and shown in review;
- a row can be approved only with copy that breaks no brand rule and no guard, and only while the
  experiment is a draft (a started experiment's copy is frozen with it);
- every review action is recorded in the experiment's history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from abplatform.errors import FieldErrors, LifecycleError
from catalog.guards.check import guards_check
from catalog.guards.facts import ProductFacts, fact_index
from catalog.models import Product
from catalog.rules import check_copy
from experiments.history import history_record
from experiments.models import Experiment, ExperimentProduct, Variant, VariantCopy

Status = VariantCopy.Status


def product_facts_of(product: Product) -> ProductFacts:
    """What the shop says about `product`: the only source a claim in its copy may come from."""
    return ProductFacts(
        sku=product.sku,
        title=product.title,
        brand=product.brand,
        category=product.category.name,
        description=product.description,
        attributes=dict(product.attributes or {}),
        price=float(product.price) if product.price is not None else None,
    )


def copy_flags(text: str, product: Product, *, guard: bool = True) -> list[str]:
    """Every problem a reviewer should see in `text` as copy for `product`: brand rules (length,
    forbidden words, CTA) and, with `guard`, the copy guards (grounding, topic, publishable)."""
    if not text.strip():
        return ["empty copy"]
    guideline = product.guideline
    flags = [f"brand: {reason}" for reason in check_copy(text, guideline.as_rules() if guideline else None).violations]
    if guard:
        flags.extend(
            f"guards: {message}" for message in guards_check(text, fact_index(product_facts_of(product))).messages
        )
    return flags


def _draft_or_refuse(experiment: Experiment) -> None:
    if experiment.status != Experiment.Status.DRAFT:
        raise LifecycleError(
            f"experiment {experiment.key!r} is {experiment.status}: its copy is frozen since it started"
        )


def variant_copies_sync(*, experiment: Experiment, hand_copies: Mapping[str, Mapping[str, str]] | None = None) -> int:
    """Make sure every arm has a row for every product of the set (and none for products outside
    it). Control rows take the product's current copy, approved; `hand_copies` (variant key → SKU →
    text) fills hand-written arms; LLM rows start pending and empty until generated. Returns the
    rows created."""
    products = {p.pk: p for p in Product.objects.filter(pk__in=_product_ids(experiment)).select_related("category")}
    created = 0
    for variant in experiment.variants.all():
        VariantCopy.objects.filter(variant=variant).exclude(product_id__in=products).delete()
        have = set(VariantCopy.objects.filter(variant=variant).values_list("product_id", flat=True))
        texts = (hand_copies or {}).get(variant.key, {})
        rows = []
        for pk, product in products.items():
            if pk in have:
                continue
            if variant.is_control and product.sku not in texts:
                text = product.current_copy
                rows.append(VariantCopy(variant=variant, product=product, copy=text, status=Status.APPROVED))
            else:
                text = texts.get(product.sku, "")
                flags = copy_flags(text, product, guard=not variant.is_control) if text else []
                rows.append(VariantCopy(variant=variant, product=product, copy=text, flags=flags))
        VariantCopy.objects.bulk_create(rows, batch_size=1000)
        created += len(rows)
    return created


def _product_ids(experiment: Experiment) -> list[int]:
    return list(ExperimentProduct.objects.filter(experiment=experiment).values_list("product_id", flat=True))


def _copy_locked(variant: Variant, sku: str) -> VariantCopy:
    row = (
        VariantCopy.objects.select_for_update()
        .select_related("product__category", "variant__experiment")
        .filter(variant=variant, product__sku=sku)
        .first()
    )
    if row is None:
        raise FieldErrors({sku: f"not a product of experiment {variant.experiment.key!r}"})
    return row


@transaction.atomic
def variant_copy_review(
    *,
    variant: Variant,
    sku: str,
    user: AbstractBaseUser | None,
    copy: str | None = None,
    approved: bool | None = None,
    rejected: bool = False,
) -> VariantCopy:
    """Edit, approve, unapprove or reject one product's copy in one arm."""
    experiment = Experiment.objects.select_for_update().get(pk=variant.experiment_id)
    _draft_or_refuse(experiment)
    row = _copy_locked(variant, sku)
    changes: dict[str, dict[str, Any]] = {}
    if copy is not None and copy != row.copy:
        changes[f"{variant.key}/{sku}: copy"] = {"old": row.copy, "new": copy}
        row.copy = copy
        row.flags = copy_flags(copy, row.product, guard=not variant.is_control)
        if row.status == Status.APPROVED and approved is None:
            approved = False  # new words need a new approval
    if rejected:
        new_status = Status.REJECTED
    elif approved is True:
        if row.flags:
            raise FieldErrors({sku: "cannot approve copy with problems: " + "; ".join(row.flags)})
        if not row.copy.strip():
            raise FieldErrors({sku: "cannot approve empty copy"})
        new_status = Status.APPROVED
    elif approved is False:
        new_status = Status.PENDING
    else:
        new_status = row.status if row.status != Status.FAILED or copy is None else Status.PENDING
    if new_status != row.status:
        changes[f"{variant.key}/{sku}: status"] = {"old": row.status, "new": new_status}
        row.status = new_status
    row.reviewed_by = user if user is not None and user.pk else None
    row.reviewed_at = timezone.now()
    row.save()
    if changes:
        history_record(experiment, user, f"Reviewed copy of {variant.key} on {sku}", changes=changes)
    return row


@transaction.atomic
def variant_copies_review(
    *, variant: Variant, edits: Mapping[str, Mapping[str, Any]], user: AbstractBaseUser | None
) -> list[VariantCopy]:
    """Bulk review (`PATCH …/copies`): {SKU: {"copy": …, "approved": bool, "rejected": bool}}. All or
    nothing: one bad row refuses the whole request, naming every bad SKU."""
    errors: dict[str, str] = {}
    rows: list[VariantCopy] = []
    for sku, edit in edits.items():
        if not isinstance(edit, Mapping):
            errors[sku] = 'must be an object like {"copy": "…", "approved": true}'
            continue
        unknown = sorted(set(edit) - {"copy", "approved", "rejected"})
        if unknown:
            errors[sku] = f"unknown field(s) {', '.join(unknown)}"
            continue
        if "copy" in edit and not isinstance(edit["copy"], str):
            errors[sku] = "copy must be a string"
            continue
        if any(name in edit and not isinstance(edit[name], bool) for name in ("approved", "rejected")):
            errors[sku] = "approved and rejected must be true or false"
            continue
        try:
            with transaction.atomic():
                rows.append(
                    variant_copy_review(
                        variant=variant,
                        sku=sku,
                        user=user,
                        copy=edit.get("copy"),
                        approved=edit.get("approved"),
                        rejected=bool(edit.get("rejected", False)),
                    )
                )
        except FieldErrors as exc:
            errors.update(exc.errors)
    if errors:
        raise FieldErrors(errors)
    return rows


@transaction.atomic
def variant_copies_approve_passing(
    *, variant: Variant, user: AbstractBaseUser | None, skus: Iterable[str] | None = None
) -> int:
    """Approve every pending row of the arm whose copy has no flag ("approve all that pass")."""
    experiment = Experiment.objects.select_for_update().get(pk=variant.experiment_id)
    _draft_or_refuse(experiment)
    rows = VariantCopy.objects.filter(variant=variant, status=Status.PENDING, flags=[]).exclude(copy="")
    if skus is not None:
        rows = rows.filter(product__sku__in=list(skus))
    approved = rows.update(
        status=Status.APPROVED, reviewed_by=user if user and user.pk else None, reviewed_at=timezone.now()
    )
    if approved:
        history_record(
            experiment, user, f"Approved {approved} passing cop{'y' if approved == 1 else 'ies'} of {variant.key}"
        )
    return approved


def variant_copy_generated(
    *,
    variant: Variant,
    product: Product,
    copy: str,
    candidates: list[dict[str, Any]],
    flags: list[str] | None = None,
    error: str = "",
) -> VariantCopy:
    """Store what generation chose for one product (idempotent: one row per arm and product, so a
    redelivered or resumed job overwrites, never duplicates). Fresh copy needs fresh review: the row
    goes back to pending (or failed, with the reason, when nothing was chosen)."""
    status = Status.FAILED if error or not copy else Status.PENDING
    row, _ = VariantCopy.objects.update_or_create(
        variant=variant,
        product=product,
        defaults={
            "copy": copy,
            "status": status,
            "flags": flags if flags is not None else (copy_flags(copy, product) if copy else []),
            "candidates": candidates,
            "error": error or ("" if copy else "no candidate passed the checks"),
            "reviewed_by": None,
            "reviewed_at": None,
        },
    )
    return row


@dataclass(frozen=True)
class CopyCounts:
    approved: int = 0
    pending: int = 0
    rejected: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"approved": self.approved, "pending": self.pending, "rejected": self.rejected, "failed": self.failed}


def variant_copy_counts(variant: Variant) -> CopyCounts:
    from django.db.models import Count

    counts = dict(VariantCopy.objects.filter(variant=variant).values_list("status").annotate(n=Count("id")))
    return CopyCounts(**{status: counts.get(status, 0) for status in Status.values})
