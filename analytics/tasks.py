"""Celery tasks of the analytics app (queue `default`): snapshots and the bandit re-weighting; thin wrappers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task

from abplatform.celery import QUEUE_DEFAULT
from abplatform.errors import DATABASE_RETRYABLE
from analytics.snapshots import snapshot_backfill, snapshots_take_running
from experiments.models import Experiment

RETRYABLE = DATABASE_RETRYABLE


def _task(name: str, *, minutes: int, retry_backoff: int) -> Callable[[Callable[..., Any]], Any]:
    """A task on the default queue, acknowledged late, retried on database outages, result ignored;
    `minutes` is its soft time limit (the hard one is a minute later)."""
    return shared_task(
        name=f"analytics.tasks.{name}",
        queue=QUEUE_DEFAULT,
        acks_late=True,
        autoretry_for=RETRYABLE,
        retry_backoff=retry_backoff,
        max_retries=3,
        soft_time_limit=minutes * 60,
        time_limit=(minutes + 1) * 60,
        ignore_result=True,
    )


def _experiment(experiment_id: int) -> Experiment | None:
    return Experiment.objects.filter(pk=experiment_id).first()  # None: deleted since it was queued


@_task("report_snapshots_take", minutes=25, retry_backoff=30)
def report_snapshots_take() -> dict[str, int]:
    """Beat: today's snapshot of every running experiment (idempotent: a rerun replaces today's)."""
    return snapshots_take_running()


# One scan of the experiment's raw events: minutes for tens of millions of events.
@_task("report_snapshot_backfill", minutes=25, retry_backoff=30)
def report_snapshot_backfill(experiment_id: int) -> int:
    """Daily snapshots from the raw events for the days an experiment has none of."""
    experiment = _experiment(experiment_id)
    return 0 if experiment is None else snapshot_backfill(experiment=experiment)


@_task("allocations_reweight", minutes=9, retry_backoff=30)
def allocations_reweight() -> dict[str, int]:
    """Beat: re-weight the adaptive slice of running bandit-mode experiments (each at most daily)."""
    from analytics.allocation import allocations_reweight_running

    return allocations_reweight_running()
