"""Storing one finished (product, λ) of a generation job: its candidates, the arm's copy for that
product, and a `GenerationJobProduct` row, in one transaction, so a redelivered job never writes a
product twice; and the job's progress as products finish."""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction
from django.db.models import F, Max

from experiments.copies import variant_copy_generated
from experiments.models import Experiment, variant_key_for
from experiments.variants import variant_for_lambda
from generator.models import Candidate, GenerationJob, GenerationJobProduct
from generator.pipeline import GenerationParams, ProductOutcome
from generator.rerank import RerankResult, ScoredCandidate


def progress_set(job_id: int, value: float) -> None:
    # A plain UPDATE outside any long transaction, so the admin sees progress while the job runs.
    GenerationJob.objects.filter(pk=job_id).update(progress=round(min(1.0, max(0.0, value)), 3))


class ProductStore:
    """`on_product_done` for one chunk: stores a final product at once, in its own transaction,
    and moves the job's progress (`done`, shared with the caller, gains the pair)."""

    def __init__(
        self,
        *,
        job: GenerationJob,
        products: dict[str, Any],
        lam: float,
        params: GenerationParams,
        predictor_version: str,
        done: set,
    ) -> None:
        self.job, self.products, self.lam, self.params = job, products, lam, params
        self.predictor_version, self.done = predictor_version, done
        self.total = max(1, job.products_total)
        self.last = time.perf_counter()

    def __call__(self, key: str, outcome: ProductOutcome) -> None:
        product = self.products[key]
        now = time.perf_counter()
        with transaction.atomic():
            job_product_save(
                job=self.job,
                product=product,
                lam=self.lam,
                outcome=outcome,
                params=self.params,
                predictor_version=self.predictor_version,
                seconds=now - self.last,
            )
        self.last = now
        self.done.add((product.pk, self.lam))
        progress_set(self.job.pk, len(self.done) / self.total)


def _job_variant(job: GenerationJob, lam: float, *, create: bool = True) -> tuple[Any, str]:
    """The LLM arm of λ, made when missing (with `create`: only for copy that was chosen, so a λ
    where nothing passed leaves no empty arm behind), with the experiment locked; (None, why) once
    the experiment has left draft (its copy is frozen then). Called inside the product's
    transaction, so a failed save leaves no half-made arm."""
    experiment = Experiment.objects.select_for_update().get(pk=job.experiment_id)
    if experiment.status != Experiment.Status.DRAFT:
        return None, f"the experiment is {experiment.status} now: no variant was created"
    if not create:
        existing = experiment.variants.filter(key=variant_key_for(lam), is_control=False).first()
        existing = existing or experiment.variants.filter(key=f"{variant_key_for(lam)}-llm").first()
        return existing, ""
    next_position = (experiment.variants.aggregate(top=Max("position"))["top"] or 0) + 1
    variant, _ = variant_for_lambda(
        experiment=experiment, key=variant_key_for(lam), lambda_value=lam, position=next_position
    )
    return variant, ""


def _candidate_row(job: GenerationJob, lam: float, c: ScoredCandidate, product_id: int) -> Candidate:
    return Candidate(
        job=job,
        product_id=product_id,
        lambda_value=lam,
        position=c.position,
        prompt_type=c.prompt_type,
        sentiment_target=c.sentiment_target,
        text=c.text,
        n_tokens=c.n_tokens,
        rank=c.rank,
        dropped_reason=c.dropped_reason[:500],
        cuts=list(c.cuts),
        **c.stored(),
    )


def _review_candidates(result: RerankResult) -> list[dict[str, Any]]:
    """The chosen copy and the runner-ups, with the scores a reviewer compares."""
    return [
        {
            "rank": c.rank,
            "text": c.text,
            "reward": None if c.reward is None else round(c.reward, 4),
            "p_conv": round(c.p_conv, 4),
            "novelty": round(c.novelty, 4),
            "relevance": round(c.relevance, 4),
            "cuts": list(c.cuts),
        }
        for c in sorted(result.top, key=lambda c: c.rank or 0)
    ]


def job_product_save(
    *,
    job: GenerationJob,
    product: Any,
    lam: float,
    outcome: ProductOutcome,
    params: GenerationParams,
    predictor_version: str,
    seconds: float,
) -> None:
    # Locked, and checked: a second delivery of the same message (Redis hands a job that outlives
    # the visibility timeout to another worker) may have written this product meanwhile.
    GenerationJob.objects.select_for_update().filter(pk=job.pk).first()
    if GenerationJobProduct.objects.filter(job=job, product=product, lambda_value=lam).exists():
        return
    Candidate.objects.filter(job=job, product=product, lambda_value=lam).delete()
    result = outcome.result
    best = result.best if result is not None else None
    note = outcome.error
    if result is not None and best is None:
        note = (
            f"none of the {len(result.candidates)} candidates ({outcome.rounds} rounds) passed the filters and "
            "copy guards"
        )
    variant, frozen = _job_variant(job, lam, create=best is not None)
    if variant is None:
        note, best = frozen or note, None
    else:
        variant_copy_generated(
            variant=variant,
            product=product,
            copy=best.text if best is not None else "",
            candidates=_review_candidates(result) if result is not None else [],
            error=note,
        )
    if result is not None:
        rows = {c.position: _candidate_row(job, lam, c, product.pk) for c in result.candidates}
        if best is not None:
            rows[best.position].variant = variant
        Candidate.objects.bulk_create(rows.values())
    succeeded = best is not None
    n_candidates = len(result.candidates) if result is not None else 0
    GenerationJobProduct.objects.create(
        job=job,
        product=product,
        lambda_value=lam,
        status=GenerationJobProduct.Status.DONE if succeeded else GenerationJobProduct.Status.FAILED,
        error=note[:2000],
        rounds=outcome.rounds,
        candidates=n_candidates,
        tokens=outcome.generated_tokens,
        seconds=seconds,
        attempt=GenerationJob.objects.filter(pk=job.pk).values_list("attempts", flat=True).first() or 1,
    )
    GenerationJob.objects.filter(pk=job.pk).update(
        products_done=F("products_done") + int(succeeded),
        products_failed=F("products_failed") + int(not succeeded),
        candidates_made=F("candidates_made") + n_candidates,
        tokens=F("tokens") + outcome.generated_tokens,
        work_seconds=F("work_seconds") + seconds,
        predictor_version=predictor_version,
        params=params.as_dict(),
    )
