"""Report pages: the experiment list, one experiment's lift report, and λ per category.

Logged-in Marketers, Analysts and admins read; anonymous visitors go to the admin login; a
logged-in user without a role gets 403. Only Marketers and admins may adopt a category's λ.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_POST, require_safe

from abplatform import roles
from abplatform.errors import FieldErrors
from abplatform.roles import can_edit
from analytics import services
from analytics.charts.forest import ForestRow, forest_chart
from analytics.charts.lambdas import lambda_chart
from analytics.charts.report import (
    cumulative_lift_chart,
    daily_lift_chart,
    daily_units_chart,
    funnel_chart,
    tradeoff_chart,
)
from analytics.lambdas import lambda_report_build
from analytics.report.format import METRIC_LABELS
from analytics.report.novelty import novelty_table
from analytics.report.options import ALL_METRICS, SEQUENTIAL_METHODS, report_options
from analytics.report.segments import SEGMENT_LABELS
from analytics.report.types import Lift, Report, VariantResult
from catalog import services as catalog_services
from catalog.models import Category
from experiments.models import Experiment

STATIC_DIR = Path(__file__).resolve().parent / "static" / "analytics"
ASSETS = {"reports.css": "text/css; charset=utf-8", "reports.js": "application/javascript; charset=utf-8"}
ASSET_MAX_AGE_SECONDS = 300
PLOTLY_MAX_AGE_SECONDS = 365 * 86_400  # the URL carries the plotly.js version


reader_required = roles.reader_required("Reports are for the Marketer and Analyst roles.")


# --- Assets -----------------------------------------------------------------------------------------------------


@functools.cache
def _plotly() -> tuple[bytes, str, str]:
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    body = get_plotlyjs().encode()
    return body, get_plotlyjs_version(), '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def plotly_version() -> str:
    from plotly.offline import get_plotlyjs_version

    return get_plotlyjs_version()


@require_safe
@condition(etag_func=lambda request: _plotly()[2])
def plotly_js(request: HttpRequest) -> HttpResponse:
    """plotly.js from the installed plotly package: the pages work offline, with no CDN."""
    response = HttpResponse(_plotly()[0], content_type="application/javascript; charset=utf-8")
    patch_cache_control(response, public=True, max_age=PLOTLY_MAX_AGE_SECONDS, immutable=True)
    return response


def _asset(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


def _asset_etag(request: HttpRequest, name: str) -> str | None:
    if name not in ASSETS:
        return None
    return '"' + hashlib.sha256(_asset(name)).hexdigest()[:32] + '"'


@require_safe
@condition(etag_func=_asset_etag)
def asset(request: HttpRequest, name: str) -> HttpResponse:
    """The pages' own CSS and JS, from the app folder: no collectstatic needed, DEBUG on or off."""
    if name not in ASSETS:
        raise Http404("no such asset")
    response = HttpResponse(_asset(name), content_type=ASSETS[name])
    patch_cache_control(response, public=True, max_age=ASSET_MAX_AGE_SECONDS)
    return response


def standalone_assets() -> dict[str, str]:
    """CSS, page script and plotly.js for a self-contained page (the HTML export)."""
    return {
        "inline_css": _asset("reports.css").decode(),
        # A literal "</script" would end the inline element early; plotly.js has none today.
        "inline_js": _asset("reports.js").decode().replace("</script", "<\\/script"),
        "inline_plotly": _plotly()[0].decode().replace("</script", "<\\/script"),
    }


# --- Pages ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lead:
    """The treatment a page headlines, and its lift on the primary metric."""

    variant: VariantResult
    lift: Lift


def _lead(report: Report) -> Lead | None:
    """The treatment to headline: the decision's winner, else the best lift on the primary metric."""
    metric = report.primary_metric
    treatments = report.treatments
    if not treatments or not report.units:
        return None

    def lift_of(variant: VariantResult) -> Lift | None:
        result = variant.metrics.get(metric)
        return result.lift if result else None

    chosen = next((v for v in treatments if v.key == report.decision.winner), None)
    if chosen is None:
        chosen = max(treatments, key=lambda v: (lift_of(v).relative if lift_of(v) else None) or -1e9)
    lift = lift_of(chosen)
    return Lead(variant=chosen, lift=lift) if lift else None


@require_safe
@reader_required
def index(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    category = request.GET.get("category", "")
    experiments = Experiment.objects.prefetch_related("products__category").prefetch_related("variants")
    experiments = experiments.order_by("-started_at", "-created_at")
    if status in Experiment.Status.values:
        experiments = experiments.filter(status=status)
    if category:
        experiments = experiments.filter(products__category__name=category).distinct()
    rows = []
    for experiment in experiments:
        report = services.report_build(
            experiment=experiment, metrics=(experiment.primary_metric,), with_timeseries=False
        )
        lead = _lead(report)
        rows.append({"experiment": experiment, "report": report, "lead": lead})
    forest = forest_chart(
        [
            ForestRow(
                experiment=row["experiment"].key,
                variant=row["lead"].variant.key,
                metric=row["report"].primary_metric,
                lift=row["lead"].lift.relative,
                ci=row["lead"].lift.sequential_ci,
                status=row["report"].decision.status,
            )
            for row in rows
            if row["lead"] and row["lead"].lift.relative is not None
        ]
    )
    context = {
        "rows": rows,
        "statuses": Experiment.Status.choices,
        "categories": Category.objects.order_by("name").values_list("name", flat=True),
        "status": status,
        "category": category,
        "figures": {"chart-forest": forest},
        "plotly_version": plotly_version(),
    }
    return render(request, "analytics/index.html", context)


BREAKDOWN_TOP_ROWS = 20


BREAKDOWN_LABELS = {
    "product": "Per product",
    "category": "Per category",
    "device": "Per device (segment)",
    "visitor": "New vs returning visitors (segment)",
    "source": "Per traffic source (segment)",
    "country": "Per country (segment)",
}


def breakdown_tables(report: Report, *, top: int = BREAKDOWN_TOP_ROWS) -> list[dict[str, Any]]:
    """Per breakdown: its top rows by units, one cell per (metric, treatment), and the rest summarised
    (a catalog of 10,000 products must not render 10,000 rows)."""
    tables = []
    treatments = [v.key for v in report.treatments]
    for breakdown in report.breakdowns:
        shown, rest = breakdown.rows[:top], breakdown.rows[top:]
        summary = {
            "rows": len(rest),
            "units": sum(sum(row.units.values()) for row in rest),
            "excluded": sum(row.excluded for row in rest),
            "significant": sum(
                any(lift.significant for m in row.metrics.values() for lift in m.lifts.values()) for row in rest
            ),
        }
        if breakdown.rest is not None:  # the report listed its top rows only
            for name in summary:
                summary[name] += getattr(breakdown.rest, name)
        tables.append(
            {
                "breakdown": breakdown,
                "label": BREAKDOWN_LABELS.get(breakdown.dimension, f"Per {breakdown.dimension}"),
                "key_label": {"product": "SKU", "category": "Category"}.get(breakdown.dimension, "Segment"),
                "columns": [(METRIC_LABELS[m], m, key) for m in breakdown.metrics for key in treatments],
                "rows": [
                    {
                        "row": row,
                        "units": sum(row.units.values()),
                        "cells": [
                            (row.metrics[m].values.get(report.variants[0].key), row.metrics[m].lifts.get(key))
                            for m in breakdown.metrics
                            for key in treatments
                        ],
                    }
                    for row in shown
                ],
                "rest": summary,
            }
        )
    return tables


def detail_context(report: Report, *, standalone: bool = False) -> dict[str, Any]:
    """Everything the detail template needs, from the report (also used by the HTML export)."""
    tables = [
        {
            "metric": metric,
            "label": METRIC_LABELS[metric],
            "scale": report.metric_scales.get(metric, "relative"),
            "settings": report.metric_settings.get(metric),
            "primary": metric == report.primary_metric,
            "rows": [
                {"variant": v, "value": v.metrics[metric].value, "lift": v.metrics[metric].lift}
                for v in report.variants
            ],
        }
        for metric in report.metrics
    ]
    figures = {
        "chart-lift": cumulative_lift_chart(report),
        "chart-daily": daily_lift_chart(report),
        "chart-units": daily_units_chart(report),
        "chart-funnel": funnel_chart(report),
        "chart-tradeoff": tradeoff_chart(report),
    }
    context: dict[str, Any] = {
        "report": report,
        "tables": tables,
        "breakdown_tables": breakdown_tables(report),
        "novelty_rows": novelty_table(report),
        "figures": figures,
        "lead": _lead(report),
        "treatments": report.treatments,
        "unknown_diversity": [v for v in report.treatments if v.diversity is None],
        "confidence": 1 - report.alpha,
        "standalone": standalone,
        "plotly_version": plotly_version(),
        "sequential_methods": SEQUENTIAL_METHODS,
        "segment_choices": list(SEGMENT_LABELS.items()),
        "segment": next((b.dimension for b in report.breakdowns if b.dimension in SEGMENT_LABELS), ""),
    }
    if standalone:
        context.update(standalone_assets())
    return context


@require_safe
@reader_required
def detail(request: HttpRequest, key: str) -> HttpResponse:
    experiment = get_object_or_404(Experiment.objects.prefetch_related("products__category"), key=key)
    try:
        options = report_options(request.GET)
    except FieldErrors as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    report = services.report_build(
        experiment=experiment, options=options, metrics=ALL_METRICS, breakdown_rows=BREAKDOWN_TOP_ROWS
    )
    return render(request, "analytics/detail.html", detail_context(report))


def report_html(report: Report) -> str:
    """The detail page as one self-contained file (plotly.js, CSS and data inline), for sharing by mail."""
    return render_to_string("analytics/detail.html", detail_context(report, standalone=True))


@require_safe
@reader_required
def lambda_page(request: HttpRequest) -> HttpResponse:
    entries = lambda_report_build()
    figures = {entry.chart_id: lambda_chart(entry) for entry in entries}
    context = {
        "entries": entries,
        "figures": figures,
        "can_adopt": can_edit(request.user),
        "plotly_version": plotly_version(),
    }
    return render(request, "analytics/lambda.html", context)


@require_POST
@reader_required
def lambda_adopt(request: HttpRequest) -> HttpResponse:
    if not can_edit(request.user):
        raise PermissionDenied("Only Marketers and admins may change a category's default λ.")
    category_id = request.POST.get("category", "")
    if not category_id.isdigit():
        raise Http404("unknown category")
    category = get_object_or_404(Category, pk=int(category_id))
    try:
        category = catalog_services.category_lambda_adopt(
            category=category, lambda_value=request.POST.get("lambda"), user=request.user
        )
    except FieldErrors as exc:
        messages.error(request, f"Not adopted: {exc}")
    else:
        messages.success(
            request, f"{category.name}: new LLM variants now default to λ={category.recommended_lambda:g}."
        )
    return redirect("reports:lambda")
