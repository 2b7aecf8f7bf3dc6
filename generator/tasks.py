"""Celery tasks of the generator: thin wrappers that take ids and call one service each.

All run on the `generation` queue (GPU hosts): the refit recomputes embedding features too.
Services send them through `generator.dispatch`; this module imports the services, never the
other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task
from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure
from celery.utils.log import get_task_logger

from abplatform.celery import QUEUE_GENERATION
from generator import jobs, predictor_versions
from generator.predictor import InsufficientData

logger = get_task_logger(__name__)

# CPU generation of 3 λ × 8 candidates takes about a minute; 20 minutes leaves room for the
# one-time GGUF conversion and a slow, shared machine. The hard limit kills a stuck worker.
GENERATION_SOFT_LIMIT_S = 20 * 60
GENERATION_HARD_LIMIT_S = GENERATION_SOFT_LIMIT_S + 60
# CPU fine-tuning runs for minutes to hours; a GPU worker does the same run in minutes.
ADAPTER_SOFT_LIMIT_S = 4 * 60 * 60
ADAPTER_HARD_LIMIT_S = ADAPTER_SOFT_LIMIT_S + 120
# Retried with backoff when the database was briefly unavailable (jobs.RETRYABLE_ERRORS).
DATABASE_RETRY: dict[str, Any] = {"autoretry_for": jobs.RETRYABLE_ERRORS, "retry_backoff": 30}


def generation_task(*, soft_time_limit: int, time_limit: int, acks_late: bool, **options: Any) -> Callable:
    """`shared_task` with what every task here shares: its name under generator.tasks, the
    `generation` queue, a bound task, three retries at most and no stored result."""

    def decorate(function: Callable) -> Any:
        return shared_task(
            bind=True,
            name=f"generator.tasks.{function.__name__}",
            queue=QUEUE_GENERATION,
            acks_late=acks_late,
            soft_time_limit=soft_time_limit,
            time_limit=time_limit,
            max_retries=3,
            ignore_result=True,
            **options,
        )(function)

    return decorate


@generation_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=GENERATION_SOFT_LIMIT_S,
    time_limit=GENERATION_HARD_LIMIT_S,
)
def generation_job_execute(self, job_id: int) -> str:
    """Run generation job `job_id`; retried only when the database was briefly unavailable."""
    try:
        # A run stops at half the soft limit and re-queues the rest: a catalog job of thousands of
        # products is many short runs, each resumable, never one run past its time limit.
        job = jobs.generation_job_run(job_id=job_id, time_budget_s=GENERATION_SOFT_LIMIT_S / 2)
    except jobs.RETRYABLE_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            jobs.generation_job_fail(job_id=job_id, error=exc)
            raise
        logger.warning("generation job %s: %s; retrying", job_id, exc)
        raise self.retry(exc=exc, countdown=min(300, 15 * 2**self.request.retries)) from exc
    return job.status


@task_failure.connect
def _generation_job_failed(sender=None, exception=None, args=None, kwargs=None, **_: object) -> None:
    """A generation task that ended in failure must not leave its job "running" forever.

    The hard time limit kills the pool child (a job hung where the soft limit's exception cannot
    reach it, e.g. inside a CUDA call): Celery then acknowledges the message and reports the
    failure from the worker's main process, and nothing in generation_job_run got to record it.
    Requeued deliveries (reject_on_worker_lost) send no failure, so they are not touched here.
    """
    if getattr(sender, "name", None) != generation_job_execute.name:
        return
    job_id = args[0] if args else (kwargs or {}).get("job_id")
    if not isinstance(job_id, int):
        return
    if isinstance(exception, TimeLimitExceeded):
        limit = exception.args[0] if exception.args else "?"
        error = f"stopped by the hard time limit ({limit} s): the worker was killed mid-job"
    else:
        error = f"{type(exception).__name__}: {exception}"
    from generator.models import GenerationJob

    if GenerationJob.objects.filter(pk=job_id).exclude(status__in=jobs.FINISHED).exists():
        logger.error("generation job %s: %s", job_id, error)
        jobs.generation_job_fail(job_id=job_id, error=error)


@generation_task(acks_late=True, soft_time_limit=15 * 60, time_limit=16 * 60, **DATABASE_RETRY)
def predictor_refit_task(self, category_id: int | None = None, min_impressions: int = 1000) -> list[str]:
    """Refit the conversion predictor on logged outcomes: all categories together and each one, or one."""
    from catalog.models import Category

    try:
        if category_id is None:
            created = predictor_versions.predictor_refit_all(min_impressions=min_impressions)
        else:
            category = Category.objects.get(pk=category_id)
            created = predictor_versions.predictor_refit(category=category, min_impressions=min_impressions)
    except InsufficientData as exc:
        logger.info("predictor refit skipped: %s", exc)
        return []
    return [p.label for p in created]


@generation_task(
    # Acknowledged on receipt, unlike the other tasks: a run of hours outlives any sane Redis
    # visibility timeout, and an unacknowledged message would be handed to a second worker that
    # trains the same adapter at the same time. A run whose worker died stays resumable from its
    # last checkpoint (`finetune_generator --resume`).
    acks_late=False,
    soft_time_limit=ADAPTER_SOFT_LIMIT_S,
    time_limit=ADAPTER_HARD_LIMIT_S,
    **DATABASE_RETRY,
)
def adapter_train_task(self, adapter_id: int, evaluate: bool = True) -> str:
    """Train adapter `adapter_id`, then evaluate it against the base model.

    Always resumes from the run's checkpoint when there is one, so sending the task again for a
    run whose worker died continues it instead of starting over (a fresh run has no checkpoint).
    """
    from generator import adapters

    adapter = adapters.adapter_train(adapter_id=adapter_id, resume=True)
    if evaluate and adapter.status == adapter.Status.READY:
        try:
            adapters.adapter_evaluate(adapter=adapter)
        except adapters.LifecycleError as exc:
            logger.info("adapter %s not evaluated: %s", adapter_id, exc)
    return adapter.status


# Up to an hour, longer than the visibility timeout: acknowledged on receipt, see adapter_train_task.
@generation_task(acks_late=False, soft_time_limit=60 * 60, time_limit=61 * 60, **DATABASE_RETRY)
def adapter_evaluate_task(self, adapter_id: int) -> bool:
    """Compare adapter `adapter_id` with the base model and store the comparison on it."""
    from generator import adapters
    from generator.models import Adapter

    comparison = adapters.adapter_evaluate(adapter=Adapter.objects.select_related("category").get(pk=adapter_id))
    return bool(comparison["beats_base"])
