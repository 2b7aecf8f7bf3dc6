"""A write key is shown once and then exists only as a hash: never in a log line, a queued task,
a database column or a stored session, whatever the request's outcome (202, 401, 429, 503)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.test import Client
from kombu.exceptions import OperationalError as KombuOperationalError

from ingest.models import WriteKey
from ingest.tasks import events_ingest
from ingest.writekeys import write_key_revoke

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(r"cl_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {text} {record.__dict__!r}")


@pytest.fixture
def all_logs():
    """Every log record of every logger, at DEBUG, with its extra attributes."""
    handler = _Collect()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def _events(experiment_key: str, n: int = 2) -> list[dict]:
    ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    return [
        {"event_id": f"s-{i}", "type": "impression", "experiment": experiment_key, "unit": f"u{i}", "ts": ts}
        for i in range(n)
    ]


def _post(client: Client, body: dict, key: str | None = None):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post("/api/v1/events", json.dumps(body), content_type="application/json", **extra)


def _every_stored_value() -> str:
    """All rows of all tables, as text, plus the decoded contents of stored sessions."""
    chunks = []
    for model in apps.get_models():
        columns = [f.attname for f in model._meta.concrete_fields]
        chunks.extend(repr(row) for row in model.objects.values_list(*columns))
    chunks.extend(repr(session.get_decoded()) for session in Session.objects.all())
    return "\n".join(chunks)


def test_write_key_never_in_logs_tasks_or_database(running_experiment, admin_user, all_logs, monkeypatch, settings):
    # Created in the admin, as an admin does (only admins manage keys): the key is shown once, in the message.
    admin = Client()
    admin.force_login(admin_user)
    page = admin.post(
        "/admin/ingest/writekey/add/",
        {"name": "shop", "stats-TOTAL_FORMS": "0", "stats-INITIAL_FORMS": "0"},
        follow=True,
    )
    shown = KEY_RE.findall(page.content.decode())
    assert len(shown) == 1, "the new key is shown exactly once"
    key = shown[0]
    secret = key.split("_", 2)[2]  # the secret itself may contain "_"

    queued: list[dict] = []
    original = events_ingest.apply_async

    def spy(*args, **kwargs):
        queued.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(events_ingest, "apply_async", spy)
    storefront = Client()
    body = {"events": _events(running_experiment.key)}

    assert _post(storefront, body, key).status_code == 202  # in the header
    assert _post(storefront, {**body, "write_key": key}).status_code == 202  # in the body (sendBeacon)
    assert _post(storefront, body, key + "x").status_code == 401  # a near miss
    assert _post(storefront, {**body, "write_key": key[:-1]}).status_code == 401

    settings.INGEST_RATE_LIMIT_PER_MINUTE = 1
    _post(storefront, body, key)
    limited = _post(storefront, body, key)
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 0

    def broker_down(*args, **kwargs):
        raise KombuOperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(events_ingest, "apply_async", broker_down)
    down = _post(storefront, body, key)
    assert down.status_code == 202, (
        "a broker outage is no refusal: the batch waits in the outbox (its row is read below)"
    )

    write_key_revoke(write_key=WriteKey.objects.get(name="shop"))
    assert _post(storefront, body, key).status_code == 401  # revoked

    assert queued, "the spy saw the accepted batches"
    assert all(key not in json.dumps(kwargs) and secret not in json.dumps(kwargs) for kwargs in queued)
    assert all_logs, "logging was captured"
    leaked = [line for line in all_logs if secret in line]
    assert not leaked, leaked[:3]
    stored = _every_stored_value()
    assert secret not in stored and key not in stored
    assert WriteKey.objects.get(name="shop").key_hash in stored  # only its hash is kept


def test_write_key_create_command_prints_but_does_not_store(all_logs, capsys, db):
    from django.core.management import call_command

    call_command("create_write_key", "cli shop")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert KEY_RE.fullmatch(key)
    secret = key.split("_", 2)[2]  # the secret itself may contain "_"
    assert secret not in _every_stored_value()
    assert not [line for line in all_logs if secret in line]
