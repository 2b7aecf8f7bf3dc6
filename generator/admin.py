"""Admin for generation jobs (read-only, with their scored candidates) and predictor versions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from generator.models import Candidate, ConversionPredictor, GenerationJob


class CandidateInline(admin.TabularInline):
    model = Candidate
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ("lambda_value", "rank", "position")
    fields = (
        "lambda_value",
        "rank",
        "text",
        "dropped_reason",
        "novelty",
        "diversity",
        "p_conv",
        "p_click",
        "reward",
        "sentiment",
        "cta_present",
        "cta_appended",
        "readability",
        "keyword_strength",
        "relevance",
        "length_chars",
        "prompt_type",
        "variant",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: GenerationJob | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: GenerationJob | None = None) -> bool:
        return False


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "experiment",
        "status",
        "progress_bar",
        "lambdas",
        "candidates_per_lambda",
        "top_k",
        "created_by",
        "created_at",
        "duration",
    )
    list_filter = ("status",)
    search_fields = ("experiment__key", "experiment__name")
    list_select_related = ("experiment", "created_by")
    inlines = [CandidateInline]
    readonly_fields = (
        "experiment",
        "status",
        "progress_bar",
        "error",
        "lambdas",
        "candidates_per_lambda",
        "top_k",
        "seed",
        "model_name",
        "model_version",
        "prompt_version",
        "predictor_version",
        "params",
        "timings",
        "summary",
        "attempts",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs start from the Experiment admin action or the API

    def has_change_permission(self, request: HttpRequest, obj: GenerationJob | None = None) -> bool:
        return False

    @admin.display(description="progress")
    def progress_bar(self, obj: GenerationJob) -> str:
        percent = round(100 * (obj.progress or 0))
        return format_html('<progress max="100" value="{}"></progress> {}%', percent, percent)

    @admin.display(description="duration")
    def duration(self, obj: GenerationJob) -> str:
        if obj.started_at and obj.finished_at:
            return f"{(obj.finished_at - obj.started_at).total_seconds():.0f} s"
        return "—"


@admin.register(ConversionPredictor)
class ConversionPredictorAdmin(admin.ModelAdmin):
    list_display = ("target", "version", "category", "active", "n_samples", "trained_at", "log_loss")
    list_filter = ("target", "active", "category")
    readonly_fields = (
        "version",
        "category",
        "target",
        "coefficients",
        "feature_names",
        "trained_at",
        "n_samples",
        "metrics",
    )
    fields = (*readonly_fields, "active")
    actions = ["activate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from refit_predictor

    @admin.display(description="log loss")
    def log_loss(self, obj: ConversionPredictor) -> str:
        value = (obj.metrics or {}).get("log_loss")
        return f"{value:.4f}" if isinstance(value, int | float) else "—"

    @admin.action(description="Make the selected versions the active ones", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ConversionPredictor]) -> None:
        for predictor in queryset:
            ConversionPredictor.objects.filter(target=predictor.target, category=predictor.category).exclude(
                pk=predictor.pk
            ).update(active=False)
            ConversionPredictor.objects.filter(pk=predictor.pk).update(active=True)
        self.message_user(request, f"{queryset.count()} predictor version(s) activated.", level=messages.SUCCESS)
