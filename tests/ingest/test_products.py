"""Events of catalog experiments: `product` on the wire, and the per-product and per-category
statistics kept with the unit totals (SQLite, or PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from rest_framework.test import APIClient

from catalog.models import Category, Product
from experiments import services
from experiments.assignment import experiment_snapshot
from ingest.accept import event_validate
from ingest.breakdown_stats import STAT_FIELDS
from ingest.models import BreakdownStats, BreakdownUnitTotals, Dimension, Event, EventType, UnitTotals
from ingest.store import events_store

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)
SKUS = ("CAT-A", "CAT-B", "CAT-C")  # A and B: Electronics; C: Apparel


@pytest.fixture
def catalog_products(db) -> list[Product]:
    electronics, apparel = Category.objects.get(name="Electronics"), Category.objects.get(name="Apparel")
    return [
        Product.objects.create(
            sku=sku,
            title=f"Product {sku}",
            brand="Plainbrand",
            category=apparel if sku == "CAT-C" else electronics,
            price=price,
            description=f"A plain product {sku}.",
        )
        for sku, price in zip(SKUS, ("10.00", "50.00", "20.00"), strict=True)
    ]


def _catalog_experiment(marketer, *, missing: tuple[str, ...] = (), lambda_value: float | None = None):
    """Three products; arm `b` has approved copy on each except the SKUs in `missing` (control_fallback)."""
    experiment = services.experiment_create(
        key="catalog",
        name="Catalog test",
        products={"skus": list(SKUS)},
        control_fallback=bool(missing),
        owner=marketer,
        variants=[
            {"key": "control", "is_control": True, "weight": 1, "approved": True},
            {
                "key": "b",
                "weight": 1,
                "lambda_value": lambda_value,
                "approved": True,
                "copies": {sku: f"Fresh words for {sku}." for sku in SKUS if sku not in missing},
            },
        ],
    )
    services.experiment_start(experiment=experiment, user=marketer)
    experiment.refresh_from_db()
    experiment.started_at = NOW - timedelta(days=1)
    experiment.save(update_fields=["started_at"])
    return experiment


@pytest.fixture
def catalog(catalog_products, marketer):
    return _catalog_experiment(marketer)


def _event(i: int, type_: str = "impression", unit: str = "u-1", key: str = "catalog", **extra) -> dict:
    return {
        "event_id": f"e-{i}",
        "type": type_,
        "experiment": key,
        "unit": unit,
        "ts": (NOW - timedelta(minutes=60 - i % 50)).isoformat(),
        **extra,
    }


def _post(write_key, events):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {write_key[1]}")
    return client.post("/api/v1/events", json.dumps({"events": events}), content_type="application/json").json()


def _rows(events: list[dict]) -> list[list]:
    rows = []
    for event in events:
        row, _, errors = event_validate(event, now=NOW, snapshot_for=experiment_snapshot)
        assert not errors, errors
        rows.append(row)
    return rows


def test_product_is_required_on_impressions_optional_on_orders_and_checked(catalog, write_key):
    body = _post(
        write_key,
        [
            _event(0),  # no product
            _event(1, product="NOPE"),
            _event(2, product="CAT-A"),
            _event(3, "click", product="CAT-A"),
            _event(4, "order", revenue=12.0),  # an order of the cart: no product
            _event(5, "add_to_cart"),
        ],
    )
    assert body["accepted"] == 3
    errors = {r["index"]: r["errors"] for r in body["rejected"]}
    assert errors[0] == {"product": "required: the experiment covers 3 products"}
    assert "'NOPE' is not a product of experiment 'catalog'" in errors[1]["product"]
    assert set(errors[5]) == {"product"}
    stored = dict(Event.objects.values_list("event_id", "product__sku"))
    assert stored == {"e-2": "CAT-A", "e-3": "CAT-A", "e-4": None}


def test_revenue_cap_reads_the_named_products_price(catalog, write_key, settings):
    settings.INGEST_REVENUE_CAP_FACTOR = 2.0
    body = _post(
        write_key,
        [
            _event(0, product="CAT-A"),
            _event(1, "click", product="CAT-A"),
            _event(2, "order", product="CAT-A", revenue=30.0),  # > 2 × 10.00
            _event(3, "order", revenue=30.0),  # no product: the set's highest price, 50.00
        ],
    )
    assert body["accepted"] == 3
    assert "the product's price (10.00)" in body["rejected"][0]["errors"]["revenue"]


def test_one_product_experiment_takes_v1_bodies_and_stores_the_sku(make_experiment, product, write_key):
    make_experiment(started_ago=timedelta(days=1))
    v1 = {"event_id": "v1", "type": "impression", "experiment": "pulse-copy", "unit": "u", "ts": NOW.isoformat()}
    named = {**v1, "event_id": "v2", "product": product.sku}
    wrong = {**v1, "event_id": "v3", "product": "CAT-Z"}
    body = _post(write_key, [v1, named, wrong])
    assert body["accepted"] == 2 and set(body["rejected"][0]["errors"]) == {"product"}
    assert set(Event.objects.values_list("product__sku", flat=True)) == {product.sku}
    stats = BreakdownStats.objects.get(dimension=Dimension.PRODUCT, key=product.pk)
    assert (stats.units, stats.impressions) == (1, 2)


def _random_events(rng: np.random.Generator, n: int, *, skus=SKUS) -> list[dict]:
    events = []
    for i in range(n):
        unit = f"u-{rng.integers(0, 25)}"
        sku = skus[rng.integers(0, len(skus))]
        kind = rng.choice(["impression", "impression", "click", "add_to_cart", "order"])
        extra = {"revenue": float(rng.integers(1, 9))} if kind == "order" else {}
        if kind == "order" and rng.random() < 0.3:
            events.append(_event(i, kind, unit, **extra))  # an order that names no product
        else:
            events.append(_event(i, kind, unit, product=sku, **extra))
    return events


def _expected_stats(experiment, *, excluded: set[int] = frozenset()) -> dict[tuple[int, int, int], dict]:
    """From the raw events, independently of ingest.store: per (variant, dimension, key), sums over
    units of the unit's totals, their squares and cross products."""
    categories = dict(Product.objects.values_list("pk", "category_id"))
    per_unit: dict[tuple, np.ndarray] = defaultdict(lambda: np.zeros(5))
    for variant_id, unit, product_id, type_, revenue in Event.objects.filter(experiment=experiment).values_list(
        "variant_id", "unit", "product_id", "type", "revenue"
    ):
        if product_id is None:
            continue
        keys = [(Dimension.PRODUCT.value, product_id)]
        if product_id not in excluded:
            keys.append((Dimension.CATEGORY.value, categories[product_id]))
        for key in keys:
            totals = per_unit[(variant_id, *key, unit)]
            totals[type_] += 1
            totals[4] += revenue or 0.0
    grouped: dict[tuple, list[np.ndarray]] = defaultdict(list)
    for (variant_id, dimension, key, _unit), totals in per_unit.items():
        grouped[(variant_id, dimension, key)].append(totals)
    names = ("impressions", "clicks", "add_to_carts", "orders", "revenue")
    index = {name: i for i, name in enumerate(names)}
    expected = {}
    for group, rows in grouped.items():
        x = np.array(rows)
        out = {"units": len(rows), "units_without_impression": int((x[:, 0] == 0).sum())}
        for name in names:
            out[name] = x[:, index[name]].sum()
            out[f"sq_{name}"] = (x[:, index[name]] ** 2).sum()
        for a, b in (
            ("clicks", "impressions"),
            ("orders", "impressions"),
            ("orders", "clicks"),
            ("add_to_carts", "clicks"),
        ):
            out[f"x_{a}_{b}"] = (x[:, index[a]] * x[:, index[b]]).sum()
        expected[group] = out
    return expected


def _stored_stats(experiment) -> dict[tuple[int, int, int], dict]:
    return {
        (row["variant_id"], row["dimension"], row["key"]): {f: row[f] for f in STAT_FIELDS}
        for row in BreakdownStats.objects.filter(experiment=experiment).values(
            "variant_id", "dimension", "key", *STAT_FIELDS
        )
    }


def _store(rows: list[list], batch_id: str | None = None):
    return events_store(batch_id=batch_id or str(uuid.uuid4()), rows=rows, write_key_id=None)


@pytest.fixture
def storage_only(settings):
    settings.INGEST_MAX_CLICKS_PER_IMPRESSION = 0
    settings.INGEST_ORDERS_NEED_CLICK = False
    settings.INGEST_BURST_MAX_EVENTS_PER_SECOND = 0


def test_breakdown_stats_match_the_raw_events_over_many_batches_and_redelivery(catalog, storage_only):
    rng = np.random.default_rng(7)
    rows = _rows(_random_events(rng, 300))
    batches = [rows[i : i + 37] for i in range(0, len(rows), 37)]
    ids = [str(uuid.uuid4()) for _ in batches]
    for batch, batch_id in zip(batches, ids, strict=True):
        _store(batch, batch_id)
    expected = _expected_stats(catalog)
    stored = _stored_stats(catalog)
    assert stored.keys() == expected.keys()
    for group, values in expected.items():
        assert stored[group] == pytest.approx(values), group
    # The same batches again (a redelivery: same ids; a client retry: new ids) change nothing.
    assert _store(batches[2], ids[2]).already_processed
    assert _store(batches[3]).stored == 0
    assert _stored_stats(catalog) == stored
    # The pooled unit totals hold every event (no product is excluded here).
    assert sum(UnitTotals.objects.values_list("impressions", flat=True)) == Event.objects.filter(type=0).count()


def test_excluded_products_stay_out_of_pooled_totals_and_categories(catalog_products, marketer, storage_only):
    experiment = _catalog_experiment(marketer, missing=("CAT-B",))
    snapshot = experiment_snapshot("catalog")
    assert snapshot.products["CAT-B"].fallback and not snapshot.products["CAT-A"].fallback
    assert services.experiment_excluded_products(experiment) == ["CAT-B"]
    rng = np.random.default_rng(11)
    _store(_rows(_random_events(rng, 200)))
    excluded_id = Product.objects.get(sku="CAT-B").pk
    pooled = UnitTotals.objects.filter(experiment=experiment)
    kept = Event.objects.filter(experiment=experiment).exclude(product_id=excluded_id)
    assert sum(pooled.values_list("impressions", flat=True)) == kept.filter(type=EventType.IMPRESSION).count()
    assert sum(pooled.values_list("orders", flat=True)) == kept.filter(type=EventType.ORDER).count()
    flags = dict(
        BreakdownStats.objects.filter(experiment=experiment, dimension=Dimension.PRODUCT)
        .values_list("key", "excluded")
        .distinct()
    )
    assert flags[excluded_id] is True and sum(flags.values()) == 1
    stored = _stored_stats(experiment)
    expected = _expected_stats(experiment, excluded={excluded_id})
    assert stored.keys() == expected.keys()
    for group, values in expected.items():
        assert stored[group] == pytest.approx(values), group


def test_a_row_queued_before_the_deploy_still_stores(catalog_products, make_experiment, storage_only):
    experiment = make_experiment(started_ago=timedelta(days=1))
    row = _rows(
        [{"event_id": "old", "type": "impression", "experiment": "pulse-copy", "unit": "u", "ts": NOW.isoformat()}]
    )[0]
    assert len(row) == 9
    assert _store([row[:7]]).stored == 1  # the seven-column row of the previous release
    assert Event.objects.get(event_id="old").product_id is None
    assert UnitTotals.objects.get(experiment=experiment).impressions == 1
    assert not BreakdownUnitTotals.objects.exists()
