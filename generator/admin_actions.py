"""The "Generate LLM variants" action for the Experiment admin (generator.admin registers it there).

The intermediate page asks for λ values (default: the category's recommended λ and ±0.2),
candidates per λ and top-K, then queues one generation job per selected draft experiment.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from abplatform.errors import FieldErrors, LifecycleError
from experiments.models import Experiment
from generator import jobs


class GenerateForm(forms.Form):
    lambdas = forms.CharField(
        label="λ values",
        help_text="Comma-separated creativity weights in [0, 1], at most 5. Empty = the category's default per "
        "experiment (recommended λ and ±0.2).",
        required=False,
    )
    candidates = forms.IntegerField(label="Candidates per λ", min_value=1, max_value=32, initial=8)
    top_k = forms.IntegerField(label="Top K kept per λ", min_value=1, max_value=32, initial=3)

    def clean_lambdas(self) -> list[float] | None:
        raw = self.cleaned_data.get("lambdas", "").strip()
        if not raw:
            return None
        try:
            return [float(part) for part in raw.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("use numbers separated by commas, e.g. 0.4, 0.6, 0.8") from None

    def clean(self) -> dict:
        data = super().clean()
        if data.get("candidates") and data.get("top_k") and data["top_k"] > data["candidates"]:
            self.add_error("top_k", "cannot exceed the number of candidates")
        return data


def _initial_lambdas(queryset: QuerySet[Experiment]) -> str:
    if len(queryset) != 1:
        return ""  # each experiment gets its own arms' λ, or its category's default
    values = jobs.experiment_lambdas(experiment=queryset[0])
    return ", ".join(f"{v:.2f}" for v in values)


@admin.action(description="Generate LLM variants", permissions=["change"])
def generate_llm_variants(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Experiment]
) -> HttpResponse | None:
    if "apply" in request.POST:
        form = GenerateForm(request.POST)
        if form.is_valid():
            for experiment in queryset:
                try:
                    # One job per LLM arm: each has its own progress, ETA and cost, and resumes alone.
                    created = [
                        jobs.generation_job_create(
                            experiment=experiment,
                            lambdas=[lam],
                            candidates=form.cleaned_data["candidates"],
                            top_k=form.cleaned_data["top_k"],
                            user=request.user,
                        )
                        for lam in form.cleaned_data["lambdas"] or jobs.experiment_lambdas(experiment=experiment)
                    ]
                except (LifecycleError, FieldErrors) as exc:
                    modeladmin.message_user(request, f"{experiment.key}: {exc}", level=messages.ERROR)
                    continue
                links = format_html_join(
                    ", ",
                    '<a href="{}">#{}</a> (λ = {})',
                    (
                        (
                            reverse("admin:generator_generationjob_change", args=[job.pk]),
                            job.pk,
                            f"{job.lambdas[0]:.2f}",
                        )
                        for job in created
                    ),
                )
                modeladmin.message_user(
                    request,
                    format_html(
                        "{}: generation jobs {} queued over {} products; copy appears for review product by "
                        "product as they run.",
                        experiment.key,
                        links,
                        experiment.products.count(),
                    ),
                    level=messages.SUCCESS,
                )
            return None
    else:
        form = GenerateForm(initial={"lambdas": _initial_lambdas(queryset), "candidates": 8, "top_k": 3})
    not_drafts = [e.key for e in queryset if e.status != Experiment.Status.DRAFT]
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Generate LLM variants",
        "form": form,
        "experiments": list(queryset),
        "not_drafts": not_drafts,
        "opts": modeladmin.model._meta,
        "action_name": "generate_llm_variants",
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/generator/generate_llm_variants.html", context)
