"""Regressions the fuzzer found, pinned as plain tests (they must hold on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from ingest.models import Event

pytestmark = pytest.mark.django_db


def test_unrouted_api_urls_answer_json_404_and_pages_html(marketer):
    client = Client()
    for url in ("/api/v1/experiments/not%20a%20slug", "/api/v1/generation-jobs/1.5", "/api/v1/nothing"):
        response = client.get(url)
        assert response.status_code == 404 and response.json() == {"error": "not found"}, url
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_nul_and_non_slug_keys_are_404_not_500(running_experiment, marketer_token):
    client = Client()
    assert client.get("/api/v1/assign", {"experiment": "pulse\x00copy", "unit": "u"}).status_code == 404
    patch = client.patch(
        f"/api/v1/experiments/{running_experiment.key}",
        json.dumps({"product": "ELEC\x00T01"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {marketer_token}",
    )
    assert patch.status_code in (400, 409) and "error" in patch.json()


def test_list_filter_refuses_an_unknown_status_by_name(running_experiment, marketer_token):
    auth = {"HTTP_AUTHORIZATION": f"Token {marketer_token}"}
    assert Client().get("/api/v1/experiments", {"status": "running"}, **auth).json()[0]["key"] == "pulse-copy"
    response = Client().get("/api/v1/experiments", {"status": "run\x00ning"}, **auth)
    assert response.status_code == 400 and "status" in response.json()["fields"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("unit", "a\x00b"), ("event_id", "e\x00"), ("unit", "\ud800"), ("ts", "0001-01-01T00:00:00+01:00")],
)
def test_unstorable_events_are_refused_by_field_and_not_stored(running_experiment, write_key, field, value):
    event = {"event_id": "e1", "type": "click", "experiment": "pulse-copy", "unit": "u1"}
    event["ts"] = datetime.now(UTC).isoformat()
    event[field] = value
    response = Client().post(
        "/api/v1/events",
        json.dumps({"events": [event]}),  # ensure_ascii: a lone surrogate travels as \\ud800
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {write_key[1]}",
    )
    assert response.status_code == 202
    assert response.json()["rejected"][0]["errors"].keys() == {field}
    assert not Event.objects.exists()
