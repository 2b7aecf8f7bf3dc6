"""The held-out products an evaluation generates for: N per category that no experiment uses,
in a stable pseudo-random order, from the database or straight from the demo CSV."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.rules import Guideline
from generator.prompts import ProductContext


@dataclass(frozen=True)
class EvalProduct:
    sku: str
    context: ProductContext
    guideline: Guideline | None
    control: str


def _held_out_order(sku: str) -> str:
    # A stable pseudo-random order, so "N products" is the same set on every run and machine.
    return hashlib.sha256(sku.encode()).hexdigest()


def products_from_db(*, categories: Sequence[str] | None, per_category: int) -> dict[str, list[EvalProduct]]:
    """Catalog products that no experiment uses (held out), N per category."""
    from catalog.models import Product
    from generator.selectors import product_context, product_guideline

    products = Product.objects.select_related("category").filter(experiments__isnull=True)
    if categories:
        products = products.filter(category__name__in=categories)
    grouped: dict[str, list[Any]] = {}
    for product in products:
        grouped.setdefault(product.category.name, []).append(product)
    chosen: dict[str, list[EvalProduct]] = {}
    for name, rows in sorted(grouped.items()):
        rows.sort(key=lambda p: _held_out_order(p.sku))
        chosen[name] = [
            EvalProduct(
                sku=p.sku,
                context=product_context(product=p),
                guideline=product_guideline(product=p),
                control=p.description,
            )
            for p in rows[:per_category]
        ]
    return chosen


def products_from_csv(
    *,
    path: Path,
    guidelines_path: Path | None,
    categories: Sequence[str] | None,
    per_category: int,
    keywords: dict[str, Sequence[str]] | None = None,
) -> dict[str, list[EvalProduct]]:
    """The same selection read from the demo CSV (no database catalog needed)."""
    guidelines: dict[str, dict[str, Any]] = {}
    if guidelines_path and guidelines_path.exists():
        guidelines = {g["brand"]: g for g in json.loads(guidelines_path.read_text(encoding="utf-8"))}
    wanted = {c.lower() for c in categories} if categories else None
    grouped: dict[str, list[dict[str, str]]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = (row.get("category") or "").strip()
            if name and (wanted is None or name.lower() in wanted):
                grouped.setdefault(name, []).append(row)
    keywords = keywords or {}
    chosen: dict[str, list[EvalProduct]] = {}
    for name, rows in sorted(grouped.items()):
        rows.sort(key=lambda r: _held_out_order(r["sku"]))
        chosen[name] = []
        for row in rows[:per_category]:
            rules = guidelines.get(row["brand"])
            guideline = (
                Guideline(
                    tone=rules.get("tone", ""),
                    forbidden_words=tuple(rules.get("forbidden_words", ())),
                    max_length=int(rules.get("max_length", 0)),
                    cta_required=bool(rules.get("cta_required", False)),
                )
                if rules
                else None
            )
            try:
                attributes = json.loads(row.get("attributes") or "{}")
            except json.JSONDecodeError:
                attributes = {}
            context = ProductContext(
                title=row["title"],
                brand=row["brand"],
                category=name,
                price=row.get("price") or None,
                description=row.get("description", ""),
                attributes=attributes if isinstance(attributes, dict) else {},
                keywords=tuple(keywords.get(name, ())),
                tone=guideline.tone if guideline else "",
            )
            chosen[name].append(
                EvalProduct(sku=row["sku"], context=context, guideline=guideline, control=row.get("description", ""))
            )
    return chosen
