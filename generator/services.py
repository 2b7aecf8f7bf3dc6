"""Writes for the generator: creating and running generation jobs, refitting the predictor.

The model and the embedder are loaded inside `generation_job_run` (through the pipeline), so
importing this module stays cheap for the web process.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Max
from django.utils import timezone

from abplatform.errors import FieldErrors, LifecycleError
from catalog.models import Category
from experiments.models import Experiment, Variant
from generator import selectors
from generator.models import Candidate, ConversionPredictor, GenerationJob
from generator.pipeline import GenerationParams, PipelineResult, generate_for_product
from generator.predictor import (
    PRIOR_VERSION,
    REFIT_PRIOR_STRENGTH,
    TARGETS,
    InsufficientData,
    LogisticModel,
    OutcomeRow,
    evaluate,
    fit_logistic,
    prior_model,
)
from generator.prompts import learned_directives
from generator.rerank import ScoredCandidate

logger = logging.getLogger(__name__)

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
        from generator.tasks import generation_job_execute

        transaction.on_commit(lambda: generation_job_execute.delay(job.pk))
    return job


def _job_params(job: GenerationJob, predictor: LogisticModel | None = None) -> GenerationParams:
    """The job's settings; a predictor fitted on outcomes adds the prompt directives it calls for."""
    fitted = predictor is not None and predictor.version != PRIOR_VERSION
    return GenerationParams(
        directives=learned_directives(predictor.coefficients) if fitted else (),
        candidates=job.candidates_per_lambda,
        top_k=job.top_k,
        max_new_tokens=settings.GENERATOR_MAX_NEW_TOKENS,
        seed=job.seed,
        dedupe_threshold=settings.GENERATOR_DEDUPE_THRESHOLD,
        relevance_threshold=settings.GENERATOR_RELEVANCE_THRESHOLD,
    )


def _progress_set(job_id: int, value: float) -> None:
    # A plain UPDATE outside any long transaction, so the admin sees progress while the job runs.
    GenerationJob.objects.filter(pk=job_id).update(progress=round(min(1.0, max(0.0, value)), 3))


def generation_job_run(*, job_id: int, adapter: str | None = None) -> GenerationJob:
    """Run a job end to end. Idempotent: a finished job is left as it is; a job whose worker died
    mid-run (acks_late redelivery) starts again from scratch.

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
        result = generate_for_product(
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
        cta_appended=c.cta_appended,
        novelty=c.novelty,
        diversity=c.diversity,
        sentiment=c.sentiment,
        cta_present=c.cta_present,
        cta_density=c.cta_density,
        readability=c.readability,
        keyword_strength=c.keyword_strength,
        relevance=c.relevance,
        length_chars=c.length_chars,
        words=c.words,
        p_conv=c.p_conv,
        p_click=c.p_click,
        reward=c.reward,
        rank=c.rank,
        dropped_reason=c.dropped_reason[:500],
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
            "variant": None,
        }
        if best is None:
            entry["note"] = "no candidate passed the filters"
        elif not is_draft:
            entry["note"] = f"the experiment is {experiment.status} now: no variant was created"
        else:
            variant, next_position = _variant_upsert(
                experiment=experiment, lam=outcome.lam, copy=best.text, next_position=next_position
            )
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


def _variant_upsert(*, experiment: Experiment, lam: float, copy: str, next_position: int) -> tuple[Variant, int]:
    key = variant_key_for(lam)
    variant = experiment.variants.filter(key=key).first()
    if variant is not None and not variant.is_control:
        # Fresh copy needs fresh review: the old approval was for other words.
        variant.copy = copy
        variant.lambda_value = lam
        variant.source = Variant.Source.LLM
        variant.approved = False
        variant.approved_by = None
        variant.approved_at = None
        variant.save(update_fields=["copy", "lambda_value", "source", "approved", "approved_by", "approved_at"])
        return variant, next_position
    if variant is not None:
        key = f"{key}-llm"  # never overwrite the control, even if someone named it like an LLM arm
    variant = Variant.objects.create(
        experiment=experiment,
        key=key,
        name=f"LLM λ={lam:.2f}",
        position=next_position,
        lambda_value=lam,
        copy=copy,
        source=Variant.Source.LLM,
        approved=False,
    )
    return variant, next_position + 1


def generation_run_sync(
    *,
    experiment: Experiment,
    lambdas: Sequence[float] | None = None,
    candidates: int = 4,
    top_k: int = 2,
    seed: int = 0,
    user: AbstractBaseUser | None = None,
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
    return generation_job_run(job_id=job.pk)


def outcome_rows(
    *, category: Category | None = None, exposed_before: datetime | None = None, exposed_since: datetime | None = None
) -> list[OutcomeRow]:
    """Logged outcomes as predictor rows: features are recomputed from each variant's copy.

    `exposed_before` / `exposed_since` restrict to units first exposed before / since a time.
    """
    from generator.embeddings import embed
    from generator.prompts import category_keywords
    from generator.rerank import copy_features
    from generator.scorers import relevance, text_scores

    outcomes = selectors.variant_outcomes(category=category, exposed_before=exposed_before, exposed_since=exposed_since)
    if not outcomes:
        return []
    copies = embed([o.copy for o in outcomes])
    references = embed([o.product.reference_text for o in outcomes])
    rows: list[OutcomeRow] = []
    for outcome, copy_vec, product_vec in zip(outcomes, copies, references, strict=True):
        scores = text_scores(outcome.copy, category_keywords(outcome.category, outcome.product.keywords))
        features = copy_features(scores, relevance(copy_vec, product_vec))
        rows.append(
            OutcomeRow(features=features, impressions=outcome.impressions, orders=outcome.orders, clicks=outcome.clicks)
        )
    return rows


# A refit must not predict the recent holdout worse than the model in use: log-loss (a proper
# score, sensitive to calibration) may not rise, and AUC (ranking, what the reranker uses) may
# not drop by more than this; AUC over a handful of pieces of copy is coarse, hence the slack.
REFIT_AUC_SLACK = 0.01
REFIT_HOLDOUT_FRACTION = 0.25


def _holdout_check(candidate: dict[str, float | None], current: dict[str, float | None]) -> tuple[bool, str]:
    if candidate["log_loss"] is None or current["log_loss"] is None:
        return True, "no recent holdout data: activated on the training fit alone"
    if candidate["log_loss"] > current["log_loss"] + 1e-9:
        return False, f"holdout log-loss {candidate['log_loss']:.5f} > current {current['log_loss']:.5f}"
    if (
        candidate["auc"] is not None
        and current["auc"] is not None
        and candidate["auc"] < current["auc"] - REFIT_AUC_SLACK
    ):
        return False, f"holdout AUC {candidate['auc']:.3f} < current {current['auc']:.3f} − {REFIT_AUC_SLACK}"
    return True, "not worse than the current model on the recent holdout"


def predictor_refit(
    *,
    category: Category | None = None,
    targets: Sequence[str] = TARGETS,
    min_impressions: int = 1000,
    prior_strength: float = REFIT_PRIOR_STRENGTH,
    activate: bool = True,
    holdout_fraction: float = REFIT_HOLDOUT_FRACTION,
) -> list[ConversionPredictor]:
    """Fit new predictor versions on logged outcomes, checked on recent data before activation.

    Units are split by first exposure: those in the last `holdout_fraction` of the time span are
    the holdout. A candidate fitted on the older units is scored on the holdout next to the model
    in use (the active version, else the prior), by AUC and log-loss; when it is not worse, the
    model fitted on all data becomes active. Either way the new version is stored with its
    `metrics["holdout"]`, so the admin shows refits that were held back and why.

    Raises InsufficientData (nothing is written) when the logs are too thin to learn from.
    """
    rows = outcome_rows(category=category)
    train, holdout = rows, []
    first, last = selectors.outcome_exposure_span(category=category)
    cutoff = None
    if first is not None and last is not None and last > first and holdout_fraction > 0:
        cutoff = last - (last - first) * holdout_fraction
        train = outcome_rows(category=category, exposed_before=cutoff)
        holdout = outcome_rows(category=category, exposed_since=cutoff)
    plans = []
    for target in targets:
        prior = prior_model(target)
        final = fit_logistic(
            rows,
            target=target,
            prior=prior,
            prior_strength=prior_strength,
            min_impressions=min_impressions,
        )
        try:
            candidate = fit_logistic(
                train, target=target, prior=prior, prior_strength=prior_strength, min_impressions=1
            ).model
        except InsufficientData:
            candidate = final.model  # everything is recent: the check then compares the full fit
        current = selectors.predictor_for(category=category, target=target)
        candidate_scores = evaluate(candidate, holdout)
        current_scores = evaluate(current, holdout)
        passed, reason = _holdout_check(candidate_scores, current_scores)
        metrics = dict(final.metrics) | {
            "holdout": {
                "cutoff": cutoff.isoformat() if cutoff else None,
                "fraction": holdout_fraction,
                "train_rows": len(train),
                "holdout_rows": candidate_scores["rows"],
                "holdout_impressions": candidate_scores["impressions"],
                "auc": candidate_scores["auc"],
                "log_loss": candidate_scores["log_loss"],
                "current_version": current.version,
                "current_auc": current_scores["auc"],
                "current_log_loss": current_scores["log_loss"],
                "passed": passed,
                "reason": reason,
            },
            "activated": bool(activate and passed),
        }
        plans.append((final, metrics, bool(activate and passed)))
    created: list[ConversionPredictor] = []
    with transaction.atomic():
        for fit, metrics, make_active in plans:
            target = fit.model.target
            if make_active:
                ConversionPredictor.objects.filter(target=target, category=category, active=True).update(active=False)
            created.append(
                ConversionPredictor.objects.create(
                    version=selectors.next_predictor_version(target=target),
                    category=category,
                    target=target,
                    coefficients=dict(fit.model.coefficients),
                    feature_names=list(fit.model.feature_names),
                    n_samples=fit.n_samples,
                    metrics=metrics,
                    active=make_active,
                )
            )
    return created


def predictor_refit_all(
    *, min_impressions: int = 1000, prior_strength: float = REFIT_PRIOR_STRENGTH, activate: bool = True
) -> list[ConversionPredictor]:
    """The nightly refit: one fit per category with enough outcomes, then one for all categories.

    Shoppers of each category respond differently (figures sell electronics, not snacks), and
    `predictor_for` prefers the category's own active version. Each fit is centred on the paper's
    prior, not on the all-category fit: in the closed-loop simulation (README) centring a
    category on the others pulled it towards what sells elsewhere and cost conversions. The
    categories go first so that each is checked against the model in use before this run (an
    all-category fit made a moment earlier has seen their holdout). Categories too thin to fit
    are skipped; raises InsufficientData only when nothing at all could be fitted.
    """
    options = {"min_impressions": min_impressions, "prior_strength": prior_strength, "activate": activate}
    created: list[ConversionPredictor] = []
    # One transaction: a run that fails halfway (the task retries database errors) leaves no
    # versions behind, so its retry does not check categories against versions it made itself.
    with transaction.atomic():
        for category in Category.objects.order_by("name"):
            try:
                created += predictor_refit(category=category, **options)
            except (InsufficientData, np.linalg.LinAlgError) as exc:
                # A thin or numerically degenerate category must not block the others.
                logger.info("predictor refit for %s skipped: %s", category.name, exc)
        try:
            created += predictor_refit(**options)
        except InsufficientData:
            if not created:
                raise
    return created


__all__ = [
    "InsufficientData",
    "generation_input_validate",
    "generation_job_create",
    "generation_job_fail",
    "generation_job_run",
    "generation_run_sync",
    "outcome_rows",
    "predictor_refit",
    "predictor_refit_all",
    "variant_key_for",
]
