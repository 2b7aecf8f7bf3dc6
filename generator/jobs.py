"""Generation jobs: validating a request, queueing it, running it, storing its candidates and variants.

The model and the embedder are loaded inside `generation_job_run` (through the pipeline), so
importing this module stays cheap for the web process. Jobs are sent to the `generation` queue
through `generator.dispatch`; the variants they make are written by `experiments.services`.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Max
from django.utils import timezone

from abplatform.errors import FieldErrors, LifecycleError
from catalog.models import Category
from experiments.copies import variant_copy_generated
from experiments.models import Experiment, variant_key_for
from experiments.product_sets import experiment_main_category
from experiments.services import variant_for_lambda
from generator import dispatch, selectors
from generator.models import Candidate, GenerationJob, GenerationJobProduct
from generator.pipeline import (
    BatchResult,
    GenerationParams,
    PipelineResult,
    ProductInput,
    ProductOutcome,
    generate_for_products,
)
from generator.predictor import PRIOR_VERSION, LogisticModel
from generator.prompts import learned_directives
from generator.rerank import RerankResult, ScoredCandidate

logger = logging.getLogger(__name__)

# The pipelines' signatures (`generator.pipeline.generate_for_product`, one product: tests pass a
# stub; `generate_for_products`, a batch of products: what jobs run).
Generate = Callable[..., PipelineResult]
GenerateBatch = Callable[..., BatchResult]

MAX_LAMBDAS = 5
MAX_CANDIDATES = 32
# Worth a retry: the database was briefly unreachable or locked. Everything else (a bad model
# path, a CUDA error, a bug) fails the job with its message; retrying would fail the same way.
RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
# A job still "running" when its message comes back lost its worker mid-run (acks_late
# redelivery). One that has already been started this many times is given up instead: a job
# that kills its worker every time (out of memory, a CUDA crash) would otherwise come back forever.
MAX_JOB_ATTEMPTS = 3


def generation_input_validate(
    *, lambdas: Sequence[Any] | None, candidates: Any, top_k: Any
) -> tuple[list[float], int, int]:
    """Checked (lambdas, candidates, top_k); raises FieldErrors naming every bad field."""
    errors: dict[str, str] = {}
    clean: list[float] = []
    if lambdas is None or isinstance(lambdas, str | bytes) or not isinstance(lambdas, Sequence):
        errors["lambdas"] = "a list of 1 to 5 numbers in [0, 1] is required"
    elif not lambdas:
        errors["lambdas"] = "at least one λ is required"
    elif len(lambdas) > MAX_LAMBDAS:
        errors["lambdas"] = f"at most {MAX_LAMBDAS} values"
    else:
        for value in lambdas:
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors["lambdas"] = f"{value!r} is not a number"
                break
            if not 0.0 <= float(value) <= 1.0:
                errors["lambdas"] = f"{value} is outside [0, 1]"
                break
            clean.append(round(float(value), 2))
        if "lambdas" not in errors and len(set(clean)) != len(clean):
            errors["lambdas"] = "values must differ (after rounding to two decimals)"
    n = _int_in(candidates, 1, MAX_CANDIDATES, "candidates", errors)
    k = _int_in(top_k, 1, n if n is not None else MAX_CANDIDATES, "top_k", errors)
    if errors:
        raise FieldErrors(errors)
    return clean, int(n or 0), int(k or 0)


def _int_in(value: Any, low: int, high: int, name: str, errors: dict[str, str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = f"an integer from {low} to {high} is required"
        return None
    if not low <= value <= high:
        bound = "candidates" if name == "top_k" and high != MAX_CANDIDATES else str(high)
        errors[name] = f"must be between {low} and {bound}"
        return None
    return value


def generation_job_create(
    *,
    experiment: Experiment,
    lambdas: Sequence[float] | None = None,
    candidates: int = 8,
    top_k: int = 3,
    seed: int | None = None,
    user: AbstractBaseUser | None = None,
    enqueue: bool = True,
    skus: Sequence[str] = (),
) -> GenerationJob:
    """A queued job writing copy at each λ for every product of a draft experiment's set (or for
    `skus` only: a retry), sent to the `generation` queue once the row is committed."""
    if experiment.status != Experiment.Status.DRAFT:
        raise LifecycleError(
            f"experiment {experiment.key!r} is {experiment.status}; LLM copy can only be generated for a draft"
        )
    if lambdas is None:
        lambdas = selectors.default_lambdas(category=experiment_main_category(experiment))
    clean_lambdas, n, k = generation_input_validate(lambdas=lambdas, candidates=candidates, top_k=top_k)
    products = experiment.products.all()
    if skus:
        unknown = sorted(set(skus) - set(products.filter(sku__in=list(skus)).values_list("sku", flat=True)))
        if unknown:
            raise FieldErrors({"skus": f"not products of {experiment.key!r}: {', '.join(unknown[:10])}"})
        products = products.filter(sku__in=list(skus))
    job = GenerationJob.objects.create(
        experiment=experiment,
        lambdas=clean_lambdas,
        candidates_per_lambda=n,
        top_k=k,
        # A fresh seed per job so "generate again" gives new copy; stored so it can be reproduced.
        seed=seed if seed is not None else random.randrange(1, 1_000_000),
        created_by=user if user is not None and user.is_authenticated else None,
        model_name=settings.GENERATOR_MODEL,
        skus=list(skus),
        products_total=products.count() * len(clean_lambdas),
    )
    if enqueue:
        dispatch.generation_job_enqueue(job_id=job.pk)
    return job


def generation_product_retry(
    *, experiment: Experiment, lam: float, sku: str, user: AbstractBaseUser | None = None, enqueue: bool = True
) -> GenerationJob:
    """Generate one product's copy at one λ again (a failed product, or copy a reviewer rejected)."""
    return generation_job_create(experiment=experiment, lambdas=[lam], skus=[sku], user=user, enqueue=enqueue)


def experiment_lambdas(*, experiment: Experiment) -> list[float]:
    """The λ of the experiment's LLM arms (the policies the marketer set up), else the main
    category's default: its recommended λ and ±0.2."""
    arms = experiment.variants.filter(is_control=False, lambda_value__isnull=False).order_by("position")
    values = sorted({round(float(v), 2) for v in arms.values_list("lambda_value", flat=True)})
    return values or selectors.default_lambdas(category=experiment_main_category(experiment))


def _job_params(job: GenerationJob, predictor: LogisticModel | None = None) -> GenerationParams:
    """The job's settings; a predictor fitted on outcomes adds the prompt directives it calls for."""
    fitted = predictor is not None and predictor.version != PRIOR_VERSION
    return GenerationParams.from_settings(
        directives=learned_directives(predictor.coefficients) if fitted else (),
        candidates=job.candidates_per_lambda,
        top_k=job.top_k,
        seed=job.seed,
    )


def _share_progress(job_id: int, finished: int, total: int, share: float) -> None:
    """Progress inside one product: `finished` products done, `share` of the next."""
    _progress_set(job_id, (finished + share) / total)


def _progress_set(job_id: int, value: float) -> None:
    # A plain UPDATE outside any long transaction, so the admin sees progress while the job runs.
    GenerationJob.objects.filter(pk=job_id).update(progress=round(min(1.0, max(0.0, value)), 3))


def generation_job_run(
    *,
    job_id: int,
    adapter: str | None = None,
    generate: Generate | None = None,
    time_budget_s: float | None = None,
) -> GenerationJob:
    """Run a job, product by product. Each finished (product, λ) is written at once, in its own
    transaction (its candidates, the arm's copy for that product, and a `GenerationJobProduct`
    row), so a job whose worker dies resumes where it stopped when its message comes back, and a
    redelivery never writes a product twice. `generate` replaces the pipeline (default:
    `generate_for_product`). With `time_budget_s`, the run stops after that many seconds and
    re-queues the rest (long catalog jobs then never hit the task's time limit).
    """
    job = GenerationJob.objects.select_related("experiment").get(pk=job_id)
    if job.finished:
        return job
    stuck = not GenerationJobProduct.objects.filter(job=job, attempt__gt=job.attempts - MAX_JOB_ATTEMPTS).exists()
    if job.status == GenerationJob.Status.RUNNING and job.attempts >= MAX_JOB_ATTEMPTS and stuck:
        generation_job_fail(
            job_id=job.pk,
            error=f"given up after {job.attempts} attempts, the last {MAX_JOB_ATTEMPTS} without a finished product: "
            "the worker running it died each time (out of memory? see the generation worker's log), or "
            "CELERY_VISIBILITY_TIMEOUT is shorter than one product",
        )
        job.refresh_from_db()
        return job
    started = time.perf_counter()
    GenerationJob.objects.filter(pk=job.pk).update(
        status=GenerationJob.Status.RUNNING,
        started_at=job.started_at or timezone.now(),
        error="",
        attempts=F("attempts") + 1,
    )
    try:
        more = _job_products_run(job=job, adapter=adapter, generate=generate, started=started, budget=time_budget_s)
        if more:
            GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.QUEUED)
            dispatch.generation_job_enqueue(job_id=job.pk)
        else:
            _job_finish(job=job)
    except RETRYABLE_ERRORS:
        GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.QUEUED)
        raise
    except SoftTimeLimitExceeded:
        generation_job_fail(
            job_id=job.pk,
            error=f"stopped after {time.perf_counter() - started:.0f} s: the job ran past its time limit "
            "(the products finished so far are kept; generate again to resume the rest, or use a GPU worker)",
        )
    except Exception as exc:
        logger.exception("generation job %s failed", job.pk)
        generation_job_fail(job_id=job.pk, error=exc)
    job.refresh_from_db()
    return job


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
                one = result.outcomes[0]
                outcome = ProductOutcome(
                    key=item.key,
                    lam=lam,
                    temperature=one.temperature,
                    result=one.result,
                    rounds=one.rounds,
                    generated_tokens=one.generated_tokens,
                    generate_seconds=one.generate_seconds,
                    score_seconds=one.score_seconds,
                )
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


def _job_products_run(
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
            generate, progress=lambda share: _progress_set(job.pk, (len(done) + share) / total)
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
                store = _ProductStore(
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


class _ProductStore:
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
            _job_product_save(
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
        _progress_set(self.job.pk, len(self.done) / self.total)


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


def generation_job_fail(*, job_id: int, error: BaseException | str) -> None:
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    GenerationJob.objects.filter(pk=job_id).update(
        status=GenerationJob.Status.FAILED, error=message[:4000], finished_at=timezone.now()
    )


FINISHED = (GenerationJob.Status.SUCCEEDED, GenerationJob.Status.FAILED)


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
        }
        for c in sorted(result.top, key=lambda c: c.rank or 0)
    ]


def _job_product_save(
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


def _job_finish(*, job: GenerationJob) -> None:
    """Summarise per λ (set diversity of the chosen copy, how many products got copy) and close."""
    if GenerationJob.objects.filter(pk=job.pk, status__in=FINISHED).exists():
        return  # another delivery finished it while this one ran: its summary stands
    summary: list[dict[str, Any]] = []
    rows = GenerationJobProduct.objects.filter(job=job)
    for lam in (float(v) for v in job.lambdas):
        mine = rows.filter(lambda_value=lam)
        done = mine.filter(status=GenerationJobProduct.Status.DONE).count()
        failed = mine.filter(status=GenerationJobProduct.Status.FAILED).count()
        chosen = Candidate.objects.filter(job=job, lambda_value=lam, rank__isnull=False)
        entry: dict[str, Any] = {
            "lambda": lam,
            "products_done": done,
            "products_failed": failed,
            "kept": chosen.count(),
            "dropped": Candidate.objects.filter(job=job, lambda_value=lam, rank__isnull=True).count(),
            "rounds": max(mine.values_list("rounds", flat=True), default=0),
            "variant": chosen.exclude(variant=None).values_list("variant__key", flat=True).first(),
        }
        if not done:
            entry["note"] = mine.exclude(error="").values_list("error", flat=True).first() or "no copy was written"
        summary.append(entry)
    job.refresh_from_db()
    GenerationJob.objects.filter(pk=job.pk).update(
        status=GenerationJob.Status.SUCCEEDED,
        progress=1.0,
        error="",
        timings={
            "generate_s": round(job.work_seconds, 3),
            "tokens": job.tokens,
            "candidates": job.candidates_made,
            "products_per_hour": round(3600 * (job.products_done + job.products_failed) / job.work_seconds, 1)
            if job.work_seconds
            else None,
        },
        summary={"lambdas": summary},
        finished_at=timezone.now(),
    )


def generation_run_sync(
    *,
    experiment: Experiment,
    lambdas: Sequence[float] | None = None,
    candidates: int = 4,
    top_k: int = 2,
    seed: int = 0,
    user: AbstractBaseUser | None = None,
    generate: Generate | None = None,
) -> GenerationJob:
    """Create and run a job in this process (no broker): for set-up commands such as seed_demo."""
    job = generation_job_create(
        experiment=experiment,
        lambdas=lambdas,
        candidates=candidates,
        top_k=top_k,
        seed=seed,
        user=user,
        enqueue=False,
    )
    return generation_job_run(job_id=job.pk, generate=generate)
