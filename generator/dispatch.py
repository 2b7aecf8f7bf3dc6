"""Sending the generator's Celery tasks, once the rows they read are committed.

Services enqueue through these functions, never by importing `generator.tasks`: the tasks
import the services, so the tasks are imported here late, inside each function, and no module
that a service imports pulls in Celery task definitions (or an import cycle) at load time.
"""

from __future__ import annotations

from django.db import transaction


def generation_job_enqueue(*, job_id: int) -> None:
    from generator.tasks import generation_job_execute

    transaction.on_commit(lambda: generation_job_execute.delay(job_id))


def adapter_train_enqueue(*, adapter_id: int, evaluate: bool) -> None:
    from generator.tasks import adapter_train_task

    transaction.on_commit(lambda: adapter_train_task.delay(adapter_id, evaluate))


def adapter_evaluate_enqueue(*, adapter_id: int) -> None:
    from generator.tasks import adapter_evaluate_task

    transaction.on_commit(lambda: adapter_evaluate_task.delay(adapter_id))


def predictor_refit_enqueue(*, category_id: int | None, min_impressions: int) -> None:
    from generator.tasks import predictor_refit_task

    transaction.on_commit(lambda: predictor_refit_task.delay(category_id, min_impressions))
