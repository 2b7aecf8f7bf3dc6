"""Unit ids and copy are opaque text: the API returns them as JSON strings (never sniffable as HTML)
and the admin renders them escaped. (The tracker's DOM side is tested in the browser tests.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import Product
from experiments import services
from experiments.models import VariantCopy
from ingest.models import Event, UnitTotals, WriteKey
from tests.conftest import arm_copy

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("copylift")</script>'
IMG = "<img src=x onerror=alert(1)>"
UNIT = f'"><svg onload=alert(1)>{SCRIPT}'


@pytest.fixture
def hostile(make_experiment, product):
    """A running experiment whose copy, name and product carry markup."""
    Product.objects.filter(pk=product.pk).update(title=f"Earbuds {IMG}")
    product.refresh_from_db()
    rows = [
        {"key": "control", "is_control": True, "copy": f"Plain {SCRIPT}", "weight": 1, "approved": True},
        {"key": "bold", "copy": f"Bold {IMG} copy", "weight": 1, "approved": True},
    ]
    experiment = make_experiment("xss-test", variants=rows, start=False)
    experiment.name = f"Name {SCRIPT}"
    experiment.hypothesis = IMG
    experiment.save()
    services.experiment_start(experiment=experiment, user=experiment.owner)
    experiment.refresh_from_db()
    experiment.started_at = timezone.now() - timedelta(hours=1)
    experiment.save()
    return experiment


def _json(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    # With nosniff a browser never renders JSON as HTML, whatever the strings inside hold.
    assert response["X-Content-Type-Options"] == "nosniff"
    return json.loads(response.content)


def _assert_escaped(html: str, *raw: str) -> None:
    for text in raw:
        assert text not in html, f"unescaped {text!r} in the page"


def test_api_returns_markup_as_json_strings(hostile):
    client = Client()
    assignment = _json(client.get("/api/v1/assign", {"experiment": hostile.key, "unit": UNIT}))
    copies = {v.key: arm_copy(v).copy for v in hostile.variants.all()}
    assert assignment["copy"] == copies[assignment["variant"]]
    config = _json(client.get(f"/api/v1/experiments/{hostile.key}/config"))
    assert [v["copy"] for v in config["variations"]] == [f"Plain {SCRIPT}", f"Bold {IMG} copy"]
    # Error messages that echo input are JSON too.
    missing = _json(client.get("/api/v1/assign", {"experiment": f"x{SCRIPT}", "unit": UNIT}))
    assert missing["error"]


def test_unit_ids_are_stored_verbatim_and_echoed_as_json(hostile, write_key):
    _, key = write_key
    ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    events = [{"event_id": "x1", "type": "impression", "experiment": hostile.key, "unit": UNIT, "ts": ts}]
    events.append({"event_id": SCRIPT, "type": f"<b>{IMG}</b>", "experiment": hostile.key, "unit": UNIT, "ts": ts})
    response = Client().post(
        "/api/v1/events",
        json.dumps({"events": events}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    data = _json(response)
    assert data["accepted"] == 1 and data["rejected"][0]["index"] == 1
    assert Event.objects.get(event_id="x1").unit == UNIT  # opaque: neither escaped nor altered
    assert UnitTotals.objects.get(unit=UNIT).impressions == 1


def test_admin_pages_render_copy_and_names_escaped(hostile, marketer, analyst):
    for user in (marketer, analyst):
        client = Client()
        client.force_login(user)
        pages = [
            "/admin/experiments/experiment/",
            f"/admin/experiments/experiment/{hostile.pk}/change/",
            f"/admin/experiments/experiment/{hostile.pk}/history/",
            "/admin/catalog/product/",
            f"/admin/catalog/product/{hostile.product.pk}/change/",
        ]
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            _assert_escaped(html, SCRIPT, IMG)
        change = client.get(f"/admin/experiments/experiment/{hostile.pk}/change/").content.decode()
        assert "&lt;script&gt;" in change  # the copy is there, as text


def test_admin_write_key_name_is_escaped_in_the_once_shown_message(admin_user):
    client = Client()
    client.force_login(admin_user)  # only admins create write keys
    page = client.post(
        "/admin/ingest/writekey/add/",
        {"name": IMG, "stats-TOTAL_FORMS": "0", "stats-INITIAL_FORMS": "0"},
        follow=True,
    )
    assert page.status_code == 200 and WriteKey.objects.filter(name=IMG).exists()
    html = page.content.decode()
    _assert_escaped(html, IMG)
    assert "&lt;img" in html


def test_demo_store_renders_copy_escaped(hostile):
    response = Client().get("/demo/store/", {"experiment": hostile.key})
    assert response.status_code == 200
    _assert_escaped(response.content.decode(), SCRIPT, IMG)
    assert VariantCopy.objects.filter(variant__experiment=hostile, copy__contains="<script>").exists()
