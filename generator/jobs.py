"""Generation jobs: validating a request, queueing it, running it, storing its candidates and variants.

The model and the embedder are loaded inside `generation_job_run` (through the pipeline), so
importing this module stays cheap for the web process. Jobs are sent to the `generation` queue
through `generator.dispatch`; the variants they make are written by `experiments.services`.
"""

from __future__ import annotations

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
from experiments.models import Experiment
from experiments.services import variant_save_generated
from generator import dispatch, selectors
from generator.models import Candidate, GenerationJob
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
) -> GenerationJob:
    """A queued job for a draft experiment, sent to the `generation` queue once the row is committed."""
    if experiment.status != Experiment.Status.DRAFT:
        raise LifecycleError(
            f"experiment {experiment.key!r} is {experiment.status}; LLM copy can only be generated for a draft"
        )
    if lambdas is None:
        lambdas = selectors.default_lambdas(category=experiment.product.category)
    clean_lambdas, n, k = generation_input_validate(lambdas=lambdas, candidates=candidates, top_k=top_k)
    job = GenerationJob.objects.create(
        experiment=experiment,
        lambdas=clean_lambdas,
        candidates_per_lambda=n,
        top_k=k,
        # A fresh seed per job so "generate again" gives new copy; stored so it can be reproduced.
        seed=seed if seed is not None else random.randrange(1, 1_000_000),
        created_by=user if user is not None and user.is_authenticated else None,
        model_name=settings.GENERATOR_MODEL,
    )
    if enqueue:
        dispatch.generation_job_enqueue(job_id=job.pk)
    return job


def _job_params(job: GenerationJob, predictor: LogisticModel | None = None) -> GenerationParams:
    """The job's settings; a predictor fitted on outcomes adds the prompt directives it calls for."""
    fitted = predictor is not None and predictor.version != PRIOR_VERSION
    return GenerationParams.from_settings(
        directives=learned_directives(predictor.coefficients) if fitted else (),
        candidates=job.candidates_per_lambda,
        top_k=job.top_k,
        seed=job.seed,
    )


def _progress_set(job_id: int, value: float) -> None:
    # A plain UPDATE outside any long transaction, so the admin sees progress while the job runs.
    GenerationJob.objects.filter(pk=job_id).update(progress=round(min(1.0, max(0.0, value)), 3))


def generation_job_run(*, job_id: int, adapter: str | None = None, generate: Generate | None = None) -> GenerationJob:
    """Run a job end to end. Idempotent: a finished job is left as it is; a job whose worker died
    mid-run (acks_late redelivery) starts again from scratch. `generate` replaces the pipeline
    (default: `generate_for_product`, looked up when the job runs).

    Nothing becomes visible until the end: candidates and variants are written in one
    transaction, so a failure leaves the job's error and no half-made variants.
    """
    job = GenerationJob.objects.select_related("experiment__product__category").get(pk=job_id)
    if job.finished:
        return job
    if job.status == GenerationJob.Status.RUNNING and job.attempts >= MAX_JOB_ATTEMPTS:
        generation_job_fail(
            job_id=job.pk,
            error=f"given up after {job.attempts} attempts: the worker running it died each time (out of "
            "memory? see the generation worker's log), or CELERY_VISIBILITY_TIMEOUT is shorter than the job",
        )
        job.refresh_from_db()
        return job
    started = time.perf_counter()
    GenerationJob.objects.filter(pk=job.pk).update(
        status=GenerationJob.Status.RUNNING,
        started_at=timezone.now(),
        progress=0.0,
        error="",
        attempts=F("attempts") + 1,
    )
    try:
        experiment = job.experiment
        product = experiment.product
        category = product.category
        predictor = selectors.predictor_for(category=category, target="cvr")
        params = _job_params(job, predictor)
        click_predictor = selectors.predictor_for(category=category, target="ctr")
        if adapter is None:
            # The category's active fine-tuned adapter, if one was trained on this job's model.
            adapter = selectors.adapter_path_for(
                category=category, base_model=job.model_name or settings.GENERATOR_MODEL
            )
        result = (generate or generate_for_product)(
            product=selectors.product_context(product=product),
            lambdas=[float(v) for v in job.lambdas],
            params=params,
            guideline=selectors.product_guideline(product=product),
            control_text=selectors.control_copy(experiment=experiment),
            examples=selectors.few_shot_examples(category=category, exclude_product=product, seed=job.seed),
            predictor=predictor,
            click_predictor=click_predictor,
            model_name=job.model_name or None,
            adapter=adapter,
            progress=lambda share: _progress_set(job.pk, 0.05 + 0.9 * share),
        )
        with transaction.atomic():
            _job_results_save(
                job=job,
                result=result,
                params=params,
                predictor_version=predictor.version,
                seconds=time.perf_counter() - started,
            )
    except RETRYABLE_ERRORS:
        GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.QUEUED)
        raise
    except SoftTimeLimitExceeded:
        generation_job_fail(
            job_id=job.pk,
            error=f"stopped after {time.perf_counter() - started:.0f} s: the job ran past its time limit "
            "(fewer λ values or candidates, or a GPU worker, will fit)",
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


def _candidate_row(job: GenerationJob, lam: float, c: ScoredCandidate) -> Candidate:
    return Candidate(
        job=job,
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


def _job_results_save(
    *, job: GenerationJob, result: PipelineResult, params: GenerationParams, predictor_version: str, seconds: float
) -> None:
    # Another delivery of the same message may have finished the job meanwhile (Redis hands a job
    # that outlives the visibility timeout to a second worker): its copy stands, and may already
    # be approved. Locked, so two deliveries finishing at once write one result.
    if GenerationJob.objects.select_for_update().filter(pk=job.pk, status__in=FINISHED).exists():
        logger.warning("generation job %s was finished by another delivery; this run's results are dropped", job.pk)
        return
    # Lock the experiment: its status decides whether variants may change, and a concurrent job
    # for the same experiment must not pick the same positions.
    experiment = Experiment.objects.select_for_update().get(pk=job.experiment_id)
    is_draft = experiment.status == Experiment.Status.DRAFT
    Candidate.objects.filter(job=job).delete()  # a redelivered job starts over
    summary: list[dict[str, Any]] = []
    next_position = (experiment.variants.aggregate(top=Max("position"))["top"] or 0) + 1
    for outcome in result.outcomes:
        rows = {c.position: _candidate_row(job, outcome.lam, c) for c in outcome.result.candidates}
        best = outcome.result.best
        entry: dict[str, Any] = {
            "lambda": outcome.lam,
            "temperature": outcome.temperature,
            "top_diversity": round(outcome.result.top_diversity, 4),
            "pool_diversity": round(outcome.result.pool_diversity, 4),
            "kept": len(outcome.result.top),
            "dropped": outcome.result.dropped,
            "rounds": outcome.rounds,
            "variant": None,
        }
        if best is None:
            entry["note"] = (
                f"none of the {len(outcome.result.candidates)} candidates ({outcome.rounds} rounds) passed the "
                "filters and copy guards: no variant for this λ"
            )
        elif not is_draft:
            entry["note"] = f"the experiment is {experiment.status} now: no variant was created"
        else:
            variant, created = variant_save_generated(
                experiment=experiment,
                key=variant_key_for(outcome.lam),
                copy=best.text,
                lambda_value=outcome.lam,
                position=next_position,
            )
            next_position += int(created)
            rows[best.position].variant = variant
            entry["variant"] = variant.key
        Candidate.objects.bulk_create(rows.values())
        summary.append(entry)
    timings = result.timings | {"total_s": round(seconds, 3)}
    GenerationJob.objects.filter(pk=job.pk).update(
        status=GenerationJob.Status.SUCCEEDED,
        progress=1.0,
        error="",
        model_version=result.model_version,
        prompt_version=result.prompt_version,
        predictor_version=predictor_version,
        params=params.as_dict(),
        timings=timings,
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
