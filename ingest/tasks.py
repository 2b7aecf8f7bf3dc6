"""Celery tasks of ingestion (queue `ingest`): store one accepted batch of storefront events; re-send the
batches of the outbox that were not stored in time (ingest.outbox)."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.db import close_old_connections, connection

from abplatform.celery import QUEUE_INGEST
from abplatform.errors import DATABASE_RETRYABLE
from ingest.outbox import outbox_redeliver
from ingest.store import events_store


@shared_task(
    bind=True,
    queue=QUEUE_INGEST,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=20,
    time_limit=120,
    soft_time_limit=90,
)
def events_ingest(
    self,
    *,
    batch_id: str,
    rows: list[list],
    write_key_id: int | None,
    rejected: dict[str, int],
    received_at: str,
    attributes: list[list] | None = None,
) -> dict:
    """Store a batch; retried only on transient database errors (lost connection, deadlock)."""
    try:
        result = events_store(
            batch_id=batch_id,
            rows=rows,
            write_key_id=write_key_id,
            rejected=rejected,
            received_at=datetime.fromisoformat(received_at),
            attributes=attributes,
        )
    except DATABASE_RETRYABLE as exc:
        # The connection may be broken (e.g. PostgreSQL restarted): drop it so the retry reconnects.
        connection.close()
        close_old_connections()
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc
    return {"stored": result.stored, "duplicates": result.duplicates, "replay": result.already_processed}


@shared_task(queue=QUEUE_INGEST, time_limit=120, soft_time_limit=90)
def events_outbox_redeliver() -> int:
    """Beat's sweep of the outbox: publish again the accepted batches not stored by their due time."""
    return outbox_redeliver()
