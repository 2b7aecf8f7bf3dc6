"""The marketer's admin of experiments: inline variants, allocation history, lifecycle actions."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from abplatform.errors import FieldErrors, LifecycleError
from experiments import services
from experiments.history import experiment_history
from experiments.inputs import experiment_namespace_parse
from experiments.models import VARIANT_FIELDS, VARIANT_READ_ONLY_FIELDS, AllocationVersion, Experiment, Variant


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ("position", *VARIANT_FIELDS)
    readonly_fields = VARIANT_READ_ONLY_FIELDS

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


class ExperimentAdminForm(forms.ModelForm):
    """Checks in the form what the services would refuse, so the admin shows the reason on the page."""

    class Meta:
        model = Experiment
        fields = ("key", "product", *ADMIN_EDITABLE)

    def clean(self):
        cleaned = super().clean()
        try:
            experiment_namespace_parse(_namespace_value(cleaned))
        except FieldErrors as exc:
            self.add_error("namespace_id", "; ".join(exc.errors.values()))
        return cleaned


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentAdminForm
    list_display = ("key", "name", "product", "category", "status", "primary_metric", "started_at", "stopped_at")
    list_filter = ("status", "product__category", "primary_metric")
    search_fields = ("key", "name", "product__sku", "product__title", "product__brand")
    list_select_related = ("product__category",)
    inlines = [VariantInline, AllocationVersionInline]
    readonly_fields = ("status", "started_at", "stopped_at", "owner", "created_at", "updated_at", "change_history")
    autocomplete_fields = ("product",)
    actions = [
        _transition(services.experiment_start, "start", "started"),
        _transition(services.experiment_pause, "pause", "paused"),
        _transition(services.experiment_stop, "stop", "stopped"),
    ]
    fieldsets = (
        (None, {"fields": ("key", "name", "product", "hypothesis", "status")}),
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

    @admin.display(ordering="product__category__name")
    def category(self, obj: Experiment) -> str:
        return obj.product.category.name

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and obj.status != Experiment.Status.DRAFT:
            fields += ["key", "product", *services.ANALYSIS_PLAN_FIELDS, *ALLOCATION_FIELDS]
        return fields

    def save_model(self, request, obj, form, change):
        # Through the services, like the API: the namespace is validated and the assignment
        # cache is cleared for admin edits too.
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in ADMIN_EDITABLE}
        if any(name in data for name in NAMESPACE_FIELDS):
            for name in NAMESPACE_FIELDS:
                data.pop(name, None)
            data["namespace"] = _namespace_value(form.cleaned_data)
        if change:
            services.experiment_update(experiment=obj, data=data, user=request.user)
        else:
            data["name"] = form.cleaned_data["name"]
            created = services.experiment_create(
                key=form.cleaned_data["key"], product=form.cleaned_data["product"], owner=request.user, **data
            )
            obj.pk = created.pk
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for variant in formset.deleted_objects:
            services.variant_delete(variant=variant, user=request.user)
        for variant in instances:
            services.variant_save(variant=variant, user=request.user)
        formset.save_m2m()


def experiment_admin_action_register(action) -> None:
    """Add an action to the Experiment admin from an app that builds on experiments (the
    generator's "Generate LLM variants"), so that experiments never imports those apps."""
    if action not in ExperimentAdmin.actions:
        ExperimentAdmin.actions = [*ExperimentAdmin.actions, action]
