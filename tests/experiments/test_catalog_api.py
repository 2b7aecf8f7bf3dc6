"""Contracts of the catalog-experiment API: `GET /api/v1/copy` (many products' copy for one visitor)
and `GET/PATCH /api/v1/experiments/KEY/variants/VKEY/copies` (an arm's copy per product, reviewed)."""

from __future__ import annotations

import pytest

from catalog.models import Category, Product
from experiments.assignment import assign_variant
from experiments.models import VariantCopy
from tests.experiments.catalog_helpers import (
    FLAGGED_COPY,
    approve_all_and_start,
    catalog_experiment,
    catalog_products,
    passing_copy,
)

pytestmark = pytest.mark.django_db

COPIES = "/api/v1/experiments/tees/variants/llm-l050/copies"


@pytest.fixture
def tees(marketer):
    return catalog_experiment("tees", catalog_products(6), owner=marketer, flagged=("TEE-001",))


@pytest.fixture
def running(tees, marketer):
    return approve_all_and_start(tees, marketer)


@pytest.fixture
def loose_product(db):
    return Product.objects.create(
        sku="LOOSE-1",
        title="A mug in no experiment",
        brand="Loomly",
        category=Category.objects.get(name="FMCG"),
        price="9.00",
        description="A stoneware mug.",
        copy="The mug you reach for first.",
    )


def _copy(client, unit: str | None, skus: list[str]):
    params = {"products": ",".join(skus)}
    if unit is not None:
        params["unit"] = unit
    return client.get("/api/v1/copy", params)


# --- GET /api/v1/copy ---


def test_copy_gives_each_sku_its_experiment_arm_and_copy_and_the_same_arm_on_every_product(
    running, anon_client, loose_product
):
    skus = [f"TEE-00{i}" for i in range(1, 7)]
    arms_seen = set()
    for n in range(40):
        unit = f"visitor-{n}"
        response = _copy(anon_client, unit, [*skus, "LOOSE-1", "NOPE-404"])
        assert response.status_code == 200
        body = response.json()
        assert list(body) == [*skus, "LOOSE-1", "NOPE-404"]
        arms = {body[sku]["variant"] for sku in skus}
        assert len(arms) == 1, f"{unit} saw several arms: {arms}"
        arms_seen |= arms
        for sku in skus:
            assert set(body[sku]) == {"experiment", "variant", "copy", "in_experiment"}
            assert body[sku]["experiment"] == "tees" and body[sku]["in_experiment"] is True
            single = assign_variant(experiment_key="tees", unit=unit, product=sku)
            assert (body[sku]["variant"], body[sku]["copy"]) == (single.variant, single.copy)
        assert body["LOOSE-1"] == {
            "experiment": None,
            "variant": None,
            "copy": "The mug you reach for first.",
            "in_experiment": False,
        }
        assert body["NOPE-404"] is None
    assert arms_seen == {"control", "llm-l050"}
    # What each arm shows: the LLM arm's approved copy; the control's current copy; the flagged
    # product (not approved in the LLM arm) shows the control copy there (control_fallback).
    units = (f"visitor-{n}" for n in range(40))
    llm = next(
        u for u in units if assign_variant(experiment_key="tees", unit=u, product="TEE-002").variant == "llm-l050"
    )
    body = _copy(anon_client, llm, ["TEE-001", "TEE-002"]).json()
    assert body["TEE-002"]["copy"] == passing_copy(2)
    assert body["TEE-001"]["copy"] == "Our organic cotton tee 1."


def test_copy_of_a_draft_experiments_product_is_its_current_copy(tees, anon_client):
    body = _copy(anon_client, "u-1", ["TEE-003"]).json()
    assert body["TEE-003"] == {
        "experiment": None,
        "variant": None,
        "copy": "Our organic cotton tee 3.",
        "in_experiment": False,
    }


def test_copy_takes_at_most_100_skus(running, anon_client):
    assert _copy(anon_client, "u-1", [f"S-{i}" for i in range(100)]).status_code == 200
    response = _copy(anon_client, "u-1", [f"S-{i}" for i in range(101)])
    assert response.status_code == 400
    assert "at most 100" in response.json()["fields"]["products"]
    # duplicates count once
    assert _copy(anon_client, "u-1", ["TEE-001"] * 150).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"products": "TEE-001"}, "unit"),
        ({"unit": "", "products": "TEE-001"}, "unit"),
        ({"unit": "x" * 129, "products": "TEE-001"}, "unit"),
        ({"unit": "u-1"}, "products"),
        ({"unit": "u-1", "products": ",,"}, "products"),
        ({"unit": "u-1", "products": "A" * 65}, "products"),
    ],
)
def test_copy_refuses_bad_queries_by_field(running, anon_client, params, field):
    response = anon_client.get("/api/v1/copy", params)
    assert response.status_code == 400
    body = response.json()
    assert field in body["fields"] and field in body["error"]


def test_copy_is_public_and_costs_no_query_per_product(running, anon_client, django_assert_max_num_queries):
    skus = [f"TEE-00{i}" for i in range(1, 7)]
    _copy(anon_client, "warm", skus)  # fills the snapshot cache
    with django_assert_max_num_queries(1):
        assert _copy(anon_client, "u-2", [*skus, "NOPE-1"]).status_code == 200


# --- GET/PATCH /api/v1/experiments/KEY/variants/VKEY/copies ---


def test_get_copies_lists_rows_with_review_state_for_both_roles(tees, analyst_client, marketer_client):
    for client in (analyst_client, marketer_client):
        response = client.get(COPIES)
        assert response.status_code == 200
        rows = {row["sku"]: row for row in response.json()}
        assert sorted(rows) == [f"TEE-00{i}" for i in range(1, 7)]
        assert rows["TEE-001"]["flags"] and rows["TEE-001"]["candidates"][0]["text"] == FLAGGED_COPY
        assert rows["TEE-002"]["current_copy"] == "Our organic cotton tee 2."
    pending = analyst_client.get(COPIES, {"status": "pending"}).json()
    assert len(pending) == 6
    assert analyst_client.get(COPIES, {"status": "bogus"}).status_code == 400


def test_patch_edits_and_approves_for_marketers(tees, marketer_client, marketer):
    edited = "Organic cotton tee, soft and breathable for everyday wear. Shop now."
    response = marketer_client.patch(
        COPIES, {"TEE-001": {"copy": edited, "approved": True}, "TEE-002": {"approved": True}}, format="json"
    )
    assert response.status_code == 200, response.json()
    rows = {r.product.sku: r for r in VariantCopy.objects.filter(variant__key="llm-l050").select_related("product")}
    assert rows["TEE-001"].copy == edited and rows["TEE-001"].status == "approved"
    assert rows["TEE-001"].reviewed_by == marketer
    assert rows["TEE-002"].status == "approved"
    assert marketer_client.patch(COPIES, {"TEE-003": {"rejected": True}}, format="json").status_code == 200
    assert VariantCopy.objects.get(variant__key="llm-l050", product__sku="TEE-003").status == "rejected"


def test_patch_is_refused_to_analysts_and_anonymous(tees, analyst_client, anon_client):
    assert analyst_client.patch(COPIES, {"TEE-002": {"approved": True}}, format="json").status_code == 403
    assert anon_client.patch(COPIES, {"TEE-002": {"approved": True}}, format="json").status_code in (401, 403)
    assert VariantCopy.objects.get(variant__key="llm-l050", product__sku="TEE-002").status == "pending"


def test_patch_with_a_bad_sku_is_400_naming_it_and_changes_nothing(tees, marketer_client):
    response = marketer_client.patch(
        COPIES, {"TEE-002": {"approved": True}, "NOPE-9": {"approved": True}}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert "NOPE-9" in body["fields"] and "not a product" in body["fields"]["NOPE-9"]
    assert VariantCopy.objects.get(variant__key="llm-l050", product__sku="TEE-002").status == "pending"


def test_patch_approving_flagged_copy_is_refused_with_the_reason(tees, marketer_client):
    response = marketer_client.patch(COPIES, {"TEE-001": {"approved": True}}, format="json")
    assert response.status_code == 400
    reason = response.json()["fields"]["TEE-001"]
    assert "cannot approve copy with problems" in reason and "cheap" in reason
    row = VariantCopy.objects.get(variant__key="llm-l050", product__sku="TEE-001")
    assert row.status == "pending" and row.copy == FLAGGED_COPY


@pytest.mark.parametrize(
    "body",
    [[], {}, {"TEE-002": "yes"}, {"TEE-002": {"approved": "yes"}}, {"TEE-002": {"colour": "red"}}],
)
def test_patch_refuses_malformed_bodies(tees, marketer_client, body):
    assert marketer_client.patch(COPIES, body, format="json").status_code == 400


def test_patch_after_the_start_is_409(running, marketer_client):
    response = marketer_client.patch(COPIES, {"TEE-002": {"rejected": True}}, format="json")
    assert response.status_code == 409
    assert "frozen" in response.json()["error"]


def test_copies_of_an_unknown_arm_is_404(tees, marketer_client):
    assert marketer_client.get("/api/v1/experiments/tees/variants/nope/copies").status_code == 404
    assert (
        marketer_client.patch("/api/v1/experiments/nope/variants/llm-l050/copies", {}, format="json").status_code == 404
    )
