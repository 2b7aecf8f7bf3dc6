"""Admin for generation jobs (read-only, with their scored candidates), predictor versions and fine-tuned adapters."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from abplatform.errors import LifecycleError
from experiments.admin import experiment_admin_action_register
from generator import adapters, dispatch, predictor_versions
from generator.admin_actions import generate_llm_variants
from generator.models import Adapter, Candidate, ConversionPredictor, GenerationJob
from generator.scorers import STORED_SCORES


class CandidateInline(admin.TabularInline):
    model = Candidate
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ("lambda_value", "rank", "position")
    fields = ("lambda_value", "rank", "text", "cuts", "dropped_reason", *STORED_SCORES, "prompt_type", "variant")
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
        "eta",
        "cost",
        "failed_products",
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
        finished = obj.products_done + obj.products_failed
        return format_html(
            '<progress max="100" value="{}"></progress> {}% ({} of {} products)',
            percent,
            percent,
            finished,
            obj.products_total,
        )

    @admin.display(description="ETA")
    def eta(self, obj: GenerationJob) -> str:
        seconds = obj.eta_seconds
        if seconds is None:
            return "— (after the first product)"
        return "done" if obj.finished else f"about {seconds / 60:.1f} min at the pace so far"

    @admin.display(description="running cost")
    def cost(self, obj: GenerationJob) -> str:
        return f"{obj.candidates_made} candidates, {obj.tokens} tokens, {obj.work_seconds:.0f} s"

    @admin.display(description="failed products")
    def failed_products(self, obj: GenerationJob) -> str:
        rows = obj.products.filter(status="failed").select_related("product").order_by("product__sku")[:100]
        if not rows:
            return "—"
        return format_html_join(
            "", "<div><code>{}</code> λ={}: {}</div>", ((r.product.sku, f"{r.lambda_value:.2f}", r.error) for r in rows)
        )

    @admin.display(description="duration")
    def duration(self, obj: GenerationJob) -> str:
        if obj.started_at and obj.finished_at:
            return f"{(obj.finished_at - obj.started_at).total_seconds():.0f} s"
        return "—"


@admin.register(ConversionPredictor)
class ConversionPredictorAdmin(admin.ModelAdmin):
    list_display = (
        "target",
        "version",
        "category",
        "active",
        "n_samples",
        "trained_at",
        "log_loss",
        "holdout_auc",
        "holdout_log_loss",
        "holdout_vs_current",
    )
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

    @staticmethod
    def _holdout(obj: ConversionPredictor) -> dict:
        return (obj.metrics or {}).get("holdout") or {}

    @staticmethod
    def _number(value: object, fmt: str) -> str:
        return format(value, fmt) if isinstance(value, int | float) else "—"

    @admin.display(description="holdout AUC")
    def holdout_auc(self, obj: ConversionPredictor) -> str:
        return self._number(self._holdout(obj).get("auc"), ".3f")

    @admin.display(description="holdout log loss")
    def holdout_log_loss(self, obj: ConversionPredictor) -> str:
        return self._number(self._holdout(obj).get("log_loss"), ".4f")

    @admin.display(description="vs model in use (AUC / log loss)")
    def holdout_vs_current(self, obj: ConversionPredictor) -> str:
        holdout = self._holdout(obj)
        if not holdout:
            return "—"
        verdict = "passed" if holdout.get("passed") else "held back"
        return (
            f"{holdout.get('current_version', '?')}: {self._number(holdout.get('current_auc'), '.3f')} / "
            f"{self._number(holdout.get('current_log_loss'), '.4f')} · {verdict}"
        )

    @admin.action(description="Make the selected versions the active ones", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ConversionPredictor]) -> None:
        for predictor in queryset:
            predictor_versions.predictor_activate(predictor=predictor)
        self.message_user(request, f"{queryset.count()} predictor version(s) activated.", level=messages.SUCCESS)


class AdapterAddForm(forms.ModelForm):
    """Adding an adapter = queueing a fine-tuning run for a category (the row is made by the service)."""

    steps = forms.IntegerField(min_value=1, max_value=20_000, initial=50, help_text="Optimizer steps.")
    learning_rate = forms.FloatField(
        required=False, min_value=1e-7, max_value=0.1, help_text="Empty: 3e-4 for SFT, 1e-4 for RL."
    )
    evaluate = forms.BooleanField(
        required=False, initial=True, help_text="Compare with the base model on held-out products when done."
    )

    class Meta:
        model = Adapter
        fields = ("category", "mode")


@admin.register(Adapter)
class AdapterAdmin(admin.ModelAdmin):
    list_display = (
        "category",
        "label",
        "mode",
        "status",
        "active",
        "steps_progress",
        "reward_base",
        "reward_tuned",
        "gate",
        "created_at",
    )
    list_filter = ("category", "mode", "status", "active")
    list_select_related = ("category",)
    actions = ["activate", "activate_override", "deactivate", "evaluate"]
    readonly_fields = (
        "category",
        "version",
        "mode",
        "status",
        "active",
        "steps_done",
        "path",
        "base_model",
        "evaluation_table",
        "params",
        "metrics",
        "error",
        "created_by",
        "created_at",
        "finished_at",
    )

    def get_form(self, request: HttpRequest, obj: Adapter | None = None, change: bool = False, **kwargs):
        if obj is None:
            kwargs["form"] = AdapterAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Adapter | None = None):
        if obj is None:
            return ("category", "mode", "steps", "learning_rate", "evaluate")
        return self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Adapter | None = None):
        return self.readonly_fields if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Adapter, form: forms.ModelForm, change: bool) -> None:
        if change:
            return  # every field of a trained adapter is read-only; state changes go through the actions
        created = adapters.adapter_training_create(
            category=form.cleaned_data["category"],
            mode=form.cleaned_data["mode"],
            steps=form.cleaned_data["steps"],
            params={"lr": form.cleaned_data.get("learning_rate")},
            user=request.user,
            evaluate=bool(form.cleaned_data.get("evaluate")),
        )
        obj.pk = created.pk
        obj.version = created.version
        obj.category = created.category
        self.message_user(
            request,
            f"{created.category} {created.label} ({created.mode}, {form.cleaned_data['steps']} steps) queued on the "
            "generation queue.",
            level=messages.SUCCESS,
        )

    @admin.display(description="version")
    def label(self, obj: Adapter) -> str:
        return obj.label

    @admin.display(description="steps")
    def steps_progress(self, obj: Adapter) -> str:
        return f"{obj.steps_done}/{(obj.params or {}).get('steps', '?')}"

    @admin.display(description="R base")
    def reward_base(self, obj: Adapter) -> str:
        value = (obj.evaluation.get("mean_reward") or {}).get("base")
        return f"{value:.4f}" if isinstance(value, int | float) else "—"

    @admin.display(description="R tuned")
    def reward_tuned(self, obj: Adapter) -> str:
        value = (obj.evaluation.get("mean_reward") or {}).get("tuned")
        return f"{value:.4f}" if isinstance(value, int | float) else "—"

    @admin.display(description="gate")
    def gate(self, obj: Adapter) -> str:
        passes, why = adapters.adapter_gate(adapter=obj)
        return ("passes: " if passes else "refuses: ") + why

    @admin.display(description="evaluation (base vs tuned)")
    def evaluation_table(self, obj: Adapter) -> str:
        from generator.evaluation.compare import COMPARE_METRICS
        from generator.evaluation.report import cell

        evaluation = obj.evaluation
        if not evaluation.get("categories"):
            return "not evaluated yet (the Evaluate action, or manage.py evaluate_generator --adapter)"
        rows = []
        for category, data in evaluation["categories"].items():
            for title, key, fmt in COMPARE_METRICS:
                m = data["metrics"].get(key) or {}
                rows.append(
                    format_html(
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        category,
                        title,
                        cell(m.get("base"), fmt),
                        cell(m.get("tuned"), fmt),
                        cell(m.get("delta"), "{:+.4f}"),
                    )
                )
        header = format_html(
            "<p>{} held-out products per category, λ = {}; same prompts and seeds for both.</p>",
            len(next(iter(evaluation["categories"].values()))["products"]),
            ", ".join(f"{v:.2f}" for v in evaluation.get("lambdas", [])),
        )
        body = format_html_join("", "{}", ((row,) for row in rows))
        return format_html(
            "{}<table><tr><th>category</th><th>metric</th><th>base</th><th>tuned</th><th>Δ</th></tr>{}</table>",
            header,
            body,
        )

    def _activate(self, request: HttpRequest, queryset: QuerySet[Adapter], *, override: bool) -> None:
        for adapter in queryset.select_related("category"):
            try:
                adapters.adapter_activate(adapter=adapter, override=override, user=request.user)
            except LifecycleError as exc:
                self.message_user(request, str(exc), level=messages.ERROR)
                continue
            note = " (evaluation gate overridden)" if adapter.metrics.get("activation", {}).get("override") else ""
            self.message_user(
                request,
                f"{adapter.category} now generates with {adapter.label}{note}.",
                level=messages.WARNING if note else messages.SUCCESS,
            )

    @admin.action(description="Activate for its category (must beat the base on mean reward)", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Adapter]) -> None:
        self._activate(request, queryset, override=False)

    @admin.action(description="Activate anyway (override the evaluation gate)", permissions=["change"])
    def activate_override(self, request: HttpRequest, queryset: QuerySet[Adapter]) -> None:
        self._activate(request, queryset, override=True)

    @admin.action(description="Deactivate (back to the base model)", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Adapter]) -> None:
        for adapter in queryset:
            adapters.adapter_deactivate(adapter=adapter)
        self.message_user(request, f"{queryset.count()} adapter(s) deactivated.", level=messages.SUCCESS)

    @admin.action(description="Evaluate against the base model (queued)", permissions=["change"])
    def evaluate(self, request: HttpRequest, queryset: QuerySet[Adapter]) -> None:
        ready = [a.pk for a in queryset if a.status == Adapter.Status.READY]
        for pk in ready:
            dispatch.adapter_evaluate_enqueue(adapter_id=pk)
        skipped = queryset.count() - len(ready)
        self.message_user(
            request,
            f"{len(ready)} evaluation(s) queued" + (f"; {skipped} not trained yet, skipped" if skipped else "") + ".",
            level=messages.SUCCESS if ready else messages.WARNING,
        )


# The experiments app does not know the generator; the generator adds its action to that admin.
experiment_admin_action_register(generate_llm_variants)
