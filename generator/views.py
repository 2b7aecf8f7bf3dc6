"""Generator actions posted from the site's pages (not the API): generating one product's copy in
an LLM arm again, from the copy review page of that arm."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from abplatform.errors import LifecycleError
from experiments.views import reader_required, review_arm, review_post, review_sku
from generator.jobs import generation_product_retry


@require_POST
@reader_required
def variant_regenerate(request: HttpRequest, key: str, variant: str) -> HttpResponse:
    """Queue a generation job for one product (`sku`) at the arm's λ; back to the arm's review page
    (same filters and page), where its copy comes back for review. Marketers and admins, drafts only."""
    experiment, arm = review_arm(key, variant)

    def act() -> str:
        sku = review_sku(request)
        if not arm.regenerable:
            raise LifecycleError(f"arm {arm.key!r} is not an LLM arm named after its λ: it cannot be regenerated")
        job = generation_product_retry(experiment=experiment, lam=float(arm.lambda_value), sku=sku, user=request.user)
        return f"{sku}: queued generation job #{job.pk}; its copy comes back here for review."

    return review_post(request, experiment, arm, act)
