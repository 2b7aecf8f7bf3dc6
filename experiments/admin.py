"""The marketer's admin of experiments: inline variants, allocation history, lifecycle actions."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from abplatform.errors import FieldErrors, LifecycleError
from catalog.models import Category
from experiments import services, variants
from experiments.copies import variant_copy_counts
from experiments.history import experiment_history
from experiments.inputs import experiment_namespace_parse, product_set_parse
from experiments.models import VARIANT_FIELDS, AllocationVersion, Experiment, Variant
from experiments.product_sets import product_set_describe, product_set_resolve


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ("position", *VARIANT_FIELDS, "prompt_version", "model_name", "adapter", "copy_review")
    readonly_fields = ("copy_review",)

    @admin.display(description="Copy per product")
    def copy_review(self, obj: Variant) -> str:
        if obj is None or obj.pk is None:
            return "—"
        counts = variant_copy_counts(obj)
        return format_html(
            '<a href="{}">review</a> · {} approved, {} pending, {} rejected, {} failed',
            f"/experiments/{obj.experiment.key}/variants/{obj.key}/review",
            counts.approved,
            counts.pending,
            counts.rejected,
            counts.failed,
        )

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


NAMESPACE_FIELDS = ("namespace_id", "namespace_start", "namespace_end")
# What decides who sees which variant: frozen once the experiment has started.
ALLOCATION_FIELDS = ("seed", "coverage", *NAMESPACE_FIELDS, "allocation_mode", "bandit_holdout", "bandit_floor")
# Editable in the admin; the analysis plan and the allocation become read-only once it has started.
ADMIN_EDITABLE = ("name", "hypothesis", *services.ANALYSIS_PLAN_FIELDS, *ALLOCATION_FIELDS)


def _short(value, limit: int = 120) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _namespace_value(cleaned: dict) -> list | None:
    if not cleaned.get("namespace_id"):
        return None
    start, end = cleaned.get("namespace_start"), cleaned.get("namespace_end")
    return [cleaned["namespace_id"], 0.0 if start is None else start, 1.0 if end is None else end]


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


class ExperimentAdminForm(forms.ModelForm):
    """Checks in the form what the services would refuse, so the admin shows the reason on the page.

    The product set is one of: categories, a list of SKUs, or a filter (brands, price range, and
    optionally categories); it can change while the experiment is a draft."""

    set_categories = forms.ModelMultipleChoiceField(
        Category.objects.all(), required=False, label="Categories", help_text="Every product of these categories."
    )
    set_skus = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="SKUs", help_text="One per line or comma."
    )
    set_brands = forms.CharField(required=False, label="Filter: brands", help_text="Comma-separated.")
    set_price_min = forms.DecimalField(required=False, min_value=0, label="Filter: price from")
    set_price_max = forms.DecimalField(required=False, min_value=0, label="Filter: price to")

    class Meta:
        model = Experiment
        fields = ("key", "control_fallback", *ADMIN_EDITABLE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        spec = self.instance.product_set if self.instance and self.instance.pk else {}
        kind, body = next(iter(spec.items())) if spec else ("", None)
        if kind == "skus":
            self.initial["set_skus"] = "\n".join(body)
        elif kind == "categories":
            self.initial["set_categories"] = Category.objects.filter(name__in=body)
        elif kind == "filter":
            self.initial["set_categories"] = Category.objects.filter(name__in=body.get("categories", []))
            self.initial["set_brands"] = ", ".join(body.get("brands", []))
            self.initial["set_price_min"] = body.get("price_min")
            self.initial["set_price_max"] = body.get("price_max")

    def product_set_spec(self, cleaned: dict) -> dict | None:
        categories = [c.name for c in cleaned.get("set_categories") or []]
        skus = _lines(cleaned.get("set_skus") or "")
        brands = _lines(cleaned.get("set_brands") or "")
        prices = {
            k: float(cleaned[f"set_{k}"]) for k in ("price_min", "price_max") if cleaned.get(f"set_{k}") is not None
        }
        if skus:
            return {"skus": skus}
        if brands or prices:
            return {
                "filter": {
                    **({"categories": categories} if categories else {}),
                    **({"brands": brands} if brands else {}),
                    **prices,
                }
            }
        if categories:
            return {"categories": categories}
        return None

    def clean(self):
        cleaned = super().clean()
        try:
            experiment_namespace_parse(_namespace_value(cleaned))
        except FieldErrors as exc:
            self.add_error("namespace_id", "; ".join(exc.errors.values()))
        spec = self.product_set_spec(cleaned)
        if spec is None and not (self.instance and self.instance.pk):
            self.add_error("set_categories", "choose the products: categories, SKUs or a filter")
        elif spec is not None:
            try:
                product_set_resolve(product_set_parse(spec))
            except FieldErrors as exc:
                self.add_error("set_skus" if "skus" in spec else "set_categories", "; ".join(exc.errors.values()))
        cleaned["product_set_spec"] = spec
        return cleaned


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentAdminForm
    list_display = ("key", "name", "products_summary", "status", "primary_metric", "started_at", "stopped_at")
    list_filter = ("status", "products__category", "primary_metric")
    search_fields = ("key", "name", "products__sku", "products__title", "products__brand")
    inlines = [VariantInline, AllocationVersionInline]
    readonly_fields = (
        "products_summary",
        "status",
        "started_at",
        "stopped_at",
        "owner",
        "created_at",
        "updated_at",
        "change_history",
    )
    actions = [
        _transition(services.experiment_start, "start", "started"),
        _transition(services.experiment_pause, "pause", "paused"),
        _transition(services.experiment_stop, "stop", "stopped"),
    ]
    fieldsets = (
        (None, {"fields": ("key", "name", "hypothesis", "status")}),
        (
            "Products (frozen once started)",
            {
                "fields": (
                    "products_summary",
                    "set_categories",
                    "set_skus",
                    "set_brands",
                    ("set_price_min", "set_price_max"),
                    "control_fallback",
                )
            },
        ),
        ("Analysis plan (frozen once started)", {"fields": services.ANALYSIS_PLAN_FIELDS}),
        ("Allocation (frozen once started)", {"fields": ALLOCATION_FIELDS}),
        ("History", {"fields": ("owner", "started_at", "stopped_at", "created_at", "updated_at", "change_history")}),
    )

    @admin.display(description="Changes (who, when, old → new)")
    def change_history(self, obj: Experiment) -> str:
        if obj is None or obj.pk is None:
            return "—"
        rows = []
        for entry in reversed(experiment_history(obj)):
            changes = entry["changes"] or {}
            detail = format_html_join(
                "",
                "<div><code>{}</code>: {} → {}</div>",
                ((f, _short(c.get("old")), _short(c.get("new"))) for f, c in changes.items()),
            )
            rows.append((entry["at"][:19].replace("T", " "), entry["user"] or "—", entry["action"], detail))
        if not rows:
            return "—"
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><tr><th>when (UTC)</th><th>who</th><th>what</th><th>values</th></tr>{}</table>", body
        )

    def log_addition(self, request, obj, message):
        """The services record the creation, with its values (experiments.history)."""

    def log_change(self, request, obj, message):
        """The services record every change with old and new values; a second, vaguer entry would be noise."""

    @admin.display(description="Products")
    def products_summary(self, obj: Experiment) -> str:
        if obj is None or obj.pk is None:
            return "—"
        count = obj.products.count()
        return f"{count} product{'s' if count != 1 else ''} ({product_set_describe(obj.product_set)})"

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and obj.status != Experiment.Status.DRAFT:
            fields += ["key", "control_fallback", *services.ANALYSIS_PLAN_FIELDS, *ALLOCATION_FIELDS]
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.status != Experiment.Status.DRAFT:
            # The set is frozen: show its size, not the inputs that could change it.
            return [
                (name, {**options, "fields": ("products_summary", "control_fallback")})
                if name and name.startswith("Products")
                else (name, options)
                for name, options in fieldsets
            ]
        return fieldsets

    def save_model(self, request, obj, form, change):
        # Through the services, like the API: the namespace is validated and the assignment
        # cache is cleared for admin edits too.
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in ADMIN_EDITABLE}
        if any(name in data for name in NAMESPACE_FIELDS):
            for name in NAMESPACE_FIELDS:
                data.pop(name, None)
            data["namespace"] = _namespace_value(form.cleaned_data)
        spec = form.cleaned_data.get("product_set_spec")
        if "control_fallback" in form.changed_data:
            data["control_fallback"] = form.cleaned_data["control_fallback"]
        if change:
            if spec is not None and spec != obj.product_set and obj.status == Experiment.Status.DRAFT:
                data["products"] = spec
            services.experiment_update(experiment=obj, data=data, user=request.user)
        else:
            data["name"] = form.cleaned_data["name"]
            created = services.experiment_create(
                key=form.cleaned_data["key"], products=spec, owner=request.user, **data
            )
            obj.pk = created.pk
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for variant in formset.deleted_objects:
            variants.variant_delete(variant=variant, user=request.user)
        for variant in instances:
            variants.variant_save(variant=variant, user=request.user)
        formset.save_m2m()


def experiment_admin_action_register(action) -> None:
    """Add an action to the Experiment admin from an app that builds on experiments (the
    generator's "Generate LLM variants"), so that experiments never imports those apps."""
    if action not in ExperimentAdmin.actions:
        ExperimentAdmin.actions = [*ExperimentAdmin.actions, action]
