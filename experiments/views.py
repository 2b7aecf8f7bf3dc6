"""The storefront tracker script (served from the app folder with an ETag) and the copy review page."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_http_methods, require_safe

from abplatform import roles
from abplatform.errors import FieldErrors, LifecycleError
from abplatform.roles import can_edit
from catalog.models import Product
from experiments.assignment import snapshot_cache_clear
from experiments.models import Experiment, ExperimentProduct, Variant, VariantCopy

TRACKER_PATH = Path(__file__).resolve().parent / "static" / "experiments" / "tracker.js"
# Short enough that a fix reaches storefronts within minutes, long enough to spare the web nodes.
TRACKER_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class _Script:
    mtime_ns: int
    body: bytes
    etag: str


_tracker: _Script | None = None


def _tracker_script() -> _Script:
    """tracker.js from the app folder, not STATIC_ROOT: it works without collectstatic and with
    DEBUG off. Read again only when the file changes."""
    global _tracker
    mtime_ns = TRACKER_PATH.stat().st_mtime_ns
    if _tracker is None or _tracker.mtime_ns != mtime_ns:
        body = TRACKER_PATH.read_bytes()
        _tracker = _Script(mtime_ns, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return _tracker


@require_safe
@condition(etag_func=lambda request: _tracker_script().etag)
def tracker_js(request: HttpRequest) -> HttpResponse:
    script = _tracker_script()
    response = HttpResponse(script.body, content_type="application/javascript; charset=utf-8")
    patch_cache_control(response, public=True, max_age=TRACKER_MAX_AGE_SECONDS)
    # Storefronts on other origins embed it; CORS only matters for <script crossorigin> (SRI),
    # CORP for storefronts that enable cross-origin isolation.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


# --- The review page of one arm's copy per product -------------------------------------------------------------

REVIEW_PAGE_SIZE = 50
REVIEW_ACTIONS = ("approve_passing", "approve", "save", "reject")

reader_required = roles.reader_required("Copy review is for the Marketer and Analyst roles.")


@dataclass(frozen=True)
class ReviewFilters:
    flagged: bool = False
    todo: bool = False  # awaiting a decision: pending or failed
    brand: str = ""

    @classmethod
    def of(cls, query: Mapping[str, str]) -> ReviewFilters:
        return cls(
            flagged=query.get("flagged") == "1", todo=query.get("todo") == "1", brand=query.get("brand", "").strip()
        )

    def apply(self, rows: QuerySet[VariantCopy]) -> QuerySet[VariantCopy]:
        if self.flagged:
            rows = rows.filter(~Q(flags=[]) | ~Q(error="") | Q(status=VariantCopy.Status.FAILED))
        if self.todo:
            rows = rows.filter(status__in=(VariantCopy.Status.PENDING, VariantCopy.Status.FAILED))
        if self.brand:
            rows = rows.filter(product__brand=self.brand)
        return rows


@dataclass(frozen=True)
class ReviewRow:
    """One product's row: its copy in this arm, the chosen candidate and the runner-ups."""

    copy: VariantCopy
    chosen: dict | None
    runner_ups: list[dict]

    @classmethod
    def of(cls, row: VariantCopy) -> ReviewRow:
        candidates = [c for c in row.candidates or [] if isinstance(c, dict) and c.get("text")]
        chosen = next((c for c in candidates if c["text"] == row.copy), None)
        return cls(copy=row, chosen=chosen, runner_ups=[c for c in candidates if c is not chosen])


def review_sku(request: HttpRequest) -> str:
    """The posted product of a one-product action; raises FieldErrors when there is none."""
    sku = request.POST.get("sku", "").strip()
    if not sku:
        raise FieldErrors({"sku": "which product: this field is required"})
    return sku


def _review_act(request: HttpRequest, variant: Variant) -> str:
    """Run the posted action through its service; returns the success message. Raises FieldErrors,
    LifecycleError or PermissionDenied."""
    from experiments.copies import variant_copies_approve_passing, variant_copy_review

    action = request.POST.get("action", "")
    copy = request.POST.get("copy")
    if copy is not None:
        copy = copy.replace("\r\n", "\n")  # browsers send textarea line breaks as CRLF
    if action not in REVIEW_ACTIONS:
        raise FieldErrors({"action": f"one of {', '.join(REVIEW_ACTIONS)}"})
    if action == "approve_passing":
        n = variant_copies_approve_passing(variant=variant, user=request.user)
        return f"Approved {n} cop{'y' if n == 1 else 'ies'} that pass every check."
    sku = review_sku(request)
    if action == "reject":
        variant_copy_review(variant=variant, sku=sku, user=request.user, rejected=True)
        return f"{sku}: rejected."
    row = variant_copy_review(
        variant=variant, sku=sku, user=request.user, copy=copy, approved=True if action == "approve" else None
    )
    if action == "approve":
        return f"{sku}: approved."
    problems = f"; {len(row.flags)} problem(s) to fix before it can be approved" if row.flags else ""
    return f"{sku}: saved{problems}."


def review_arm(key: str, variant: str) -> tuple[Experiment, Variant]:
    """The experiment and its arm of a review URL, or 404."""
    experiment = get_object_or_404(Experiment, key=key)
    return experiment, get_object_or_404(
        Variant.objects.select_related("experiment"), experiment=experiment, key=variant
    )


def review_post(request: HttpRequest, experiment: Experiment, arm: Variant, act: Callable[[], str]) -> HttpResponse:
    """A review action posted by a Marketer or admin (Analysts may only read): `act` runs it
    through its service and returns the message shown back on the review page, which keeps its
    filters and page. A refused action is shown on the page, 400 for bad input, 409 for a
    lifecycle rule."""
    if not can_edit(request.user):
        raise PermissionDenied("Only Marketers and admins may review copy; Analysts may read it.")
    try:
        done = act()
    except FieldErrors as exc:
        error, status = "; ".join(f"{k}: {v}" for k, v in exc.errors.items()), 400
    except LifecycleError as exc:
        error, status = str(exc), 409
    else:
        snapshot_cache_clear(experiment.key)
        messages.success(request, done)
        query = request.META.get("QUERY_STRING", "")
        return redirect(reverse("variant-review", args=[experiment.key, arm.key]) + (f"?{query}" if query else ""))
    experiment.refresh_from_db()
    return _review_render(request, experiment, arm, error, status)


@require_http_methods(["GET", "HEAD", "POST"])
@reader_required
def variant_review(request: HttpRequest, key: str, variant: str) -> HttpResponse:
    """One arm's copy per product, for review: filters, pagination, and the review actions (POST,
    Marketers and admins only, while the experiment is a draft). Generating one product's copy
    again is the generator's (`generator.views.variant_regenerate`), posted from this page."""
    experiment, arm = review_arm(key, variant)
    if request.method == "POST":
        return review_post(request, experiment, arm, lambda: _review_act(request, arm))
    return _review_render(request, experiment, arm, "", 200)


def _review_render(request: HttpRequest, experiment: Experiment, arm: Variant, error: str, status: int) -> HttpResponse:
    context = _review_context(request, experiment, arm, error)
    return render(request, "experiments/review.html", context, status=status)


def _review_context(request: HttpRequest, experiment: Experiment, arm: Variant, error: str) -> dict[str, Any]:
    from experiments.copies import variant_copy_counts

    filters = ReviewFilters.of(request.GET)
    rows = filters.apply(
        VariantCopy.objects.filter(variant=arm).select_related("product", "reviewed_by").order_by("product__sku")
    )
    page = Paginator(rows, REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    product_ids = ExperimentProduct.objects.filter(experiment=experiment).values("product_id")
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "experiment": experiment,
        "arm": arm,
        "arms": list(experiment.variants.order_by("position", "pk").values_list("key", flat=True)),
        "counts": variant_copy_counts(arm),
        "filters": filters,
        "brands": list(
            Product.objects.filter(pk__in=product_ids).order_by("brand").values_list("brand", flat=True).distinct()
        ),
        "page": page,
        "rows": [ReviewRow.of(row) for row in page.object_list],
        "filter_query": query.urlencode(),
        "editable": experiment.status == Experiment.Status.DRAFT and can_edit(request.user),
        "can_edit": can_edit(request.user),
        "regenerable": arm.regenerable,
        "error": error,
    }
