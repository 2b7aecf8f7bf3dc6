"""Running a generation job's products: batches of `GENERATOR_JOB_CHUNK` products per category and
λ through the pipeline (`generate_for_products`), each product stored the moment it is final
(`generator.job_store`). The model and the embedder are loaded inside the pipeline, so importing
this module stays cheap for the web process."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from abplatform.errors import DATABASE_RETRYABLE
from catalog.models import Category
from generator import selectors
from generator.job_store import ProductStore, progress_set
from generator.models import GenerationJob, GenerationJobProduct
from generator.pipeline import (
    BatchResult,
    GenerationParams,
    PipelineResult,
    ProductInput,
    ProductOutcome,
    generate_for_products,
    run_measures,
)
from generator.predictor import PRIOR_VERSION, LogisticModel
from generator.prompts import learned_directives

logger = logging.getLogger(__name__)

# The pipelines' signatures (`generator.pipeline.generate_for_product`, one product: tests pass a
# stub; `generate_for_products`, a batch of products: what jobs run).
Generate = Callable[..., PipelineResult]
GenerateBatch = Callable[..., BatchResult]

# Worth a retry: the database was briefly unreachable or locked. Everything else (a bad model
# path, a CUDA error, a bug) fails the job with its message; retrying would fail the same way.
RETRYABLE_ERRORS = DATABASE_RETRYABLE


def per_product_batch(generate: Generate, *, progress: Callable[[float], None] | None = None) -> GenerateBatch:
    """`generate_for_products`'s signature over a one-product pipeline (`generate_for_product`'s
    signature: the tests' stubs, or one product at a time), calling it product by product."""

    def run(
        *,
        items: Sequence[ProductInput],
        lam: float,
        params: GenerationParams,
        on_product_done: Callable[[str, ProductOutcome], None] | None = None,
        isolate_errors: bool = True,
        **kwargs: Any,
    ) -> BatchResult:
        batch = BatchResult(model_version="", prompt_version="")
        for item in items:
            try:
                result = generate(
                    product=item.product,
                    lambdas=[lam],
                    params=params,
                    guideline=item.guideline,
                    control_text=item.control_text,
                    examples=list(item.examples),
                    progress=progress,
                    **kwargs,
                )
                if not result.outcomes:
                    raise RuntimeError("the pipeline returned no result")
                outcome = ProductOutcome(key=item.key, lam=lam, **run_measures(result.outcomes[0]))
                batch.model_version, batch.prompt_version = result.model_version, result.prompt_version
            except (*RETRYABLE_ERRORS, SoftTimeLimitExceeded):
                raise
            except Exception as exc:
                if not isolate_errors:
                    raise
                logger.exception("generation of %s at λ=%s failed", item.key, lam)
                outcome = ProductOutcome(key=item.key, lam=lam, temperature=0.0, error=f"{type(exc).__name__}: {exc}")
            batch.outcomes.append(outcome)
            if on_product_done:
                on_product_done(item.key, outcome)
        return batch

    return run


def job_products_run(
    *, job: GenerationJob, adapter: str | None, generate: Generate | None, started: float, budget: float | None
) -> bool:
    """Generate every (product, λ) of the job not yet done, `GENERATOR_JOB_CHUNK` products per
    batched call; each product is stored the moment it is final. True when the time budget ran
    out first (the rest is re-queued)."""
    experiment = job.experiment
    products = list(experiment.products.select_related("category").order_by("category_id", "sku"))
    if job.skus:
        products = [p for p in products if p.sku in set(job.skus)]
    done = set(GenerationJobProduct.objects.filter(job=job).values_list("product_id", "lambda_value"))
    total = max(1, len(products) * len(job.lambdas))
    chunk = settings.GENERATOR_JOB_CHUNK
    if generate is not None:
        run_batch = per_product_batch(
            generate, progress=lambda share: progress_set(job.pk, (len(done) + share) / total)
        )
    else:
        run_batch = generate_for_products
    contexts: dict[int, tuple] = {}
    for lam in (float(v) for v in job.lambdas):
        todo = [p for p in products if (p.pk, lam) not in done]
        for category_id, group in itertools.groupby(todo, key=lambda p: p.category_id):
            group = list(group)
            if category_id not in contexts:
                contexts[category_id] = _category_context(job, group[0].category, adapter)
            predictor, click_predictor, params, category_adapter = contexts[category_id]
            for start in range(0, len(group), chunk):
                if budget is not None and time.perf_counter() - started > budget:
                    return True
                part = {p.sku: p for p in group[start : start + chunk]}
                items = [
                    ProductInput(
                        key=p.sku,
                        product=selectors.product_context(product=p),
                        guideline=selectors.product_guideline(product=p),
                        control_text=selectors.control_copy(experiment=experiment, product=p),
                        examples=tuple(
                            selectors.few_shot_examples(category=p.category, exclude_product=p, seed=job.seed)
                        ),
                    )
                    for p in part.values()
                ]
                store = ProductStore(
                    job=job, products=part, lam=lam, params=params, predictor_version=predictor.version, done=done
                )
                batch = run_batch(
                    items=items,
                    lam=lam,
                    params=params,
                    predictor=predictor,
                    click_predictor=click_predictor,
                    model_name=job.model_name or None,
                    adapter=category_adapter,
                    on_product_done=store,
                    isolate_errors=total > 1,  # a one-product job fails as a whole, with the reason
                )
                if batch.model_version:
                    GenerationJob.objects.filter(pk=job.pk).update(
                        model_version=batch.model_version, prompt_version=batch.prompt_version
                    )
    return False


def _category_context(job: GenerationJob, category: Category, adapter: str | None) -> tuple:
    """What a category's products share in a job: predictors, settings and the adapter."""
    predictor = selectors.predictor_for(category=category, target="cvr")
    params = _job_params(job, predictor)
    # Recorded now, so a job shows the settings it runs with before its first product is done.
    GenerationJob.objects.filter(pk=job.pk).update(params=params.as_dict(), predictor_version=predictor.version)
    return (
        predictor,
        selectors.predictor_for(category=category, target="ctr"),
        params,
        adapter or selectors.adapter_path_for(category=category, base_model=job.model_name or settings.GENERATOR_MODEL),
    )


def _job_params(job: GenerationJob, predictor: LogisticModel | None = None) -> GenerationParams:
    """The job's settings; a predictor fitted on outcomes adds the prompt directives it calls for."""
    fitted = predictor is not None and predictor.version != PRIOR_VERSION
    return GenerationParams.from_settings(
        directives=learned_directives(predictor.coefficients) if fitted else (),
        candidates=job.candidates_per_lambda,
        top_k=job.top_k,
        seed=job.seed,
    )
