"""*Regenerate* on the copy review page of an LLM arm (POST /experiments/KEY/variants/VKEY/regenerate):
one product's copy queued again at the arm's λ through the dispatch, roles, and refusals shown on
the review page (400/409, no 500)."""

from __future__ import annotations

import pytest
from django.test import Client

from experiments import services
from generator.models import GenerationJob
from tests.conftest import page_client

pytestmark = pytest.mark.django_db

REVIEW = "/experiments/tees/variants/llm-l050/review"
URL = "/experiments/tees/variants/llm-l050/regenerate"


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    queued: list[int] = []
    monkeypatch.setattr("generator.dispatch.generation_job_enqueue", lambda *, job_id: queued.append(job_id))
    return queued


def test_regenerate_one_queues_a_job_for_that_product_through_the_dispatch(review_tees, marketer, queued):
    client = page_client(marketer)
    response = client.post(URL + "?flagged=1&page=1", {"sku": "TEE-004"})
    assert response.status_code == 302 and response["Location"] == REVIEW + "?flagged=1&page=1"
    job = GenerationJob.objects.get()
    assert queued == [job.pk] and job.skus == ["TEE-004"] and job.lambdas == [0.5]
    assert job.created_by == marketer
    assert f"TEE-004: queued generation job #{job.pk}" in client.get(REVIEW).content.decode()


def test_control_arm_cannot_be_regenerated(review_tees, marketer):
    response = page_client(marketer).post("/experiments/tees/variants/control/regenerate", {"sku": "TEE-002"})
    assert response.status_code == 409 and "cannot be regenerated" in response.content.decode()
    assert 'id="review-table"' in response.content.decode()  # the review page, with the reason
    assert not GenerationJob.objects.exists()


@pytest.mark.parametrize(
    ("data", "expected"),
    [({}, "sku: which product"), ({"sku": "NOPE-1"}, "skus: not products of")],
)
def test_bad_input_is_400_on_the_review_page(review_tees, marketer, queued, data, expected):
    response = page_client(marketer).post(URL, data)
    assert response.status_code == 400 and expected in response.content.decode()
    assert not GenerationJob.objects.exists() and not queued


def test_started_experiment_refuses_with_409(review_tees, marketer, queued):
    review_tees.control_fallback = True
    review_tees.save(update_fields=["control_fallback"])
    client = page_client(marketer)
    client.post(REVIEW, {"action": "approve_passing"})
    services.experiment_start(experiment=review_tees, user=marketer)
    response = client.post(URL, {"sku": "TEE-004"})
    assert response.status_code == 409 and "only be generated for a draft" in response.content.decode()
    assert not GenerationJob.objects.exists() and not queued


def test_only_marketers_and_admins_may_regenerate(review_tees, analyst, outsider, queued):
    anonymous = Client().post(URL, {"sku": "TEE-004"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    assert page_client(outsider).post(URL, {"sku": "TEE-004"}).status_code == 403
    assert page_client(analyst).post(URL, {"sku": "TEE-004"}).status_code == 403
    assert page_client(analyst).get(URL).status_code == 405
    assert not GenerationJob.objects.exists() and not queued


def test_unknown_experiment_or_arm_is_404(review_tees, marketer):
    client = page_client(marketer)
    assert client.post("/experiments/nope/variants/llm-l050/regenerate", {"sku": "TEE-004"}).status_code == 404
    assert client.post("/experiments/tees/variants/nope/regenerate", {"sku": "TEE-004"}).status_code == 404
