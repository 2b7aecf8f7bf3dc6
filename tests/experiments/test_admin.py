"""The marketer's admin: lists, filters, inline variants, lifecycle actions, roles."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from experiments.models import Experiment
from tests.conftest import page_client

pytestmark = pytest.mark.django_db


def test_marketer_lists_filters_and_starts_from_admin(make_experiment, marketer):
    experiment = make_experiment()
    client = page_client(marketer)
    page = client.get("/admin/experiments/experiment/", {"status__exact": "draft", "q": "ELEC-T01"})
    assert page.status_code == 200 and b"pulse-copy" in page.content
    assert client.get("/admin/experiments/experiment/", {"status__exact": "running"}).content.count(b"pulse-copy") == 0
    change = client.get(f"/admin/experiments/experiment/{experiment.pk}/change/")
    assert change.status_code == 200 and b"llm-l060" in change.content
    response = client.post(
        "/admin/experiments/experiment/",
        {"action": "experiment_start", "_selected_action": [experiment.pk]},
        follow=True,
    )
    assert response.status_code == 200
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.RUNNING
    history = client.get(f"/admin/experiments/experiment/{experiment.pk}/history/")
    assert b"Started" in history.content
    assert LogEntry.objects.filter(object_id=str(experiment.pk), user=marketer).exists()


def test_admin_action_error_is_shown(make_experiment, marketer):
    experiment = make_experiment(approved=False)
    response = page_client(marketer).post(
        "/admin/experiments/experiment/",
        {"action": "experiment_start", "_selected_action": [experiment.pk]},
        follow=True,
    )
    assert b"not approved" in response.content
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.DRAFT


def test_analyst_reads_but_cannot_change(make_experiment, analyst):
    experiment = make_experiment()
    client = page_client(analyst)
    assert client.get("/admin/experiments/experiment/").status_code == 200
    assert client.get("/admin/catalog/product/").status_code == 200
    assert client.get("/admin/experiments/experiment/add/").status_code == 403
    client.post("/admin/experiments/experiment/", {"action": "experiment_start", "_selected_action": [experiment.pk]})
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.DRAFT


def test_anonymous_sees_nothing(make_experiment):
    make_experiment()
    response = Client().get("/admin/experiments/experiment/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def _add_form(**overrides) -> dict:
    data = {
        "key": "admin-apparel",
        "name": "Apparel from the admin",
        "hypothesis": "",
        "primary_metric": "ctr",
        "alpha": "0.05",
        "correction": "holm",
        "guardrail_metrics": "[]",
        "planned_units": "",
        "seed": "",
        "coverage": "1.0",
        "namespace_id": "",
        "namespace_start": "",
        "namespace_end": "",
        "allocation_mode": "fixed",
        "bandit_holdout": "0.2",
        "bandit_floor": "0.05",
        "set_skus": "",
        "set_brands": "",
        "set_price_min": "",
        "set_price_max": "",
        "variants-TOTAL_FORMS": "2",
        "variants-INITIAL_FORMS": "0",
        "variants-0-position": "0",
        "variants-0-key": "control",
        "variants-0-is_control": "on",
        "variants-0-weight": "1",
        "variants-0-source": "control",
        "variants-1-position": "1",
        "variants-1-key": "llm-l055",
        "variants-1-lambda_value": "0.55",
        "variants-1-weight": "1",
        "variants-1-source": "llm",
        "allocation_versions-TOTAL_FORMS": "0",
        "allocation_versions-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_marketer_creates_a_catalog_experiment_over_a_category_in_the_admin(marketer, product):
    from catalog.models import Category

    apparel = Category.objects.get(name="Apparel")
    for i in range(3):
        product.__class__.objects.create(
            sku=f"APP-A{i}", title=f"Tee {i}", brand="Threadly", category=apparel, price=20, description="Tee."
        )
    client = page_client(marketer)
    empty = client.post("/admin/experiments/experiment/add/", _add_form())
    assert empty.status_code == 200 and b"choose the products" in empty.content
    typo = client.post("/admin/experiments/experiment/add/", _add_form(set_skus="APP-A0, NOPE-9"))
    assert typo.status_code == 200 and b"unknown SKU(s): NOPE-9" in typo.content
    response = client.post("/admin/experiments/experiment/add/", _add_form(set_categories=[apparel.pk]), follow=True)
    assert response.status_code == 200, response.content[:300]
    experiment = Experiment.objects.get(key="admin-apparel")
    assert experiment.products.count() == 3 and experiment.product_set == {"categories": ["Apparel"]}
    assert sorted(experiment.variants.values_list("key", flat=True)) == ["control", "llm-l055"]
    page = client.get(f"/admin/experiments/experiment/{experiment.pk}/change/")
    assert b"3 products (category Apparel)" in page.content
    assert b"0 approved, 3 pending" in page.content  # the LLM arm's copy awaits generation and review
    assert f"/experiments/{experiment.key}/variants/llm-l055/review".encode() in page.content
