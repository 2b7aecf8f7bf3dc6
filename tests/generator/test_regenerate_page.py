""" "Regenerate" on the copy review page of an LLM arm (POST /experiments/KEY/variants/VKEY/regenerate):
one product's copy queued again at the arm's λ through the dispatch, roles, and refusals shown on
the review page (400/409, no 500)."""

from __future__ import annotations

import pytest
from django.test import Client

from experiments import services
from generator.models import GenerationJob
from tests.experiments.catalog_helpers import catalog_experiment, catalog_products

pytestmark = pytest.mark.django_db

REVIEW = "/experiments/tees/variants/llm-l050/review"
URL = "/experiments/tees/variants/llm-l050/regenerate"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def tees(marketer):
    return catalog_experiment("tees", catalog_products(6), owner=marketer, flagged=("TEE-001",), failed=("TEE-004",))


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    queued: list[int] = []
    monkeypatch.setattr("generator.dispatch.generation_job_enqueue", lambda *, job_id: queued.append(job_id))
    return queued


def test_regenerate_one_queues_a_job_for_that_product_through_the_dispatch(tees, marketer, queued):
    client = _client(marketer)
    response = client.post(URL + "?flagged=1&page=1", {"sku": "TEE-004"})
    assert response.status_code == 302 and response["Location"] == REVIEW + "?flagged=1&page=1"
    job = GenerationJob.objects.get()
    assert queued == [job.pk] and job.skus == ["TEE-004"] and job.lambdas == [0.5]
    assert job.created_by == marketer
    assert f"TEE-004: queued generation job #{job.pk}" in client.get(REVIEW).content.decode()


def test_control_arm_cannot_be_regenerated(tees, marketer):
    response = _client(marketer).post("/experiments/tees/variants/control/regenerate", {"sku": "TEE-002"})
    assert response.status_code == 409 and "cannot be regenerated" in response.content.decode()
    assert 'id="review-table"' in response.content.decode()  # the review page, with the reason
    assert not GenerationJob.objects.exists()


@pytest.mark.parametrize(
    ("data", "expected"),
    [({}, "sku: which product"), ({"sku": "NOPE-1"}, "skus: not products of")],
)
def test_bad_input_is_400_on_the_review_page(tees, marketer, queued, data, expected):
    response = _client(marketer).post(URL, data)
    assert response.status_code == 400 and expected in response.content.decode()
    assert not GenerationJob.objects.exists() and not queued


def test_started_experiment_refuses_with_409(tees, marketer, queued):
    tees.control_fallback = True
    tees.save(update_fields=["control_fallback"])
    client = _client(marketer)
    client.post(REVIEW, {"action": "approve_passing"})
    services.experiment_start(experiment=tees, user=marketer)
    response = client.post(URL, {"sku": "TEE-004"})
    assert response.status_code == 409 and "only be generated for a draft" in response.content.decode()
    assert not GenerationJob.objects.exists() and not queued


def test_only_marketers_and_admins_may_regenerate(tees, analyst, outsider, queued):
    anonymous = Client().post(URL, {"sku": "TEE-004"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    assert _client(outsider).post(URL, {"sku": "TEE-004"}).status_code == 403
    assert _client(analyst).post(URL, {"sku": "TEE-004"}).status_code == 403
    assert _client(analyst).get(URL).status_code == 405
    assert not GenerationJob.objects.exists() and not queued


def test_unknown_experiment_or_arm_is_404(tees, marketer):
    client = _client(marketer)
    assert client.post("/experiments/nope/variants/llm-l050/regenerate", {"sku": "TEE-004"}).status_code == 404
    assert client.post("/experiments/tees/variants/nope/regenerate", {"sku": "TEE-004"}).status_code == 404
