"""Celery tasks of the generator: thin wrappers that take ids and call one service each.

Both run on the `generation` queue (GPU hosts): the refit recomputes embedding features too.
"""

from __future__ import annotations

from celery import shared_task
from celery.utils.log import get_task_logger

from abplatform.celery import QUEUE_GENERATION
from generator import services

logger = get_task_logger(__name__)

# CPU generation of 3 λ × 8 candidates takes about a minute; 20 minutes leaves room for the
# one-time GGUF conversion and a slow, shared machine. The hard limit kills a stuck worker.
GENERATION_SOFT_LIMIT_S = 20 * 60
GENERATION_HARD_LIMIT_S = GENERATION_SOFT_LIMIT_S + 60


@shared_task(
    bind=True,
    name="generator.tasks.generation_job_execute",
    queue=QUEUE_GENERATION,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=GENERATION_SOFT_LIMIT_S,
    time_limit=GENERATION_HARD_LIMIT_S,
    max_retries=3,
    ignore_result=True,
)
def generation_job_execute(self, job_id: int) -> str:
    """Run generation job `job_id`; retried only when the database was briefly unavailable."""
    try:
        job = services.generation_job_run(job_id=job_id)
    except services.RETRYABLE_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            services.generation_job_fail(job_id=job_id, error=exc)
            raise
        logger.warning("generation job %s: %s; retrying", job_id, exc)
        raise self.retry(exc=exc, countdown=min(300, 15 * 2**self.request.retries)) from exc
    return job.status


@shared_task(
    bind=True,
    name="generator.tasks.predictor_refit_task",
    queue=QUEUE_GENERATION,
    acks_late=True,
    soft_time_limit=15 * 60,
    time_limit=16 * 60,
    autoretry_for=services.RETRYABLE_ERRORS,
    retry_backoff=30,
    max_retries=3,
    ignore_result=True,
)
def predictor_refit_task(self, category_id: int | None = None, min_impressions: int = 1000) -> list[str]:
    """Refit the conversion predictor (all categories, or one) on logged outcomes."""
    from experiments.models import Category

    category = Category.objects.get(pk=category_id) if category_id is not None else None
    try:
        created = services.predictor_refit(category=category, min_impressions=min_impressions)
    except services.InsufficientData as exc:
        logger.info("predictor refit skipped: %s", exc)
        return []
    return [p.label for p in created]
