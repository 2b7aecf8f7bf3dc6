"""100,000 events over HTTP, a worker killed with SIGKILL mid-stream: every event stored once."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ingest.models import Event, IngestBatch, IngestStats
from simulator.storefront import StorefrontClient
from tests.integration.conftest import assert_stored_exactly_once, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOTAL = 100_000
BATCH = 500
DUPLICATE_BATCHES = 10
TYPES = ("impression", "impression", "impression", "click", "add_to_cart", "order")


def _batches(experiment_key: str) -> list[list[dict]]:
    rng = random.Random(7)
    ts = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    events = []
    for i in range(TOTAL):
        kind = TYPES[i % len(TYPES)]
        event = {
            "event_id": f"k-{i}",
            "type": kind,
            "experiment": experiment_key,
            "unit": f"v{rng.randrange(20_000)}",
            "ts": ts,
        }
        if kind == "order":
            event["revenue"] = 10.0
        events.append(event)
    return [events[i : i + BATCH] for i in range(0, TOTAL, BATCH)]


def test_kill_dash_nine_mid_stream_loses_and_doubles_nothing(make_experiment, write_key, live_server, worker_factory):
    experiment = make_experiment(start=True)
    experiment.started_at = timezone.now() - timedelta(hours=1)
    experiment.save()
    write_key_obj, key = write_key
    batches = _batches(experiment.key)
    resent = random.Random(1).sample(batches, DUPLICATE_BATCHES)  # posted twice on purpose
    plan = batches[: len(batches) // 2] + resent[:5] + batches[len(batches) // 2 :] + resent[5:]

    worker = worker_factory("ingest")
    local = threading.local()

    def post(batch: list[dict]) -> int:
        if not hasattr(local, "client"):
            local.client = StorefrontClient(live_server.url, key)
        return local.client.post_events(batch).accepted

    with ThreadPoolExecutor(max_workers=4) as pool:
        first_half = list(pool.map(post, plan[: len(plan) // 2]))
        # Kill the worker while it is busy with the queue: some batches are mid-transaction or
        # delivered-but-unacknowledged, and must come back through redelivery.
        wait_for(lambda: Event.objects.count() > 5_000, timeout=120, message="the worker to start storing")
        worker.kill9()
        killed_at = Event.objects.count()
        second_half = list(pool.map(post, plan[len(plan) // 2 :]))
    assert sum(first_half) + sum(second_half) == len(plan) * BATCH  # every posted event was accepted (202)
    worker_factory("ingest")

    wait_for(
        lambda: IngestBatch.objects.count() == len(plan),
        timeout=240,
        interval=1,
        message=f"all {len(plan)} batches to be processed (killed at {killed_at} events)",
    )
    assert killed_at < TOTAL
    assert Event.objects.count() == TOTAL
    assert_stored_exactly_once(experiment, TOTAL, revenue_per_order=10.0)
    stats = IngestStats.objects.get(write_key=write_key_obj, experiment=experiment)
    assert (stats.queued, stats.stored, stats.duplicates, stats.rejected) == (
        len(plan) * BATCH,
        TOTAL,
        DUPLICATE_BATCHES * BATCH,
        0,
    )
