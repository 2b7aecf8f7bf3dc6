"""The predictor's logged outcomes of a catalog experiment: one per (arm, product) copy."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest

from generator import selectors
from ingest.models import Event
from ingest.store import events_store
from tests.ingest.test_products import (  # noqa: F401 (catalog_products is a fixture)
    NOW,
    _catalog_experiment,
    _event,
    _rows,
    catalog_products,
)

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("catalog_products")
def test_each_approved_copy_of_a_catalog_experiment_is_one_outcome(marketer, settings):
    settings.INGEST_ORDERS_NEED_CLICK = False
    settings.INGEST_MAX_CLICKS_PER_IMPRESSION = 0
    experiment = _catalog_experiment(marketer, missing=("CAT-B",))
    events, i = [], 0
    for u in range(12):
        for sku in ("CAT-A", "CAT-B", "CAT-C")[: 1 + u % 3]:
            for type_ in ("impression", "impression", "click", "order")[: 2 + u % 3]:
                events.append(_event(i, type_, f"u-{u}", product=sku, **({"revenue": 3.0} if type_ == "order" else {})))
                i += 1
    events_store(batch_id=str(uuid.uuid4()), rows=_rows(events), write_key_id=None)

    outcomes = selectors.variant_outcomes()
    raw = Counter(
        (variant_id, product_id, type_)
        for variant_id, product_id, type_ in Event.objects.filter(experiment=experiment).values_list(
            "variant_id", "product_id", "type"
        )
    )
    keys = {(o.variant_id, o.product_id) for o in outcomes}
    b = experiment.variants.get(key="b")
    cat_b = experiment.products.get(sku="CAT-B")
    # Arm b showed the control's copy on CAT-B (no approved copy): no outcome for a copy it never showed.
    assert (b.pk, cat_b.pk) not in keys
    expected_keys = {(v, p) for v, p, _ in raw} - {(b.pk, cat_b.pk)}
    assert keys == expected_keys
    for outcome in outcomes:
        key = (outcome.variant_id, outcome.product_id)
        assert (outcome.impressions, outcome.clicks, outcome.orders) == (raw[(*key, 0)], raw[(*key, 1)], raw[(*key, 3)])
    assert len(keys) == len(outcomes)
    assert selectors.variant_outcomes(exposed_before=NOW - timedelta(days=2)) == []
    assert len(selectors.variant_outcomes(exposed_since=NOW - timedelta(days=2))) == len(outcomes)
