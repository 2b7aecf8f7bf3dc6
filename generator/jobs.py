"""Generation jobs: validating a request, queueing it, running it, storing its candidates and variants.

The model and the embedder are loaded inside `generation_job_run` (through the pipeline), so
importing this module stays cheap for the web process. Jobs are sent to the `generation` queue
through `generator.dispatch`; the variants they make are written by `experiments.services`.
"""

from __future__ import annotations

import functools
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
from experiments.models import Experiment
from experiments.services import variant_for_lambda
from generator import dispatch, selectors
from generator.models import Candidate, GenerationJob, GenerationJobProduct
from generator.pipeline import GenerationParams, PipelineResult, generate_for_product
from generator.predictor import PRIOR_VERSION, LogisticModel
from generator.prompts import learned_directives
from generator.rerank import ScoredCandidate

logger = logging.getLogger(__name__)

# The pipeline's signature (`generator.pipeline.generate_for_product`): tests pass a stub.
Generate = Callable[..., PipelineResult]

MAX_LAMBDAS = 5
MAX_CANDIDATES = 32
# Worth a retry: the database was briefly unreachable or locked. Everything else (a bad model
# path, a CUDA error, a bug) fails the job with its message; retrying would fail the same way.
RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
# A job still "running" when its message comes back lost its worker mid-run (acks_late
# redelivery). One that has already been started this many times is given up instead: a job
# that kills its worker every time (out of memory, a CUDA crash) would otherwise come back forever.
MAX_JOB_ATTEMPTS = 3


def variant_key_for(lam: float) -> str:
    """`llm-l060` for λ = 0.6: sorts by λ and stays a valid slug."""
    return f"llm-l{round(lam * 100):03d}"


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
        lambdas = selectors.default_lambdas(category=_main_category(experiment))
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
    return values or selectors.default_lambdas(category=_main_category(experiment))


def _main_category(experiment: Experiment):
    """The category most of the set's products are in (its λ defaults apply)."""
    from django.db.models import Count

    row = experiment.products.values("category").annotate(n=Count("id")).order_by("-n", "category").first()
    return Category.objects.filter(pk=row["category"]).first() if row else None


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


def _job_products_run(
    *, job: GenerationJob, adapter: str | None, generate: Generate | None, started: float, budget: float | None
) -> bool:
    """Generate every (product, λ) of the job not yet done; True when the time budget ran out first."""
    experiment = job.experiment
    products = list(experiment.products.select_related("category").order_by("sku"))
    if job.skus:
        products = [p for p in products if p.sku in set(job.skus)]
    done = set(GenerationJobProduct.objects.filter(job=job).values_list("product_id", "lambda_value"))
    by_category: dict[int, tuple] = {}
    total = max(1, len(products) * len(job.lambdas))
    for lam in (float(v) for v in job.lambdas):
        for product in products:
            if (product.pk, lam) in done:
                continue
            if budget is not None and time.perf_counter() - started > budget:
                return True
            if product.category_id not in by_category:
                category = product.category
                predictor = selectors.predictor_for(category=category, target="cvr")
                by_category[product.category_id] = (
                    predictor,
                    selectors.predictor_for(category=category, target="ctr"),
                    _job_params(job, predictor),
                    adapter
                    or selectors.adapter_path_for(
                        category=category, base_model=job.model_name or settings.GENERATOR_MODEL
                    ),
                )
            predictor, click_predictor, params, product_adapter = by_category[product.category_id]
            product_started = time.perf_counter()
            error = ""
            result: PipelineResult | None = None
            try:
                result = (generate or generate_for_product)(
                    product=selectors.product_context(product=product),
                    lambdas=[lam],
                    params=params,
                    guideline=selectors.product_guideline(product=product),
                    control_text=selectors.control_copy(experiment=experiment, product=product),
                    examples=selectors.few_shot_examples(
                        category=product.category, exclude_product=product, seed=job.seed
                    ),
                    predictor=predictor,
                    click_predictor=click_predictor,
                    model_name=job.model_name or None,
                    adapter=product_adapter,
                    progress=functools.partial(_share_progress, job.pk, len(done), total),
                )
            except (*RETRYABLE_ERRORS, SoftTimeLimitExceeded):
                raise
            except Exception as exc:
                if len(products) * len(job.lambdas) == 1:
                    raise  # a one-product job fails as a whole, with the reason
                logger.exception("generation job %s: product %s at λ=%s failed", job.pk, product.sku, lam)
                error = f"{type(exc).__name__}: {exc}"[:2000]
            with transaction.atomic():
                _job_product_save(
                    job=job,
                    product=product,
                    lam=lam,
                    result=result,
                    error=error,
                    params=params,
                    predictor_version=predictor.version,
                    seconds=time.perf_counter() - product_started,
                )
            done.add((product.pk, lam))
            _progress_set(job.pk, len(done) / total)
    return False


def _job_variant(job: GenerationJob, lam: float) -> tuple[Any, str]:
    """The LLM arm of λ, made when missing, with the experiment locked; (None, why) once the
    experiment has left draft (its copy is frozen then). Called inside the product's transaction,
    so a failed save leaves no half-made arm."""
    experiment = Experiment.objects.select_for_update().get(pk=job.experiment_id)
    if experiment.status != Experiment.Status.DRAFT:
        return None, f"the experiment is {experiment.status} now: no variant was created"
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


def _review_candidates(outcome) -> list[dict[str, Any]]:
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
        for c in sorted(outcome.result.top, key=lambda c: c.rank or 0)
    ]


def _job_product_save(
    *,
    job: GenerationJob,
    product: Any,
    lam: float,
    result: PipelineResult | None,
    error: str,
    params: GenerationParams,
    predictor_version: str,
    seconds: float,
) -> None:
    # Locked, and checked: a second delivery of the same message (Redis hands a job that outlives
    # the visibility timeout to another worker) may have written this product meanwhile.
    GenerationJob.objects.select_for_update().filter(pk=job.pk).first()
    if GenerationJobProduct.objects.filter(job=job, product=product, lambda_value=lam).exists():
        return
    outcome = result.outcomes[0] if result is not None and result.outcomes else None
    Candidate.objects.filter(job=job, product=product, lambda_value=lam).delete()
    note = error
    best = outcome.result.best if outcome is not None else None
    if outcome is not None:
        rows = {c.position: _candidate_row(job, lam, c, product.pk) for c in outcome.result.candidates}
        if best is None:
            note = (
                f"none of the {len(outcome.result.candidates)} candidates ({outcome.rounds} rounds) passed the "
                "filters and copy guards"
            )
        variant, frozen = _job_variant(job, lam)
        if variant is not None:
            variant_copy_generated(
                variant=variant,
                product=product,
                copy=best.text if best is not None else "",
                candidates=_review_candidates(outcome),
                error=note,
            )
            if best is not None:
                rows[best.position].variant = variant
        else:
            note, best = frozen, None
        Candidate.objects.bulk_create(rows.values())
    else:
        variant, frozen = _job_variant(job, lam)
        if variant is not None:
            variant_copy_generated(variant=variant, product=product, copy="", candidates=[], error=note)
    succeeded = best is not None and not error
    tokens = outcome.generated_tokens if outcome is not None else 0
    GenerationJobProduct.objects.create(
        job=job,
        product=product,
        lambda_value=lam,
        status=GenerationJobProduct.Status.DONE if succeeded else GenerationJobProduct.Status.FAILED,
        error=note[:2000],
        rounds=outcome.rounds if outcome is not None else 0,
        candidates=len(outcome.result.candidates) if outcome is not None else 0,
        tokens=tokens,
        seconds=seconds,
        attempt=GenerationJob.objects.filter(pk=job.pk).values_list("attempts", flat=True).first() or 1,
    )
    meta = {}
    if result is not None:
        meta = {"model_version": result.model_version, "prompt_version": result.prompt_version}
    GenerationJob.objects.filter(pk=job.pk).update(
        products_done=F("products_done") + int(succeeded),
        products_failed=F("products_failed") + int(not succeeded),
        candidates_made=F("candidates_made") + (len(outcome.result.candidates) if outcome is not None else 0),
        tokens=F("tokens") + tokens,
        work_seconds=F("work_seconds") + seconds,
        predictor_version=predictor_version,
        params=params.as_dict(),
        **meta,
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
