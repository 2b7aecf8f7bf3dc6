"""Contract of the storefront and experiment-management API: shapes, errors, permissions."""

from __future__ import annotations

import pytest
from growthbook import Experiment as GBExperiment
from growthbook import GrowthBook

from experiments.hashing import Allocation
from tests.conftest import arm_copy, client_for, variant_rows

pytestmark = pytest.mark.django_db


def _create_body(key: str = "api-test", **overrides) -> dict:
    rows = [{("lambda" if k == "lambda_value" else k): v for k, v in row.items()} for row in variant_rows()]
    body = {
        "key": key,
        "name": "API test",
        "product": "ELEC-T01",
        "hypothesis": "Vivid copy lifts CTR",
        "primary_metric": "ctr",
        "alpha": 0.05,
        "seed": "",
        "coverage": 1.0,
        "namespace": None,
        "variants": rows,
    }
    body.update(overrides)
    return body


# --- assignment ---------------------------------------------------------------------------


def test_assign_running_experiment_matches_hash(make_experiment, anon_client):
    experiment = make_experiment(start=True)
    allocation = Allocation.build(
        key=experiment.key,
        seed=experiment.key,
        variant_keys=["control", "llm-l040", "llm-l060"],
        weights=[1, 1, 2],
        coverage=1.0,
    )
    seen = set()
    for i in range(60):
        unit = f"u-{i}"
        response = anon_client.get("/api/v1/assign", {"experiment": experiment.key, "unit": unit})
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"experiment", "variant", "product", "copy", "in_experiment"}
        assert body["in_experiment"] is True
        assert body["variant"] == allocation.variant_keys[allocation.variation_index(unit)]
        assert body["copy"] == arm_copy(experiment.variants.get(key=body["variant"])).copy
        seen.add(body["variant"])
    assert seen == {"control", "llm-l040", "llm-l060"}


def test_assign_draft_is_404_outside_coverage_gets_control(make_experiment, anon_client):
    # Issue case 5: a draft's copy may be unapproved; storefronts do not see drafts at all.
    draft = make_experiment("draft-exp")
    response = anon_client.get("/api/v1/assign", {"experiment": draft.key, "unit": "u1"})
    assert response.status_code == 404 and "error" in response.json()
    make_experiment("tiny", start=True, coverage=0.01, product=_second_product())
    outside = [anon_client.get("/api/v1/assign", {"experiment": "tiny", "unit": f"x{i}"}).json() for i in range(40)]
    assert any(not b["in_experiment"] and b["variant"] == "control" for b in outside)


def _second_product():
    from catalog.models import Product

    base = Product.objects.get(sku="ELEC-T01")
    return Product.objects.create(sku="ELEC-T03", title="Second", brand=base.brand, category=base.category, price=1)


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"experiment": "nope", "unit": "u1"}, 404, None),
        ({"experiment": "pulse-copy"}, 400, "unit"),
        ({"experiment": "pulse-copy", "unit": ""}, 400, "unit"),
        ({"experiment": "pulse-copy", "unit": "x" * 129}, 400, "unit"),
        ({"unit": "u1"}, 400, "experiment"),
    ],
)
def test_assign_errors(make_experiment, anon_client, params, status, field):
    make_experiment(start=True)
    response = anon_client.get("/api/v1/assign", params)
    assert response.status_code == status
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    if field:
        assert field in body["fields"]


def test_unit_of_exactly_128_chars_is_fine(make_experiment, anon_client):
    make_experiment(start=True)
    assert anon_client.get("/api/v1/assign", {"experiment": "pulse-copy", "unit": "y" * 128}).status_code == 200


def test_config_evaluates_identically_in_growthbook_sdk(make_experiment, anon_client):
    experiment = make_experiment(start=True, coverage=0.8, seed="s-1", namespace=["pdp", 0.1, 0.9])
    config = anon_client.get(f"/api/v1/experiments/{experiment.key}/config").json()
    assert config["hashVersion"] == 2 and config["hashAttribute"] == "id" and config["seed"] == "s-1"
    assert [v["key"] for v in config["variations"]] == ["control", "llm-l040", "llm-l060"]
    assert config["weights"] == pytest.approx([0.25, 0.25, 0.5])
    gb_experiment = GBExperiment(
        key=config["key"],
        variations=list(range(3)),
        weights=config["weights"],
        coverage=config["coverage"],
        namespace=tuple(config["namespace"]),
        hashVersion=config["hashVersion"],
        seed=config["seed"],
    )
    for i in range(200):
        unit = f"visitor-{i}"
        result = GrowthBook(attributes={"id": unit}).run(gb_experiment)
        api = anon_client.get("/api/v1/assign", {"experiment": experiment.key, "unit": unit}).json()
        assert api["in_experiment"] == result.inExperiment
        if result.inExperiment:
            assert api["variant"] == config["variations"][result.variationId]["key"]
    assert anon_client.get("/api/v1/experiments/missing/config").status_code == 404


# --- experiments API ----------------------------------------------------------------------


def test_create_read_patch_start_pause_stop(marketer_client, product):
    response = marketer_client.post("/api/v1/experiments", _create_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["owner"] == "mia" and body["category"] == "Electronics"
    assert [v["lambda"] for v in body["variants"]] == [None, 0.4, 0.6]
    assert all(v["approved_by"] == "mia" for v in body["variants"])

    patched = marketer_client.patch("/api/v1/experiments/api-test", {"coverage": 0.5}, format="json")
    assert patched.status_code == 200 and patched.json()["coverage"] == 0.5

    started = marketer_client.post("/api/v1/experiments/api-test/start")
    assert started.status_code == 200 and started.json()["status"] == "running"
    conflict = marketer_client.patch(
        "/api/v1/experiments/api-test", {"variants": _create_body()["variants"]}, format="json"
    )
    assert conflict.status_code == 409
    assert "cannot change after start" in conflict.json()["error"]
    assert marketer_client.post("/api/v1/experiments/api-test/start").status_code == 409
    assert marketer_client.post("/api/v1/experiments/api-test/pause").json()["status"] == "paused"
    stopped = marketer_client.post("/api/v1/experiments/api-test/stop").json()
    assert stopped["status"] == "stopped" and stopped["stopped_at"]
    listed = marketer_client.get("/api/v1/experiments", {"status": "stopped"}).json()
    assert [e["key"] for e in listed] == ["api-test"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"key": "Not A Slug!"}, "key"),
        ({"product": "NO-SUCH-SKU"}, "product"),
        ({"primary_metric": "revenue"}, "primary_metric"),
        ({"alpha": 0.9}, "alpha"),
        ({"coverage": 0}, "coverage"),
        ({"coverage": 1.5}, "coverage"),
        ({"namespace": ["pdp", 0.8, 0.2]}, "namespace"),
        ({"namespace": ["pdp", 0.2]}, "namespace"),
        ({"variants": [{"key": "a", "copy": "x", "weight": -1}]}, "variants"),
        ({"variants": [{"key": "a", "copy": "x", "lambda": 1.5}]}, "variants"),
        ({"variants": [{"key": "a", "copy": "x"}, {"key": "a", "copy": "y"}]}, "variants"),
        ({"name": ""}, "name"),
        ({"guardrail_metrics": ["ctr", "bounce_rate"]}, "guardrail_metrics"),
        ({"guardrail_metrics": "atc_rate"}, "guardrail_metrics"),
        ({"planned_units": 0}, "planned_units"),
    ],
)
def test_create_field_errors_are_400_naming_the_field(marketer_client, product, overrides, field):
    response = marketer_client.post("/api/v1/experiments", _create_body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert field in body["fields"], body
    assert isinstance(body["error"], str)


def test_guardrails_and_planned_units_are_part_of_the_frozen_analysis_plan(marketer_client, product):
    body = _create_body(guardrail_metrics=["atc_rate", "revenue_per_unit", "atc_rate"], planned_units=20000)
    created = marketer_client.post("/api/v1/experiments", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["guardrail_metrics"] == ["atc_rate", "revenue_per_unit"]
    assert created.json()["planned_units"] == 20000
    patched = marketer_client.patch("/api/v1/experiments/api-test", {"guardrail_metrics": ["cvr"]}, format="json")
    assert patched.status_code == 200 and patched.json()["guardrail_metrics"] == ["cvr"]
    assert marketer_client.post("/api/v1/experiments/api-test/start").status_code == 200
    frozen = marketer_client.patch("/api/v1/experiments/api-test", {"planned_units": 10}, format="json")
    assert frozen.status_code == 409 and "planned_units" in frozen.json()["error"]


def test_report_metric_names_are_the_reports_metrics():
    from analytics.selectors import METRICS
    from experiments.models import REPORT_METRICS

    assert set(REPORT_METRICS) == set(METRICS)


def test_duplicate_key_is_400(marketer_client, product):
    assert marketer_client.post("/api/v1/experiments", _create_body(), format="json").status_code == 201
    again = marketer_client.post("/api/v1/experiments", _create_body(), format="json")
    assert again.status_code == 400 and "key" in again.json()["fields"]


def test_start_with_unapproved_copy_is_409(marketer_client, product):
    body = _create_body()
    body["variants"][1]["approved"] = False
    marketer_client.post("/api/v1/experiments", body, format="json")
    response = marketer_client.post("/api/v1/experiments/api-test/start")
    assert response.status_code == 409 and "not approved" in response.json()["error"]


def test_bad_json_is_400(marketer_client, product):
    response = marketer_client.post("/api/v1/experiments", "{not json", content_type="application/json")
    assert response.status_code == 400 and "error" in response.json()


def test_unknown_experiment_is_404_json(marketer_client):
    for method, url in (("get", "/api/v1/experiments/missing"), ("post", "/api/v1/experiments/missing/start")):
        response = getattr(marketer_client, method)(url)
        assert response.status_code == 404 and "error" in response.json()


def test_permissions(make_experiment, analyst, outsider, admin_user, anon_client):
    make_experiment()
    analyst_client = client_for(analyst)
    assert analyst_client.get("/api/v1/experiments").status_code == 200
    assert analyst_client.get("/api/v1/experiments/pulse-copy").status_code == 200
    assert analyst_client.post("/api/v1/experiments", _create_body("x2"), format="json").status_code == 403
    assert analyst_client.patch("/api/v1/experiments/pulse-copy", {"name": "n"}, format="json").status_code == 403
    assert analyst_client.post("/api/v1/experiments/pulse-copy/start").status_code == 403
    assert client_for(outsider).get("/api/v1/experiments").status_code == 403
    assert anon_client.get("/api/v1/experiments").status_code in (401, 403)
    assert client_for(admin_user).post("/api/v1/experiments/pulse-copy/start").status_code == 200


def test_token_auth(marketer, product):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + Token.objects.create(user=marketer).key)
    assert client.post("/api/v1/experiments", _create_body("tok"), format="json").status_code == 201


def test_openapi_schema_and_docs(marketer_client):
    schema = marketer_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/assign",
        "/api/v1/experiments",
        "/api/v1/experiments/{key}",
        "/api/v1/experiments/{key}/config",
        "/api/v1/experiments/{key}/start",
    ):
        assert path in paths
    assert marketer_client.get("/api/docs/").status_code == 200


def test_storefront_endpoints_allow_cross_origin_calls(make_experiment, anon_client):
    make_experiment(start=True)
    origin = {"HTTP_ORIGIN": "https://shop.example"}
    assign = anon_client.get("/api/v1/assign", {"experiment": "pulse-copy", "unit": "u1"}, **origin)
    assert assign["Access-Control-Allow-Origin"] == "*"
    preflight = anon_client.options(
        "/api/v1/events",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
        **origin,
    )
    assert preflight.status_code == 200
    assert "authorization" in preflight["Access-Control-Allow-Headers"].lower()
    # The management API stays same-origin.
    private = anon_client.get("/api/v1/experiments", **origin)
    assert "Access-Control-Allow-Origin" not in private
