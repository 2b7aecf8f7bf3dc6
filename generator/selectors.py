"""Reads for the generator: catalog context, few-shot examples, predictors, logged outcomes."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.apps import apps
from django.db.models import Exists, Max, Min, OuterRef, Prefetch, QuerySet, Sum

from catalog.models import Category, Product
from catalog.rules import Guideline
from experiments.models import Experiment, VariantCopy
from generator.corpus import seed_corpus_examples
from generator.models import Adapter, Candidate, ConversionPredictor, GenerationJob
from generator.predictor import LogisticModel, prior_model
from generator.prompt_examples import builtin_examples
from generator.prompts import FewShotExample, ProductContext

logger = logging.getLogger(__name__)

LAMBDA_SPREAD = 0.2
LAMBDA_MIN, LAMBDA_MAX = 0.05, 0.95


def default_lambdas(*, category: Category | None) -> list[float]:
    """The category's recommended λ and one step either side, clipped to [0.05, 0.95]."""
    center = category.recommended_lambda if category is not None else 0.5
    values = [center - LAMBDA_SPREAD, center, center + LAMBDA_SPREAD]
    clipped = [round(min(LAMBDA_MAX, max(LAMBDA_MIN, v)), 2) for v in values]
    return sorted(set(clipped))


def product_context(*, product: Product) -> ProductContext:
    guideline = product.guideline
    return ProductContext(
        title=product.title,
        brand=product.brand,
        category=product.category.name,
        price=product.price,
        description=product.description,
        attributes=dict(product.attributes or {}),
        keywords=tuple(product.category.keywords or ()),
        tone=guideline.tone if guideline else "",
        other_brands=tuple(
            Product.objects.exclude(brand=product.brand).order_by("brand").values_list("brand", flat=True).distinct()
        ),
    )


def product_guideline(*, product: Product) -> Guideline | None:
    guideline = product.guideline
    return guideline.as_rules() if guideline else None


def control_copy(*, experiment: Experiment, product: Product | None = None) -> str:
    """The control arm's copy on `product` (default: the experiment's only product)."""
    product = product or experiment.product
    row = (
        VariantCopy.objects.filter(variant__experiment=experiment, variant__is_control=True, product=product)
        .values_list("copy", flat=True)
        .first()
    )
    return row if row is not None else product.current_copy


def few_shot_examples(
    *, category: Category, exclude_product: Product | None = None, limit: int = 2, seed: int = 0
) -> list[FewShotExample]:
    """Approved copy of the same category first, then the seed corpus, then built-in examples.

    Short copy is preferred: examples set the length the model imitates.
    """
    approved = (
        VariantCopy.objects.filter(status=VariantCopy.Status.APPROVED, product__category=category)
        .exclude(variant__is_control=True)
        .exclude(copy="")
        .select_related("product")
        .order_by("-reviewed_at", "-id")[:50]
    )
    pool = [
        FewShotExample(
            title=row.product.title,
            brand=row.product.brand,
            category=category.name,
            text=row.copy,
            description=row.product.description,
            attributes=dict(row.product.attributes or {}),
        )
        for row in approved
        if exclude_product is None or row.product_id != exclude_product.pk
    ]
    if len(pool) < limit:
        corpus = seed_corpus_examples(category=category.name)
        if exclude_product is not None:
            corpus = [e for e in corpus if e.title != exclude_product.title]
        pool.extend(corpus)
    pool = [e for e in pool if 20 <= len(e.text) <= 220]
    if not pool:
        return builtin_examples(category.name)[:limit]
    rng = random.Random(seed)
    return rng.sample(pool, k=min(limit, len(pool)))


def predictor_for(*, category: Category | None = None, target: str = "cvr") -> LogisticModel:
    """The active fitted predictor for the category, else the active all-category one, else the prior."""
    active = ConversionPredictor.objects.filter(active=True, target=target)
    row = None
    if category is not None:
        row = active.filter(category=category).order_by("-version").first()
    if row is None:
        row = active.filter(category__isnull=True).order_by("-version").first()
    return row.as_model() if row else prior_model(target)


def next_predictor_version(*, target: str) -> int:
    latest = ConversionPredictor.objects.filter(target=target).order_by("-version").values_list("version", flat=True)
    return (latest.first() or 0) + 1


@dataclass(frozen=True)
class VariantOutcome:
    """One copy (an arm on one product) and its logged totals, summed over units."""

    variant_id: int
    experiment_key: str
    category: str
    product: ProductContext
    copy: str
    impressions: int
    clicks: int
    orders: int
    product_id: int = 0


def _model(name: str):
    try:
        return apps.get_model("ingest", name)
    except LookupError:
        return None


def _unit_totals_model():
    return _model("UnitTotals")


def _outcome_units(category: Category | None):
    totals_model = _unit_totals_model()
    if totals_model is None:
        return None
    rows = totals_model.objects.all()
    if category is not None:
        rows = rows.filter(variant__experiment__in=Experiment.objects.filter(products__category=category))
    return rows


def outcome_exposure_span(*, category: Category | None = None) -> tuple[datetime | None, datetime | None]:
    """First and last first-exposure time of the units with logged outcomes (for a time split)."""
    rows = _outcome_units(category)
    if rows is None:
        return None, None
    span = rows.filter(first_exposure__isnull=False).aggregate(first=Min("first_exposure"), last=Max("first_exposure"))
    return span["first"], span["last"]


def variant_outcomes(
    *,
    category: Category | None = None,
    exposed_before: datetime | None = None,
    exposed_since: datetime | None = None,
) -> list[VariantOutcome]:
    """Per copy (arm × product): totals of impressions, clicks and orders from ingestion's per-(unit,
    product) totals, so each copy of a catalog experiment is one outcome for the predictor's refit.

    `exposed_before` / `exposed_since` keep the units first exposed before / at or after a time (their
    pooled unit totals' first exposure): the refit trains on the older units and checks itself on the
    recent ones. Only approved copy counts (an arm without it showed the control's copy there).
    Returns [] while the ingestion tables do not exist (the predictor then keeps its prior).
    """
    per_product, unit_totals = _model("BreakdownUnitTotals"), _unit_totals_model()
    if per_product is None or unit_totals is None:
        return []
    rows = per_product.objects.filter(dimension=0)  # ingest.models.Dimension.PRODUCT
    if category is not None:
        rows = rows.filter(key__in=Product.objects.filter(category=category).values("pk"))
    for bound, lookup in ((exposed_before, "first_exposure__lt"), (exposed_since, "first_exposure__gte")):
        if bound is not None:
            rows = rows.filter(
                Exists(
                    unit_totals.objects.filter(
                        experiment_id=OuterRef("experiment_id"),
                        unit=OuterRef("unit"),
                        variant_id=OuterRef("variant_id"),
                        **{lookup: bound},
                    )
                )
            )
    sums = {
        (row["variant_id"], row["key"]): row
        for row in rows.values("variant_id", "key")
        .annotate(impressions=Sum("impressions"), clicks=Sum("clicks"), orders=Sum("orders"))
        .order_by()
        if row["impressions"]
    }
    copies = (
        VariantCopy.objects.filter(
            variant_id__in={variant_id for variant_id, _ in sums}, status=VariantCopy.Status.APPROVED
        )
        .select_related("variant__experiment", "product__category")
        .order_by("variant_id", "product_id")
    )
    contexts: dict[int, ProductContext] = {}
    outcomes: list[VariantOutcome] = []
    for row_copy in copies:
        row = sums.get((row_copy.variant_id, row_copy.product_id))
        if row is None:
            continue
        variant, product = row_copy.variant, row_copy.product
        if product.pk not in contexts:
            contexts[product.pk] = product_context(product=product)
        outcomes.append(
            VariantOutcome(
                variant_id=variant.pk,
                experiment_key=variant.experiment.key,
                category=product.category.name,
                product=contexts[product.pk],
                copy=row_copy.copy,
                impressions=int(row["impressions"] or 0),
                clicks=int(row["clicks"] or 0),
                orders=int(row["orders"] or 0),
                product_id=product.pk,
            )
        )
    return outcomes


def generation_jobs() -> QuerySet[GenerationJob]:
    return GenerationJob.objects.select_related("experiment", "created_by")


def generation_job_detail(*, job_id: int) -> GenerationJob:
    """The job with its candidates (and the variants they became) in one round of queries."""
    candidates = Candidate.objects.select_related("variant").order_by("lambda_value", "rank", "position")
    return generation_jobs().prefetch_related(Prefetch("candidates", queryset=candidates)).get(pk=job_id)


# --- fine-tuning --------------------------------------------------------------------------------


def active_adapter(*, category: Category | None) -> Adapter | None:
    """The category's active, trained adapter (None: the base model)."""
    if category is None:
        return None
    return Adapter.objects.filter(category=category, active=True, status=Adapter.Status.READY).first()


def adapter_path_for(*, category: Category | None, base_model: str | None = None) -> str | None:
    """The folder of the category's active adapter, if it was trained on `base_model` (when given)."""
    adapter = active_adapter(category=category)
    if adapter is None:
        return None
    if base_model and adapter.base_model and adapter.base_model != base_model:
        logger.warning(
            "active adapter %s was trained on %s, not %s; using the base model", adapter, adapter.base_model, base_model
        )
        return None
    if not Path(adapter.path, "adapter_config.json").exists():
        # A missing folder must not break generation for the whole category: fall back to the base.
        logger.warning("active adapter %s has no files at %s; using the base model", adapter, adapter.path)
        return None
    return adapter.path


def adapter_lookup(*, reference: str) -> Adapter:
    """An adapter by id, or "CATEGORY:vN" / "CATEGORY:N" (Adapter.DoesNotExist when none matches)."""
    reference = reference.strip()
    if reference.isdigit():
        return Adapter.objects.select_related("category").get(pk=int(reference))
    name, _, version = reference.rpartition(":")
    version = version.lower().removeprefix("v")
    if not name or not version.isdigit():
        raise Adapter.DoesNotExist(f"{reference!r}: give an adapter id or CATEGORY:vN")
    return Adapter.objects.select_related("category").get(category__name__iexact=name, version=int(version))


def next_adapter_version(*, category: Category) -> int:
    latest = Adapter.objects.filter(category=category).order_by("-version").values_list("version", flat=True)
    return (latest.first() or 0) + 1
