"""The catalog: categories with their λ and keywords, brand rules, and products."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from catalog.rules import Guideline

# The tables keep the names they had when these models lived in the experiments app.


class Category(models.Model):
    """A product category with its recommended creativity weight λ and keyword library."""

    name = models.CharField(max_length=64, unique=True)
    recommended_lambda = models.FloatField(
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Default creativity weight λ for new LLM variants in this category.",
    )
    keywords = models.JSONField(default=list, blank=True, help_text="Category keyword library (list of phrases).")

    class Meta:
        db_table = "experiments_category"
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class BrandGuideline(models.Model):
    brand = models.CharField(max_length=128, unique=True)
    tone = models.CharField(max_length=200, blank=True)
    forbidden_words = models.JSONField(default=list, blank=True)
    max_length = models.PositiveIntegerField(default=280, help_text="Maximum copy length in characters.")
    cta_required = models.BooleanField(default=False, help_text="Copy must contain a call to action.")

    class Meta:
        db_table = "experiments_brandguideline"
        ordering = ["brand"]

    def __str__(self) -> str:
        return self.brand

    def as_rules(self) -> Guideline:
        return Guideline(
            tone=self.tone,
            forbidden_words=tuple(self.forbidden_words or ()),
            max_length=self.max_length,
            cta_required=self.cta_required,
        )


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=255)
    brand = models.CharField(max_length=128, db_index=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    description = models.TextField(blank=True)
    copy = models.TextField(
        blank=True,
        help_text="The copy the shop shows today: what a catalog experiment's control arm shows.",
    )
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "experiments_product"
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} · {self.title}"

    @property
    def current_copy(self) -> str:
        """The live copy, or the description where none was imported."""
        return self.copy or self.description

    @property
    def guideline(self) -> BrandGuideline | None:
        return BrandGuideline.objects.filter(brand=self.brand).first()
