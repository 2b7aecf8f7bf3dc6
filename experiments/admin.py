"""The marketer's admin: catalog, brand rules, experiments with inline variants and actions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from experiments import services
from experiments.errors import LifecycleError
from experiments.models import (
    AllocationVersion,
    BrandGuideline,
    Category,
    Experiment,
    IngestStats,
    Product,
    Variant,
    WriteKey,
)
from experiments.writekeys import write_key_create, write_key_revoke
from generator.admin_actions import generate_llm_variants


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


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = (
        "position",
        "key",
        "name",
        "is_control",
        "lambda_value",
        "copy",
        "weight",
        "source",
        "approved",
        "approved_by",
        "approved_at",
    )
    readonly_fields = ("approved_by", "approved_at")

    def _frozen(self, obj: Experiment | None) -> bool:
        return obj is not None and obj.status != Experiment.Status.DRAFT

    def get_readonly_fields(self, request, obj=None):
        return self.fields if self._frozen(obj) else self.readonly_fields

    def has_add_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


def _transition(service, verb: str, done: str):
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset:
            try:
                service(experiment=experiment, user=request.user)
            except LifecycleError as exc:
                modeladmin.message_user(request, str(exc), level=messages.ERROR)
            else:
                modeladmin.message_user(request, f"{experiment.key}: {done}.", level=messages.SUCCESS)

    action.__name__ = f"experiment_{verb}"
    return admin.action(description=f"{verb.capitalize()} selected experiments", permissions=["change"])(action)


class AllocationVersionInline(admin.TabularInline):
    """Bandit mode: the adaptive slice's weights over time (written by the daily re-weighting)."""

    model = AllocationVersion
    extra = 0
    can_delete = False
    fields = ("version", "effective_from", "weights", "prob_best", "reason")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "product", "category", "status", "primary_metric", "started_at", "stopped_at")
    list_filter = ("status", "product__category", "primary_metric")
    search_fields = ("key", "name", "product__sku", "product__title", "product__brand")
    list_select_related = ("product__category",)
    inlines = [VariantInline, AllocationVersionInline]
    readonly_fields = ("status", "started_at", "stopped_at", "owner", "created_at", "updated_at")
    autocomplete_fields = ("product",)
    actions = [
        _transition(services.experiment_start, "start", "started"),
        _transition(services.experiment_pause, "pause", "paused"),
        _transition(services.experiment_stop, "stop", "stopped"),
        generate_llm_variants,
    ]
    fieldsets = (
        (None, {"fields": ("key", "name", "product", "hypothesis", "primary_metric", "alpha", "status")}),
        (
            "Allocation (frozen once started)",
            {
                "fields": (
                    "seed",
                    "coverage",
                    "namespace_id",
                    "namespace_start",
                    "namespace_end",
                    "allocation_mode",
                    "bandit_holdout",
                    "bandit_floor",
                )
            },
        ),
        ("History", {"fields": ("owner", "started_at", "stopped_at", "created_at", "updated_at")}),
    )

    @admin.display(ordering="product__category__name")
    def category(self, obj: Experiment) -> str:
        return obj.product.category.name

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and obj.status != Experiment.Status.DRAFT:
            fields += ["key", "product", "seed", "coverage", "namespace_id", "namespace_start", "namespace_end"]
            fields += ["allocation_mode", "bandit_holdout", "bandit_floor"]
        return fields

    def save_model(self, request, obj, form, change):
        if not change and obj.owner_id is None:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        # Ticking "approved" in the inline goes through the service so that who approved and
        # when are recorded in the variant and the admin history.
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for variant in instances:
            was_approved = variant.pk is not None and Variant.objects.filter(pk=variant.pk, approved=True).exists()
            variant.save()
            if variant.approved and not was_approved:
                services.variant_approve(variant=variant, user=request.user)
        formset.save_m2m()


class IngestStatsInline(admin.TabularInline):
    model = IngestStats
    extra = 0
    can_delete = False
    fields = ("experiment", "queued", "stored", "duplicates", "rejected", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WriteKey)
class WriteKeyAdmin(admin.ModelAdmin):
    """Write keys are generated here and shown once, in the message after saving."""

    list_display = ("name", "prefix", "active", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    inlines = [IngestStatsInline]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ("name",) if obj is None else ("name", "prefix", "created_by", "created_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("prefix", "created_by", "created_at", "revoked_at")

    @admin.display(boolean=True)
    def active(self, obj: WriteKey) -> bool:
        return obj.active

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, clear = write_key_create(name=obj.name, user=request.user)
        obj.pk = created.pk
        obj.prefix, obj.key_hash, obj.created_at = created.prefix, created.key_hash, created.created_at
        self.message_user(
            request,
            f"Write key for {obj.name!r}: {clear} (shown once; only its hash is stored, copy it now)",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke selected write keys", permissions=["change"])
    def revoke(self, request, queryset):
        for write_key in queryset:
            write_key_revoke(write_key=write_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", level=messages.SUCCESS)


@admin.register(IngestStats)
class IngestStatsAdmin(admin.ModelAdmin):
    list_display = ("write_key", "experiment", "queued", "stored", "duplicates", "rejected", "updated_at")
    list_filter = ("write_key", "experiment")
    readonly_fields = [f.name for f in IngestStats._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
