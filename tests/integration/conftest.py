"""Real services for integration tests: PostgreSQL, a Redis broker, Celery worker processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection

from bench.common import celery_worker_command
from tests.conftest import STORAGE_ONLY_ENV, require

ROOT = Path(__file__).resolve().parents[2]


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def real_services():
    require(settings.DATABASE_IS_POSTGRES, "needs DATABASE_URL on PostgreSQL")
    broker = settings.CELERY_BROKER_URL
    require(broker.startswith("redis://") and _reachable(broker), "needs CELERY_BROKER_URL on a running Redis")
    from abplatform.celery import app

    with app.connection_for_write() as conn:  # leftovers of an earlier run must not be counted
        for queue in ("ingest", "generation", "default"):
            conn.default_channel.queue_purge(queue)
    return broker


def test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """A Celery worker in its own process group, so kill -9 takes its pool children too."""

    def __init__(self, queues: str, env: dict[str, str], concurrency: int = 2, log: Path | None = None):
        self.queues, self.env, self.concurrency = queues, env, concurrency
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            celery_worker_command(self.queues, self.concurrency, heartbeat=False),
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill9(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def worker_factory(real_services, tmp_path):
    workers: list[Worker] = []

    def make(queues: str = "ingest", concurrency: int = 2, **env_overrides: str) -> Worker:
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": real_services,
            "CELERY_VISIBILITY_TIMEOUT": "5",
            **STORAGE_ONLY_ENV,
            **env_overrides,
        }
        worker = Worker(queues, env, concurrency, log=tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker.start()

    yield make
    for worker in workers:
        worker.stop()


def wait_for(predicate, timeout: float, interval: float = 0.5, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")


def assert_stored_exactly_once(experiment, total: int, revenue_per_order: float) -> None:
    """Every event of `experiment` stored once, and the per-unit totals equal to the stored events
    (a batch applied twice, or half of one, would make them disagree)."""
    from django.db.models import Sum

    from ingest.models import Event, UnitTotals

    events = Event.objects.filter(experiment=experiment)
    assert events.count() == total
    assert events.values("event_id").distinct().count() == total
    by_type = {name: events.filter(type=i).count() for i, name in enumerate(("imp", "click", "atc", "order"))}
    totals = UnitTotals.objects.filter(experiment=experiment).aggregate(
        imp=Sum("impressions"),
        click=Sum("clicks"),
        atc=Sum("add_to_carts"),
        order=Sum("orders"),
        revenue=Sum("revenue"),
    )
    assert totals == {**by_type, "revenue": by_type["order"] * revenue_per_order}
