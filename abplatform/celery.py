"""The Celery app and the one list of its queues; each task names its queue where it is defined.

- `default`: small housekeeping (report snapshots, the daily bandit re-weighting).
- `ingest`: storefront event batches; many cheap workers, scaled out horizontally.
- `generation`: LLM copy generation, fine-tuning and predictor refits; run these workers on GPU hosts.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abplatform.settings")

QUEUE_DEFAULT = "default"
QUEUE_INGEST = "ingest"
QUEUE_GENERATION = "generation"
QUEUES = (QUEUE_DEFAULT, QUEUE_INGEST, QUEUE_GENERATION)

app = Celery("copylift")
app.config_from_object("django.conf:settings", namespace="CELERY")


def unacked_restore_options(visibility_timeout: int) -> dict[str, int]:
    """How often a Redis consumer looks for messages whose worker died without acknowledging them,
    and how long its sweep's lock outlives a dead sweeper.

    kombu 5.7 sweeps every `unacked_restore_interval × unacked_restore_throttle` seconds (10 × 10
    by default). A message of a dead worker is redelivered once it is `visibility_timeout` old and
    a sweep runs, so the sweep period is kept to a fifth of the timeout (at most kombu's 100 s):
    with the production 1,500 s nothing changes, with a short timeout redelivery stays prompt
    instead of waiting up to 100 s for the next sweep.
    """
    period = max(1, min(100, visibility_timeout // 5))
    interval = min(10, period)
    return {
        "unacked_restore_interval": interval,
        "unacked_restore_throttle": max(1, period // interval),
        # A sweep holds a lock in Redis; a worker killed mid-sweep leaves it held until it expires
        # (kombu's default: 300 s), and no consumer restores anything meanwhile. Expire it with
        # the sweep period: a rare second concurrent sweep can deliver a job twice, which the
        # tasks tolerate (idempotent), while a 5-minute stall after a crash is not tolerable.
        "unacked_mutex_expire": max(10, period),
    }


def _configure() -> None:
    from django.conf import settings

    from abplatform.brokerfix import kombu_redis_closed_transport_is_a_connection_error

    kombu_redis_closed_transport_is_a_connection_error()

    transport_options: dict = {
        "visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT,
        **unacked_restore_options(settings.CELERY_VISIBILITY_TIMEOUT),
    }
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = str(settings.CELERY_BROKER_DIR)
        # control_folder too: kombu's default is ./control, relative to whatever the cwd is.
        transport_options.update(
            data_folder_in=folder, data_folder_out=folder, control_folder=str(settings.CELERY_BROKER_DIR / "control")
        )
    app.conf.update(
        broker_transport_options=transport_options,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE_DEFAULT,
        task_queues=[Queue(name) for name in QUEUES],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.CELERY_TASK_TIME_LIMIT,
        task_soft_time_limit=max(settings.CELERY_TASK_TIME_LIMIT - 60, 30),
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        beat_schedule={
            # Accepted event batches whose broker message was lost are sent again (ingest.outbox).
            "ingest-outbox-redeliver": {
                "task": "ingest.tasks.events_outbox_redeliver",
                "schedule": max(1, settings.INGEST_OUTBOX_SWEEP_SECONDS),
            },
            # The lift reports' daily looks: hourly, so each UTC day's last snapshot is taken at 23:55
            # (a rerun replaces the day's earlier one); experiments without snapshots get backfilled.
            "analytics-report-snapshots": {
                "task": "analytics.tasks.report_snapshots_take",
                "schedule": crontab(minute=55),
            },
            # Adaptive λ: re-weight bandit-mode experiments once a day (the service refuses more often).
            "analytics-allocations-reweight": {
                "task": "analytics.tasks.allocations_reweight",
                "schedule": crontab(minute=10, hour=3),
            },
            # The closed loop: refit the conversion predictor on the logged outcomes nightly; a refit
            # that predicts the recent holdout worse than the active model is stored but not activated.
            "generator-predictor-refit": {
                "task": "generator.tasks.predictor_refit_task",
                "schedule": crontab(minute=30, hour=2),
            },
        },
    )


_configure()
app.autodiscover_tasks()
