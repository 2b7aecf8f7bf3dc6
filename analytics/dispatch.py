"""Enqueueing the analytics tasks, after the current transaction commits.

Services call these instead of importing `analytics.tasks`: the tasks import the services, so
the tasks module is imported late, when a message is actually sent, and the two modules never
import each other at load time.
"""

from __future__ import annotations

from django.db import transaction


def snapshot_backfill_enqueue(*, experiment_id: int) -> None:
    """Queue the one-off backfill of an experiment's daily snapshots from its raw events."""

    def send() -> None:
        from analytics.tasks import report_snapshot_backfill

        report_snapshot_backfill.delay(experiment_id)

    transaction.on_commit(send)
