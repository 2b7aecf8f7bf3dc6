"""Found by the schemathesis fuzz: an order with a finite but huge revenue (1e200) was stored,
and every later report of the experiment was a 500 (PostgreSQL float8 overflow while summing
squares of unit revenue). The validator now bounds one order's revenue, naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ingest.accept import MAX_REVENUE
from ingest.models import Event
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _order(i: int, revenue: float, experiment: str) -> dict:
    ts = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    return {
        "event_id": f"rev-{i}",
        "type": "order",
        "experiment": experiment,
        "unit": f"u{i}",
        "ts": ts,
        "revenue": revenue,
    }


@pytest.mark.parametrize("revenue", [1e200, 1.7e308, MAX_REVENUE * 1.0001])
def test_huge_revenue_is_refused_naming_the_field_and_reports_still_work(
    revenue, running_experiment, write_key, marketer, settings
):
    # The absolute bound, with the plausibility rules (price cap, orders need a click) off: the
    # largest storable revenue must still leave the report computable.
    settings.INGEST_REVENUE_CAP_FACTOR = 0
    settings.INGEST_ORDERS_NEED_CLICK = False
    _, key = write_key
    body = {"events": [_order(1, revenue, running_experiment.key), _order(2, MAX_REVENUE, running_experiment.key)]}
    response = client_for(None).post(
        "/api/v1/events", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["accepted"] == 1  # the largest allowed revenue is taken
    assert [(r["index"], sorted(r["errors"])) for r in data["rejected"]] == [(0, ["revenue"])]
    assert not Event.objects.filter(event_id="rev-1").exists()
    report = client_for(marketer).get(f"/api/v1/experiments/{running_experiment.key}/report")
    assert report.status_code == 200, report.content[:300]
