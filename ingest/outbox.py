"""The outbox of accepted event batches: nothing the API answered 202 for is lost with a broker message.

The API keeps each valid batch as a PendingBatch row before it answers, then publishes the
`events_ingest` task. The worker that stores the batch deletes the row in the same transaction
(ingest.store). A row still present at its `due_at` was lost on the way (a broker down at publish
time, or Redis killed between a worker's pop and kombu's unacked record) or is merely waiting in a
long queue: `outbox_redeliver` publishes it again, each time waiting twice as long. A batch
delivered twice is stored once (its batch id), so a re-send is always safe, only extra traffic.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from ingest.models import PendingBatch

logger = logging.getLogger(__name__)

# The wait doubles per re-send up to 2**6 × INGEST_OUTBOX_REDELIVER_SECONDS (5 h 20 min at 300 s).
_MAX_DOUBLINGS = 6
BROKER_ERRORS = (KombuOperationalError, OSError)

Publish = Callable[[dict], None]


def _publish_task(kwargs: dict) -> None:
    from ingest.tasks import events_ingest

    events_ingest.apply_async(
        kwargs=kwargs,
        retry=True,
        retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.5},
    )


def batch_accept(*, kwargs: dict, now: datetime, publish: Publish = _publish_task) -> None:
    """Keep the batch, then publish it. Either way the batch is accepted: one the broker refused is due
    at once and goes out with the next sweep."""
    wait = timedelta(seconds=settings.INGEST_OUTBOX_REDELIVER_SECONDS)
    batch_id = uuid.UUID(kwargs["batch_id"])
    PendingBatch.objects.create(batch_id=batch_id, payload=json.dumps(kwargs), accepted_at=now, due_at=now + wait)
    try:
        publish(kwargs)
    except BROKER_ERRORS as exc:  # connection refused/reset/timed out: the sweep sends it
        logger.warning("broker refused event batch %s; it waits in the outbox: %s", batch_id, exc)
        PendingBatch.objects.filter(batch_id=batch_id).update(due_at=now)


def outbox_due(now: datetime | None = None) -> int:
    return PendingBatch.objects.filter(due_at__lte=now or timezone.now()).count()


def batch_done(batch_id: str) -> None:
    """The batch is stored: called inside the storing transaction, so both happen or neither."""
    PendingBatch.objects.filter(batch_id=uuid.UUID(batch_id)).delete()


def outbox_redeliver(
    *,
    now: datetime | None = None,
    everything: bool = False,
    limit: int = 500,
    strict: bool = False,
    publish: Publish = _publish_task,
) -> int:
    """Publish again the batches due by `now` (every pending one with `everything`), oldest due first,
    at most `limit`; returns how many went.

    Rows are locked (SKIP LOCKED on PostgreSQL) so two sweepers never send the same batch at once. A
    broker error stops the sweep: what was not sent stays due for the next one; with `strict` the error
    is raised once what was sent is recorded."""
    now = now or timezone.now()
    base = settings.INGEST_OUTBOX_REDELIVER_SECONDS
    sent = 0
    refused: Exception | None = None
    with transaction.atomic():
        due = list(
            PendingBatch.objects.select_for_update(skip_locked=True)
            .filter(**({} if everything else {"due_at__lte": now}))
            .order_by("due_at")[:limit]
        )
        for batch in due:
            try:
                publish(json.loads(batch.payload))
            except BROKER_ERRORS as exc:
                logger.warning("outbox sweep stopped after %d of %d batches: broker error: %s", sent, len(due), exc)
                refused = exc
                break
            # An update, not save(): a worker (or an eager task) may have stored and deleted it already.
            attempts = batch.attempts + 1
            wait = timedelta(seconds=base * 2 ** min(attempts, _MAX_DOUBLINGS))
            PendingBatch.objects.filter(batch_id=batch.batch_id).update(attempts=attempts, due_at=now + wait)
            sent += 1
    if sent:
        logger.info("outbox: published %d unstored batch(es) again", sent)
    if refused is not None and strict:
        raise refused
    return sent
