"""The outbox of accepted batches (ingest.outbox): a 202 is never lost with a broker message.

The API keeps each batch in PendingBatch before it answers; the storing transaction deletes it; the
sweep publishes again what is still there when due. Here the broker is refused for real (a write URL
nobody listens on) or a message is dropped on purpose; the worker is eager (runs in-process)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from ingest.models import Event, IngestBatch, IngestStats, PendingBatch
from ingest.outbox import outbox_redeliver
from ingest.tasks import events_ingest, events_outbox_redeliver

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)


@pytest.fixture
def running(make_experiment):
    return make_experiment(started_ago=timedelta(days=2))


def _post(key: str, events: list[dict]):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client.post("/api/v1/events", json.dumps({"events": events}), content_type="application/json")


def _events(prefix: str, n: int) -> list[dict]:
    ts = (NOW - timedelta(hours=1)).isoformat()
    return [
        {"event_id": f"{prefix}-{i}", "type": "impression", "experiment": "pulse-copy", "unit": f"u-{i}", "ts": ts}
        for i in range(n)
    ]


@pytest.fixture
def broker():
    """Publishing really fails while refused: the app publishes to a Redis port nobody listens on
    (not eager). broker_write_url, not broker_url: Celery lets a CELERY_BROKER_URL in the environment
    (as in CI) win over app.conf.broker_url, but a configured write URL wins over both for publishing."""
    from abplatform.celery import app

    saved = app.conf.task_always_eager, app.conf.broker_write_url

    class Broker:
        @staticmethod
        def refuse() -> None:
            app.conf.task_always_eager, app.conf.broker_write_url = False, "redis://127.0.0.1:1/0"
            app._pool = app.amqp._producer_pool = None

        @staticmethod
        def restore() -> None:
            app.conf.task_always_eager, app.conf.broker_write_url = saved
            app._pool = app.amqp._producer_pool = None

    yield Broker
    Broker.restore()


def test_broker_down_still_accepts_and_the_sweep_stores_it_once_the_broker_is_back(running, write_key, broker):
    write_key_obj, key = write_key
    broker.refuse()
    response = _post(key, _events("down", 3))
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 3, "rejected": []}
    pending = PendingBatch.objects.get()
    assert pending.due_at <= timezone.now(), "a batch the broker refused is due at once"
    assert Event.objects.count() == 0
    assert outbox_redeliver() == 0, "the broker is still down: nothing went, nothing was lost"
    assert PendingBatch.objects.filter(attempts=0).count() == 1

    broker.restore()  # eager again: the sweep's publish stores the batch in-process
    assert outbox_redeliver() == 1
    assert Event.objects.filter(event_id__startswith="down-").count() == 3
    assert IngestStats.objects.get(write_key=write_key_obj, experiment=running).stored == 3
    assert not PendingBatch.objects.exists(), "stored batches leave the outbox"


def test_a_lost_message_is_sent_again_when_due_and_stored_exactly_once(running, write_key, monkeypatch):
    write_key_obj, key = write_key
    lost: list[dict] = []
    monkeypatch.setattr(events_ingest, "apply_async", lambda kwargs, **options: lost.append(kwargs))
    assert _post(key, _events("lost", 5)).status_code == 202
    assert len(lost) == 1 and Event.objects.count() == 0
    pending = PendingBatch.objects.get()
    monkeypatch.undo()

    assert outbox_redeliver() == 0, "not due yet: a slow queue is not flooded with copies"
    due = pending.due_at + timedelta(seconds=1)
    assert outbox_redeliver(now=due) == 1
    assert Event.objects.filter(event_id__startswith="lost-").count() == 5
    assert not PendingBatch.objects.exists()

    # The lost message turns up after all (a re-delivery): the batch id makes it change nothing.
    events_ingest.apply(kwargs=lost[0])
    assert Event.objects.count() == 5
    assert IngestBatch.objects.count() == 1
    assert IngestStats.objects.get(write_key=write_key_obj, experiment=running).stored == 5


def test_each_resend_waits_twice_as_long(running, write_key, monkeypatch, settings):
    settings.INGEST_OUTBOX_REDELIVER_SECONDS = 60
    _, key = write_key
    sent: list[dict] = []
    monkeypatch.setattr(events_ingest, "apply_async", lambda kwargs, **options: sent.append(kwargs))
    assert _post(key, _events("slow", 1)).status_code == 202
    accepted_due = PendingBatch.objects.get().due_at
    now = accepted_due
    waits = []
    for _ in range(3):
        assert outbox_redeliver(now=now) == 1
        pending = PendingBatch.objects.get()
        waits.append((pending.due_at - now).total_seconds())
        assert outbox_redeliver(now=pending.due_at - timedelta(seconds=1)) == 0
        now = pending.due_at
    assert waits == [120, 240, 480]
    assert PendingBatch.objects.get().attempts == 3
    assert len(sent) == 4 and all(kwargs == sent[0] for kwargs in sent), "the same batch, the same id"


def test_a_sweep_stops_at_a_broker_error_and_keeps_the_rest_due(running, write_key, monkeypatch):
    from kombu.exceptions import OperationalError

    _, key = write_key
    monkeypatch.setattr(events_ingest, "apply_async", lambda kwargs, **options: None)
    for i in range(3):
        assert _post(key, _events(f"b{i}", 1)).status_code == 202
    later = timezone.now() + timedelta(days=1)
    calls = []

    def flaky(kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise OperationalError("connection refused")

    assert outbox_redeliver(now=later, publish=flaky) == 1
    assert PendingBatch.objects.filter(attempts=1).count() == 1
    assert PendingBatch.objects.filter(attempts=0, due_at__lte=later).count() == 2


def test_the_beat_schedule_sweeps_the_outbox():
    from abplatform.celery import app

    entry = app.conf.beat_schedule["ingest-outbox-redeliver"]
    assert entry["task"] == events_outbox_redeliver.name
    assert app.tasks[entry["task"]].queue == "ingest"


def test_outbox_shows_in_the_admin(running, write_key, admin_client, monkeypatch):
    _, key = write_key
    monkeypatch.setattr(events_ingest, "apply_async", lambda kwargs, **options: None)
    assert _post(key, _events("adm", 1)).status_code == 202
    page = admin_client.get("/admin/ingest/pendingbatch/")
    assert page.status_code == 200
    batch_id = PendingBatch.objects.get().batch_id
    assert str(batch_id) in page.content.decode()
    detail = admin_client.get(f"/admin/ingest/pendingbatch/{batch_id}/change/")
    assert detail.status_code == 200 and "adm-0" not in detail.content.decode(), "the events are not shown"


def test_redeliver_command_sends_what_is_due(running, write_key, monkeypatch, capsys):
    _, key = write_key
    monkeypatch.setattr(events_ingest, "apply_async", lambda kwargs, **options: None)
    assert _post(key, _events("cmd", 2)).status_code == 202
    monkeypatch.undo()
    call_command("events_outbox_redeliver")
    assert "0 batch(es) sent again" in capsys.readouterr().out
    call_command("events_outbox_redeliver", "--all")
    assert "1 batch(es) sent again" in capsys.readouterr().out
    assert Event.objects.filter(event_id__startswith="cmd-").count() == 2
    assert PendingBatch.objects.count() == 0


def test_redeliver_command_fails_naming_the_broker_when_it_refuses_part_way(running, write_key, monkeypatch):
    from django.core.management.base import CommandError
    from kombu.exceptions import OperationalError

    _, key = write_key
    monkeypatch.setattr(events_ingest, "apply_async", lambda kwargs, **options: None)  # both messages lost
    for i in range(2):
        assert _post(key, _events(f"part{i}", 1)).status_code == 202
    resent: list[dict] = []

    def one_then_refused(kwargs, **options):
        if resent:
            raise OperationalError("connection refused")
        resent.append(kwargs)

    monkeypatch.setattr(events_ingest, "apply_async", one_then_refused)
    with pytest.raises(CommandError, match=r"broker refused: connection refused; 2 batch\(es\) stay in the outbox"):
        call_command("events_outbox_redeliver", "--all")
    assert len(resent) == 1
    assert PendingBatch.objects.filter(attempts=1).count() == 1, "what went before the refusal is recorded"
    assert PendingBatch.objects.filter(attempts=0).count() == 1


def test_redeliver_command_refuses_a_limit_below_one(running):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--limit must be at least 1"):
        call_command("events_outbox_redeliver", "--limit", "0")
