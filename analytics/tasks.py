"""Celery tasks of the analytics app (queue `default`, routed in abplatform/celery.py); thin wrappers."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from abplatform.celery import QUEUE_DEFAULT
from analytics import services
from experiments.models import Experiment

RETRYABLE = (OperationalError, InterfaceError)


@shared_task(
    name="analytics.tasks.report_snapshots_take",
    queue=QUEUE_DEFAULT,
    acks_late=True,
    autoretry_for=RETRYABLE,
    retry_backoff=30,
    max_retries=3,
    soft_time_limit=25 * 60,
    time_limit=26 * 60,
    ignore_result=True,
)
def report_snapshots_take() -> dict[str, int]:
    """Beat: today's snapshot of every running experiment (idempotent: a rerun replaces today's)."""
    return services.snapshots_take_running()


@shared_task(
    name="analytics.tasks.report_snapshot_take",
    queue=QUEUE_DEFAULT,
    acks_late=True,
    autoretry_for=RETRYABLE,
    retry_backoff=10,
    max_retries=3,
    soft_time_limit=5 * 60,
    time_limit=6 * 60,
    ignore_result=True,
)
def report_snapshot_take(experiment_id: int) -> str | None:
    """On demand: one experiment's snapshot now."""
    experiment = Experiment.objects.filter(pk=experiment_id).first()
    if experiment is None:
        return None  # deleted since it was queued
    return services.snapshot_take(experiment=experiment).day.isoformat()


@shared_task(
    name="analytics.tasks.report_snapshot_backfill",
    queue=QUEUE_DEFAULT,
    acks_late=True,
    autoretry_for=RETRYABLE,
    retry_backoff=30,
    max_retries=3,
    # One scan of the experiment's raw events: minutes for tens of millions of events.
    soft_time_limit=25 * 60,
    time_limit=26 * 60,
    ignore_result=True,
)
def report_snapshot_backfill(experiment_id: int) -> int:
    """Daily snapshots from the raw events for the days an experiment has none of."""
    experiment = Experiment.objects.filter(pk=experiment_id).first()
    if experiment is None:
        return 0
    return services.snapshot_backfill(experiment=experiment)
