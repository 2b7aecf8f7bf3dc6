"""Which products an experiment covers: a spec (`experiments.inputs.product_set_parse`) resolved
against the catalog. Unknown names are refused by field, so a typo never silently empties a set."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from abplatform.errors import FieldErrors
from catalog.models import Category, Product


def _categories(names: list[str], field: str) -> list[Category]:
    found = {c.name.lower(): c for c in Category.objects.all()}
    missing = [n for n in names if n.lower() not in found]
    if missing:
        raise FieldErrors({field: f"unknown categor{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)}"})
    return [found[n.lower()] for n in names]


def product_set_resolve(spec: dict[str, Any]) -> QuerySet[Product]:
    """The products a parsed spec selects, by SKU; FieldErrors when it names what does not exist or
    selects nothing."""
    kind, body = next(iter(spec.items()))
    products = Product.objects.all()
    if kind == "skus":
        products = products.filter(sku__in=body)
        found = set(products.values_list("sku", flat=True))
        missing = [s for s in body if s not in found]
        if missing:
            shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            raise FieldErrors({"products.skus": f"unknown SKU(s): {shown}"})
    elif kind == "categories":
        products = products.filter(category__in=_categories(body, "products.categories"))
    else:
        if "categories" in body:
            products = products.filter(category__in=_categories(body["categories"], "products.filter.categories"))
        if "brands" in body:
            products = products.filter(brand__in=body["brands"])
        if "price_min" in body:
            products = products.filter(price__gte=body["price_min"])
        if "price_max" in body:
            products = products.filter(price__lte=body["price_max"])
        for name, value in body.get("attributes", {}).items():
            products = products.filter(**{f"attributes__{name}": value})
    if not products.exists():
        raise FieldErrors({"products": "selects no product"})
    return products.order_by("sku")


def experiment_main_category(experiment) -> Category | None:
    """The category most of the experiment's products are in (ties: the lowest id): whose λ
    defaults a job uses, where its arms sit on the λ page, what its report names."""
    row = experiment.products.values("category").annotate(n=Count("id")).order_by("-n", "category").first()
    return Category.objects.filter(pk=row["category"]).first() if row else None


def product_set_describe(spec: dict[str, Any]) -> str:
    """A short line for the admin and the report: "category Apparel", "3 SKUs", "filter brand=…"."""
    if not spec:
        return "no products"
    kind, body = next(iter(spec.items()))
    if kind == "skus":
        return body[0] if len(body) == 1 else f"{len(body)} SKUs"
    if kind == "categories":
        return ("category " if len(body) == 1 else "categories ") + ", ".join(body)
    return "filter " + ", ".join(f"{k}={v}" for k, v in body.items())
