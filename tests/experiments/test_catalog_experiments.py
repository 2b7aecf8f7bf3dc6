"""Catalog experiments: an experiment over a product set, arms as copy policies, per-product copy.

Contract of the management API (create with a set, counts, v1 bodies), the start rules over
many products, and the storefront's per-product assignment."""

from __future__ import annotations

import pytest

from catalog.models import Category, Product
from experiments import services
from experiments.assignment import assign_variant
from experiments.models import Experiment, VariantCopy

pytestmark = pytest.mark.django_db

APPAREL_COPY = "Soft organic cotton, cut for everyday wear."


@pytest.fixture
def apparel(db) -> list[Product]:
    category = Category.objects.get(name="Apparel")
    return [
        Product.objects.create(
            sku=f"APP-T{i:02d}",
            title=f"Organic cotton tee {i}",
            brand="Threadly" if i % 2 else "Loomwell",
            category=category,
            price=f"{20 + i}.00",
            description=f"Organic cotton t-shirt number {i}.",
            copy=f"{APPAREL_COPY} Tee {i}." if i != 3 else "",
            attributes={"material": "organic cotton"},
        )
        for i in range(1, 6)
    ]


def _catalog_body(key: str = "apparel-l040", **overrides) -> dict:
    body = {
        "key": key,
        "name": "Apparel at λ 0.4",
        "products": {"categories": ["Apparel"]},
        "variants": [
            {"key": "control", "is_control": True, "weight": 1},
            {"key": "llm-l040", "lambda": 0.4, "weight": 1},
        ],
    }
    body.update(overrides)
    return body


def _approve_all(experiment: Experiment, key: str) -> None:
    arm = experiment.variants.get(key=key)
    for row in VariantCopy.objects.filter(variant=arm).select_related("product"):
        row.copy = f"Organic cotton tee, soft and breathable: {row.product.title}."
        row.status = VariantCopy.Status.APPROVED
        row.flags = []
        row.save()


def test_create_over_a_category_counts_products_and_control_takes_current_copy(apparel, marketer_client):
    response = marketer_client.post("/api/v1/experiments", _catalog_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["product"] is None and body["product_count"] == 5 and body["category"] == "Apparel"
    assert body["product_set"] == {"categories": ["Apparel"]}
    control, llm = body["variants"]
    # The control arm is approved everywhere with each product's current copy (the description
    # where none was imported); the LLM arm waits for generation.
    assert control["copy_counts"] == {"pending": 0, "approved": 5, "rejected": 0, "failed": 0}
    assert llm["copy_counts"] == {"pending": 5, "approved": 0, "rejected": 0, "failed": 0}
    assert control["copy"] is None and control["approved"] is True and llm["approved"] is False
    experiment = Experiment.objects.get(key="apparel-l040")
    texts = dict(
        VariantCopy.objects.filter(variant__experiment=experiment, variant__is_control=True).values_list(
            "product__sku", "copy"
        )
    )
    assert texts["APP-T01"] == f"{APPAREL_COPY} Tee 1." and texts["APP-T03"] == "Organic cotton t-shirt number 3."


@pytest.mark.parametrize(
    ("products", "field", "reason"),
    [
        ({"categories": ["Garden"]}, "products.categories", "unknown category Garden"),
        ({"skus": ["APP-T01", "NOPE-1"]}, "products.skus", "unknown SKU(s): NOPE-1"),
        ({"skus": []}, "products.skus", "non-empty list"),
        ({"filter": {"colour": "red"}}, "products.filter", "unknown key(s) colour"),
        ({"filter": {"price_min": 90, "price_max": 10}}, "products.filter.price_min", "must not exceed"),
        ({"filter": {"brands": ["Nobody"]}}, "products", "selects no product"),
        ({"categories": ["Apparel"], "skus": ["APP-T01"]}, "products", "must be one of"),
        ("Apparel", "products", "must be one of"),
    ],
)
def test_bad_product_sets_are_400_with_the_field(apparel, marketer_client, products, field, reason):
    response = marketer_client.post("/api/v1/experiments", _catalog_body(products=products), format="json")
    assert response.status_code == 400, response.json()
    assert reason in response.json()["fields"][field]
    assert not Experiment.objects.filter(key="apparel-l040").exists()


def test_product_and_products_together_or_neither_are_refused(apparel, marketer_client):
    both = marketer_client.post("/api/v1/experiments", _catalog_body(product="APP-T01"), format="json")
    body = _catalog_body()
    del body["products"]
    neither = marketer_client.post("/api/v1/experiments", body, format="json")
    assert both.status_code == neither.status_code == 400
    assert "products" in both.json()["fields"] and "products" in neither.json()["fields"]


def test_filter_selects_by_brand_and_price(apparel, marketer_client):
    products = {"filter": {"categories": ["Apparel"], "brands": ["Threadly"], "price_max": 24}}
    response = marketer_client.post("/api/v1/experiments", _catalog_body(products=products), format="json")
    assert response.status_code == 201, response.json()
    experiment = Experiment.objects.get(key="apparel-l040")
    assert sorted(experiment.products.values_list("sku", flat=True)) == ["APP-T01", "APP-T03"]


def test_hand_written_arm_takes_copies_by_sku_and_refuses_skus_outside(apparel, marketer_client):
    rows = _catalog_body()["variants"] + [{"key": "hand", "weight": 1, "copies": {"APP-T01": "Hand tee copy."}}]
    outside = [*rows[:2], {"key": "hand", "copies": {"ELSEWHERE": "x"}}]
    bad = marketer_client.post("/api/v1/experiments", _catalog_body(variants=outside), format="json")
    assert bad.status_code == 400 and "not in the experiment" in bad.json()["fields"]["variants[2].copies"]
    one_copy = [*rows[:2], {"key": "hand", "copy": "One copy for five products"}]
    bad = marketer_client.post("/api/v1/experiments", _catalog_body(variants=one_copy), format="json")
    assert bad.status_code == 400 and "copies" in bad.json()["fields"]["variants[2].copy"]
    good = marketer_client.post("/api/v1/experiments", _catalog_body(variants=rows), format="json")
    assert good.status_code == 201
    hand = VariantCopy.objects.get(variant__key="hand", product__sku="APP-T01")
    assert hand.copy == "Hand tee copy." and hand.status == VariantCopy.Status.PENDING


def test_start_needs_approved_copy_everywhere_unless_control_fallback(apparel, marketer, marketer_client):
    marketer_client.post("/api/v1/experiments", _catalog_body(), format="json")
    experiment = Experiment.objects.get(key="apparel-l040")
    refused = marketer_client.post("/api/v1/experiments/apparel-l040/start")
    assert refused.status_code == 409
    assert "no approved copy for 5 of 5 products" in refused.json()["error"]
    # Approve three of five, and let the other two show the control copy in that arm.
    arm = experiment.variants.get(key="llm-l040")
    for sku in ("APP-T01", "APP-T02", "APP-T03"):
        row = VariantCopy.objects.get(variant=arm, product__sku=sku)
        row.copy, row.status = f"Breathable organic cotton tee ({sku}).", VariantCopy.Status.APPROVED
        row.save()
    assert "2 of 5 products" in marketer_client.post("/api/v1/experiments/apparel-l040/start").json()["error"]
    patched = marketer_client.patch("/api/v1/experiments/apparel-l040", {"control_fallback": True}, format="json")
    assert patched.status_code == 200 and patched.json()["control_fallback"] is True
    assert marketer_client.post("/api/v1/experiments/apparel-l040/start").status_code == 200
    assert services.experiment_excluded_products(experiment) == ["APP-T04", "APP-T05"]
    # Everyone in the LLM arm sees the control's copy on a product the arm has no approved copy for.
    unit = next(
        u
        for u in (f"u{i}" for i in range(200))
        if assign_variant(experiment_key="apparel-l040", unit=u, product="APP-T04").variant == "llm-l040"
    )
    fallback = assign_variant(experiment_key="apparel-l040", unit=unit, product="APP-T04")
    assert fallback.copy == f"{APPAREL_COPY} Tee 4."
    assert assign_variant(experiment_key="apparel-l040", unit=unit, product="APP-T01").copy.startswith("Breathable")


def test_one_arm_per_visitor_on_every_product_and_unknown_skus_refused(apparel, marketer_client, anon_client):
    marketer_client.post("/api/v1/experiments", _catalog_body(), format="json")
    experiment = Experiment.objects.get(key="apparel-l040")
    _approve_all(experiment, "llm-l040")
    assert marketer_client.post("/api/v1/experiments/apparel-l040/start").status_code == 200
    arms = set()
    for i in range(40):
        seen = {
            anon_client.get("/api/v1/assign", {"experiment": "apparel-l040", "unit": f"v{i}", "product": sku}).json()[
                "variant"
            ]
            for sku in ("APP-T01", "APP-T02", "APP-T05")
        }
        assert len(seen) == 1  # the same arm on every product page
        arms |= seen
    assert arms == {"control", "llm-l040"}
    response = anon_client.get("/api/v1/assign", {"experiment": "apparel-l040", "unit": "v1", "product": "ELEC-T01"})
    assert response.status_code == 400 and "not a product of experiment" in response.json()["fields"]["product"]
    missing = anon_client.get("/api/v1/assign", {"experiment": "apparel-l040", "unit": "v1"})
    assert missing.status_code == 400 and "covers 5 products" in missing.json()["fields"]["product"]
    body = anon_client.get("/api/v1/assign", {"experiment": "apparel-l040", "unit": "v1", "product": "APP-T02"}).json()
    assert body["product"] == "APP-T02" and body["copy"]


def test_copy_map_lists_every_product_and_answers_304_to_its_etag(apparel, marketer_client, anon_client):
    marketer_client.post("/api/v1/experiments", _catalog_body(), format="json")
    _approve_all(Experiment.objects.get(key="apparel-l040"), "llm-l040")
    assert anon_client.get("/api/v1/experiments/apparel-l040/copy.json").status_code == 404  # a draft
    marketer_client.post("/api/v1/experiments/apparel-l040/start")
    response = anon_client.get("/api/v1/experiments/apparel-l040/copy.json")
    assert response.status_code == 200
    body = response.json()
    assert body["variations"] == ["control", "llm-l040"] and len(body["copies"]) == 5
    assert body["copies"]["APP-T01"][1].startswith("Organic cotton tee, soft and breathable")
    again = anon_client.get("/api/v1/experiments/apparel-l040/copy.json", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_api_detail_shows_product_count_and_per_arm_counts(apparel, marketer_client, analyst_client):
    marketer_client.post("/api/v1/experiments", _catalog_body(), format="json")
    body = analyst_client.get("/api/v1/experiments/apparel-l040").json()
    assert body["product_count"] == 5
    assert {v["key"]: v["copy_counts"]["pending"] for v in body["variants"]} == {"control": 0, "llm-l040": 5}


def test_two_running_experiments_cannot_share_a_product_unless_namespaces_split(apparel, marketer_client):
    marketer_client.post("/api/v1/experiments", _catalog_body(), format="json")
    _approve_all(Experiment.objects.get(key="apparel-l040"), "llm-l040")
    assert marketer_client.post("/api/v1/experiments/apparel-l040/start").status_code == 200
    skus = _catalog_body("two-tees", products={"skus": ["APP-T02", "APP-T04"]})
    marketer_client.post("/api/v1/experiments", skus, format="json")
    _approve_all(Experiment.objects.get(key="two-tees"), "llm-l040")
    refused = marketer_client.post("/api/v1/experiments/two-tees/start")
    assert refused.status_code == 409
    assert "2 products (APP-T02, APP-T04) already have active experiment(s) apparel-l040" in refused.json()["error"]


def test_v1_single_product_body_still_works(product, marketer_client):
    from tests.conftest import variant_rows

    rows = [{("lambda" if k == "lambda_value" else k): v for k, v in row.items()} for row in variant_rows()]
    body = {"key": "v1-body", "name": "v1", "product": product.sku, "variants": rows}
    response = marketer_client.post("/api/v1/experiments", body, format="json")
    assert response.status_code == 201
    created = response.json()
    assert created["product"] == product.sku and created["product_count"] == 1
    assert [v["copy"] for v in created["variants"]] == [r["copy"] for r in rows]
    assert all(v["approved"] for v in created["variants"])
    assert marketer_client.post("/api/v1/experiments/v1-body/start").status_code == 200
