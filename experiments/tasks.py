"""Celery tasks of the experiments app: the daily bandit re-weighting (queue `default`)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from abplatform.celery import QUEUE_DEFAULT


@shared_task(
    name="experiments.tasks.allocations_reweight",
    queue=QUEUE_DEFAULT,
    acks_late=True,
    time_limit=600,
    soft_time_limit=540,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=30,
    max_retries=3,
)
def allocations_reweight() -> dict[str, int]:
    """Beat: re-weight the adaptive slice of running bandit-mode experiments (each at most daily)."""
    from experiments.adaptive import allocations_reweight_running

    return allocations_reweight_running()
