"""Writes to the catalog: products from CSV (created or updated by SKU), brand guidelines from JSON,
and a category's default λ.

Each bad row is reported with its line number and reason; the valid rows still load.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from abplatform.errors import FieldErrors
from catalog.models import BrandGuideline, Category, Product

CSV_HEADER = ("sku", "title", "brand", "category", "price", "description", "attributes")
# Optional columns: `copy`, the product's current live copy (the description when absent).
CSV_OPTIONAL = ("copy",)
CATEGORY_NAME_MAX_LENGTH = 64
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEMO_CATALOG = FIXTURES / "demo_catalog.csv"
DEMO_GUIDELINES = FIXTURES / "brand_guidelines.json"


class CatalogFileError(Exception):
    """The file as a whole cannot be read (missing, not CSV, wrong header)."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    categories_created: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return self.created + self.updated


def _product_fields(row: dict[str, str], categories: dict[str, Category]) -> dict:
    """The model fields of one CSV row (`category` is a name where the category is new); raises
    ValueError naming the bad field."""
    sku = (row.get("sku") or "").strip()
    if not sku:
        raise ValueError("sku: required")
    if len(sku) > 64:
        raise ValueError("sku: at most 64 characters")
    title = (row.get("title") or "").strip()
    if not title:
        raise ValueError("title: required")
    brand = (row.get("brand") or "").strip()
    if not brand:
        raise ValueError("brand: required")
    category_name = (row.get("category") or "").strip()
    if not category_name:
        raise ValueError("category: required")
    if len(category_name) > CATEGORY_NAME_MAX_LENGTH:
        raise ValueError(f"category: at most {CATEGORY_NAME_MAX_LENGTH} characters")
    category = categories.get(category_name.lower(), category_name)
    try:
        price = Decimal((row.get("price") or "").strip())
    except InvalidOperation:
        raise ValueError(f"price: {row.get('price')!r} is not a number") from None
    if not price.is_finite() or price < 0 or price >= Decimal("1e8"):
        raise ValueError(f"price: {price} must be between 0 and 99,999,999.99")
    raw_attributes = (row.get("attributes") or "").strip()
    try:
        attributes = json.loads(raw_attributes) if raw_attributes else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"attributes: not valid JSON ({exc.msg})") from None
    if not isinstance(attributes, dict):
        raise ValueError("attributes: must be a JSON object")
    return {
        "sku": sku,
        "title": title[:255],
        "brand": brand[:128],
        "category": category,
        "price": price.quantize(Decimal("0.01")),
        "description": (row.get("description") or "").strip(),
        "attributes": attributes,
        **({"copy": row["copy"].strip()} if (row.get("copy") or "").strip() else {}),
    }


@transaction.atomic
def products_import(*, rows: Iterable[tuple[int, dict[str, str]]]) -> ImportReport:
    """Create or update products from (line number, row) pairs."""
    categories = {c.name.lower(): c for c in Category.objects.all()}
    report = ImportReport()
    seen: dict[str, int] = {}
    for line, row in rows:
        try:
            fields = _product_fields(row, categories)
        except ValueError as exc:
            report.errors.append((line, str(exc)))
            continue
        sku = fields.pop("sku")
        if sku in seen:
            report.errors.append((line, f"sku: {sku!r} repeats line {seen[sku]}"))
            continue
        seen[sku] = line
        if isinstance(fields["category"], str):
            # A category beyond the paper's three starts at the platform's default λ
            # (COPYLIFT_DEFAULT_LAMBDA) with no keywords; both are edited in the admin.
            name = fields["category"]
            fields["category"] = categories[name.lower()] = Category.objects.create(
                name=name, recommended_lambda=settings.COPYLIFT_DEFAULT_LAMBDA
            )
            report.categories_created.append(name)
        if "copy" not in fields and not Product.objects.filter(sku=sku).exists():
            fields["copy"] = fields["description"]  # what a new product's page shows until told otherwise
        _, created = Product.objects.update_or_create(sku=sku, defaults=fields)
        if created:
            report.created += 1
        else:
            report.updated += 1
    return report


def products_import_csv(*, path: Path) -> ImportReport:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CatalogFileError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = tuple(name.strip() for name in (reader.fieldnames or ()))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CatalogFileError(f"{path} is not a UTF-8 CSV file: {exc}") from None
        missing = [name for name in CSV_HEADER if name not in header]
        if missing:
            raise CatalogFileError(f"{path}: header must be {','.join(CSV_HEADER)}; missing: {', '.join(missing)}")
        try:
            # Line numbers are 1-based and count the header, so the first data row is line 2.
            rows = [(reader.line_num, row) for row in reader]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CatalogFileError(f"{path}: unreadable at line {reader.line_num}: {exc}") from None
    return products_import(rows=rows)


def guidelines_import(*, path: Path) -> int:
    entries = json.loads(path.read_text(encoding="utf-8"))
    for entry in entries:
        BrandGuideline.objects.update_or_create(
            brand=entry["brand"],
            defaults={
                "tone": entry.get("tone", ""),
                "forbidden_words": entry.get("forbidden_words", []),
                "max_length": int(entry.get("max_length", 280)),
                "cta_required": bool(entry.get("cta_required", False)),
            },
        )
    return len(entries)


def category_lambda_adopt(
    *, category: Category, lambda_value: Any, user: AbstractBaseUser, source: str = "the λ report"
) -> Category:
    """Make λ the category's default for new LLM variants; recorded in the category's admin history."""
    try:
        value = round(float(lambda_value), 2)
    except (TypeError, ValueError):
        raise FieldErrors({"lambda": "must be a number between 0 and 1"}) from None
    if not 0.0 <= value <= 1.0:
        raise FieldErrors({"lambda": "must be a number between 0 and 1"})
    with transaction.atomic():
        category = Category.objects.select_for_update().get(pk=category.pk)
        previous = category.recommended_lambda
        category.recommended_lambda = value
        category.save(update_fields=["recommended_lambda"])
        LogEntry.objects.log_actions(
            user_id=user.pk,
            queryset=[category],
            action_flag=CHANGE,
            change_message=f"Recommended λ {previous:g} → {value:g}, adopted from {source}.",
            single_object=True,
        )
    return category
