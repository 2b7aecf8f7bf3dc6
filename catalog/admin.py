"""The catalog in the admin: categories, brand rules, products."""

from __future__ import annotations

from django.contrib import admin

from catalog.models import BrandGuideline, Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "recommended_lambda")


@admin.register(BrandGuideline)
class BrandGuidelineAdmin(admin.ModelAdmin):
    list_display = ("brand", "tone", "max_length", "cta_required")
    search_fields = ("brand",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "title", "brand", "category", "price")
    list_filter = ("category", "brand")
    search_fields = ("sku", "title", "brand")
