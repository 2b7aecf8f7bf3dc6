"""Unit attributes on storefront events (the report's segments): validation, and storage once per unit."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ingest.models import Event, UnitAttributes
from tests.ingest.test_events import _client, _event, _post, running  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

GOOD = {"device": "mobile", "visitor": "new", "source": "search", "country": "DE"}


def test_attributes_are_stored_once_per_unit_and_experiment(running, write_key):  # noqa: F811
    _, key = write_key
    events = [
        _event(0, unit="alice", attributes=GOOD),
        _event(1, "click", unit="alice", attributes={**GOOD, "device": "desktop"}),  # the first one stands
        _event(2, unit="bob", attributes={"country": "FR"}),  # any subset
        _event(3, unit="carol"),  # none: no row
    ]
    response = _post(_client(key), events)
    assert response.status_code == 202 and response.json() == {"accepted": 4, "rejected": []}
    assert Event.objects.count() == 4
    rows = {a.unit: a for a in UnitAttributes.objects.all()}
    assert set(rows) == {"alice", "bob"}
    alice = rows["alice"]
    assert (alice.device, alice.visitor, alice.source, alice.country) == ("mobile", "new", "search", "DE")
    assert (rows["bob"].device, rows["bob"].country) == ("", "FR")
    _post(_client(key), [_event(4, unit="alice", attributes={"device": "tablet"})])
    assert UnitAttributes.objects.get(unit="alice").device == "mobile"
    assert rows["alice"].prior_orders is None


def test_prior_orders_are_kept_with_the_earliest_events_attributes(running, write_key):  # noqa: F811
    _, key = write_key
    late = _event(0, unit="dave", attributes={"prior_orders": 9})
    first = _event(1, unit="dave", attributes={"device": "mobile", "prior_orders": 7})
    first["ts"] = (datetime.fromisoformat(late["ts"]) - timedelta(minutes=5)).isoformat()
    response = _post(_client(key), [late, first, _event(2, unit="erin", attributes={"prior_orders": 0})])
    assert response.status_code == 202 and response.json()["accepted"] == 3
    rows = {a.unit: a for a in UnitAttributes.objects.all()}
    # Within a batch the earliest event's attributes stand, whatever the order they came in.
    assert (rows["dave"].prior_orders, rows["dave"].device, rows["erin"].prior_orders) == (7, "mobile", 0)
    assert rows["dave"].sent_at == datetime.fromisoformat(first["ts"])


@pytest.mark.parametrize(
    ("attributes", "field", "reason"),
    [
        ("mobile", "attributes", "must be an object"),
        ({"device": "phone"}, "attributes.device", "one of desktop, mobile, tablet, other"),
        ({"device": 3}, "attributes.device", "one of desktop"),
        ({"visitor": "old"}, "attributes.visitor", "one of new, returning"),
        ({"source": "tv"}, "attributes.source", "one of direct, search, social, email, paid, referral, other"),
        ({"country": "de"}, "attributes.country", "ISO 3166-1 alpha-2"),
        ({"country": "DEU"}, "attributes.country", "ISO 3166-1 alpha-2"),
        (
            {"plan": "gold"},
            "attributes.plan",
            "unknown attribute; known: device, visitor, source, country, prior_orders",
        ),
        ({"prior_orders": -1}, "attributes.prior_orders", "whole number from 0 to 10,000"),
        ({"prior_orders": 10_001}, "attributes.prior_orders", "whole number from 0 to 10,000"),
        ({"prior_orders": "3"}, "attributes.prior_orders", "whole number"),
        ({"prior_orders": 2.5}, "attributes.prior_orders", "whole number"),
        ({"prior_orders": True}, "attributes.prior_orders", "whole number"),
    ],
)
def test_a_bad_attribute_refuses_the_event_naming_field_and_reason(running, write_key, attributes, field, reason):  # noqa: F811
    _, key = write_key
    response = _post(_client(key), [_event(0), _event(1, attributes=attributes)])
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1 and body["rejected"][0]["index"] == 1
    assert reason in body["rejected"][0]["errors"][field]
    assert not UnitAttributes.objects.exists()


def test_import_events_keeps_attributes_too(running, tmp_path):  # noqa: F811
    import json

    from django.core.management import call_command

    path = tmp_path / "events.jsonl"
    path.write_text(
        "\n".join(json.dumps(e) for e in (_event(0, unit="dora", attributes={"source": "email"}), _event(1)))
    )
    call_command("import_events", str(path), "--quiet")
    assert UnitAttributes.objects.get(unit="dora").source == "email"
