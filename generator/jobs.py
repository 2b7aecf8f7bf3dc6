"""Generation jobs: validating a request, queueing it, running it to the end (or giving it up),
and its summary. Jobs are sent to the `generation` queue through `generator.dispatch`; their
products are run by `generator.job_runner` and stored by `generator.job_store`, and the variants
they make are written by `experiments.services`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F
from django.utils import timezone

from abplatform.errors import FieldErrors, LifecycleError
from experiments.models import Experiment
from experiments.product_sets import experiment_main_category
from generator import dispatch, selectors
from generator.job_runner import RETRYABLE_ERRORS, Generate, job_products_run
from generator.models import Candidate, GenerationJob, GenerationJobProduct

logger = logging.getLogger(__name__)

MAX_LAMBDAS = 5
MAX_CANDIDATES = 32
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
        more = job_products_run(job=job, adapter=adapter, generate=generate, started=started, budget=time_budget_s)
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


def generation_job_fail(*, job_id: int, error: BaseException | str) -> None:
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    GenerationJob.objects.filter(pk=job_id).update(
        status=GenerationJob.Status.FAILED, error=message[:4000], finished_at=timezone.now()
    )


FINISHED = (GenerationJob.Status.SUCCEEDED, GenerationJob.Status.FAILED)


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
