"""Builders for catalog-experiment tests: a small apparel catalog over two brands, and a draft
experiment over it with an LLM arm whose copy came from (stubbed) generation."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from catalog.models import BrandGuideline, Category, Product
from experiments import services
from experiments.assignment import snapshot_cache_clear
from experiments.copies import variant_copy_generated
from experiments.models import Experiment, VariantCopy

BRANDS = ("Northwind", "Loomly")


def tee_text(n: int, brand: str) -> str:
    return f"{brand} organic cotton tee number {n}: soft, breathable and cut for everyday wear."


def passing_copy(n: int) -> str:
    return f"Soft organic cotton tee {n}, breathable and cut for everyday wear. Shop now."


# Breaks Northwind's rule (forbidden word): a flagged row the reviewer must fix or reject.
FLAGGED_COPY = "A cheap organic cotton tee, soft and breathable for everyday wear. Shop now."


def catalog_products(n: int = 6, prefix: str = "TEE") -> list[Product]:
    """`n` apparel tees, alternating between two brands; Northwind forbids the word "cheap"."""
    BrandGuideline.objects.get_or_create(
        brand=BRANDS[0], defaults={"tone": "warm", "forbidden_words": ["cheap"], "max_length": 200}
    )
    BrandGuideline.objects.get_or_create(brand=BRANDS[1], defaults={"tone": "plain", "max_length": 200})
    apparel = Category.objects.get(name="Apparel")
    products = []
    for i in range(1, n + 1):
        brand = BRANDS[(i - 1) % 2]
        products.append(
            Product(
                sku=f"{prefix}-{i:03d}",
                title=f"{brand} organic cotton tee {i}",
                brand=brand,
                category=apparel,
                price="25.00",
                description=tee_text(i, brand),
                copy=f"Our organic cotton tee {i}.",
                attributes={"material": "organic cotton"},
            )
        )
    return Product.objects.bulk_create(products)


def candidates_for(n: int, chosen: str) -> list[dict]:
    return [
        {"rank": 1, "text": chosen, "reward": 0.61, "p_conv": 0.052, "novelty": 0.58, "relevance": 0.71},
        {
            "rank": 2,
            "text": f"Breathable organic cotton tee {n} for everyday wear. Shop now.",
            "reward": 0.55,
            "p_conv": 0.049,
            "novelty": 0.41,
            "relevance": 0.69,
        },
    ]


def catalog_experiment(
    key: str, products: list[Product], *, owner=None, flagged: tuple[str, ...] = (), failed: tuple[str, ...] = ()
) -> Experiment:
    """A draft over `products` with a control and one LLM arm (`llm-l050`) whose copy was generated:
    passing copy for most, FLAGGED_COPY for the SKUs in `flagged` (Northwind's), nothing for `failed`."""
    experiment = services.experiment_create(
        key=key,
        name=f"Catalog test {key}",
        products={"skus": [p.sku for p in products]},
        owner=owner,
        variants=[
            {"key": "control", "is_control": True, "weight": 1},
            {"key": "llm-l050", "lambda_value": 0.5, "weight": 1},
        ],
    )
    arm = experiment.variants.get(key="llm-l050")
    for n, product in enumerate(products, start=1):
        if product.sku in failed:
            variant_copy_generated(
                variant=arm, product=product, copy="", candidates=[], error="none of the 8 candidates passed"
            )
            continue
        text = FLAGGED_COPY if product.sku in flagged else passing_copy(n)
        variant_copy_generated(variant=arm, product=product, copy=text, candidates=candidates_for(n, text))
    return experiment


def approve_all_and_start(experiment: Experiment, user=None) -> Experiment:
    """Approve every LLM row with copy and no flag, start with control fallback, and date the start
    back (events stamped before the start are refused)."""
    VariantCopy.objects.filter(variant__experiment=experiment, flags=[]).exclude(copy="").update(
        status=VariantCopy.Status.APPROVED
    )
    Experiment.objects.filter(pk=experiment.pk).update(control_fallback=True)
    experiment.refresh_from_db()
    services.experiment_start(experiment=experiment, user=user)
    Experiment.objects.filter(pk=experiment.pk).update(started_at=timezone.now() - timedelta(minutes=5))
    snapshot_cache_clear()
    experiment.refresh_from_db()
    return experiment
