import pytest

from generator import jobs, tasks
from generator.models import GenerationJob
from tests.conftest import client_for


@pytest.fixture
def no_enqueue(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.generation_job_execute, "delay", lambda job_id: sent.append(job_id))
    return sent


def url(key: str) -> str:
    return f"/api/v1/experiments/{key}/generate"


def test_marketer_queues_a_job(marketer_client, draft_experiment, no_enqueue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(
            url(draft_experiment.key), {"lambdas": [0.3, 0.6], "candidates": 4, "top_k": 2}, format="json"
        )
    assert response.status_code == 202, response.content
    job = GenerationJob.objects.get(pk=response.json()["job"])
    assert no_enqueue == [job.pk]
    assert job.lambdas == [0.3, 0.6] and job.candidates_per_lambda == 4 and job.top_k == 2


def test_defaults_when_only_the_key_is_given(marketer_client, draft_experiment, no_enqueue):
    response = marketer_client.post(url(draft_experiment.key), {}, format="json")
    assert response.status_code == 202
    job = GenerationJob.objects.get(pk=response.json()["job"])
    assert job.lambdas == [0.2, 0.4, 0.6] and job.candidates_per_lambda == 8 and job.top_k == 3


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"lambdas": [1.5]}, {"lambdas"}),
        ({"lambdas": []}, {"lambdas"}),
        ({"lambdas": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}, {"lambdas"}),
        ({"lambdas": [0.5], "candidates": 0}, {"candidates"}),
        ({"lambdas": [0.5], "candidates": 40, "top_k": 50}, {"candidates", "top_k"}),
        ({"lambdas": [0.5], "candidates": 4, "top_k": 5}, {"top_k"}),
        ({"lambdas": [0.5], "seed": "abc"}, {"seed"}),
    ],
)
def test_bad_input_is_a_400_naming_the_fields(marketer_client, draft_experiment, no_enqueue, body, fields):
    response = marketer_client.post(url(draft_experiment.key), body, format="json")
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] and set(payload["fields"]) == fields
    assert not GenerationJob.objects.exists()


def test_unknown_key_is_404_and_non_draft_is_409(marketer_client, make_experiment, no_enqueue):
    assert marketer_client.post(url("nope"), {}, format="json").status_code == 404
    running = make_experiment("pulse-live", start=True)
    response = marketer_client.post(url(running.key), {"lambdas": [0.5]}, format="json")
    assert response.status_code == 409
    assert "draft" in response.json()["error"]


def test_permissions(analyst_client, anon_client, admin_user, outsider, draft_experiment, no_enqueue):
    assert analyst_client.post(url(draft_experiment.key), {}, format="json").status_code == 403
    assert anon_client.post(url(draft_experiment.key), {}, format="json").status_code in (401, 403)
    assert client_for(outsider).post(url(draft_experiment.key), {}, format="json").status_code == 403
    assert client_for(admin_user).post(url(draft_experiment.key), {}, format="json").status_code == 202


def test_job_detail_lists_variants_and_scored_candidates(analyst_client, anon_client, draft_experiment, stub_pipeline):
    job = jobs.generation_job_create(
        experiment=draft_experiment, lambdas=[0.4, 0.8], candidates=4, top_k=2, enqueue=False
    )
    jobs.generation_job_run(job_id=job.pk, generate=stub_pipeline)
    response = analyst_client.get(f"/api/v1/generation-jobs/{job.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "succeeded" and body["progress"] == 1.0 and body["error"] == ""
    assert [r["lambda"] for r in body["results"]] == [0.4, 0.8]
    first = body["results"][0]
    assert first["variant"]["key"] == "llm-l040" and first["variant"]["approved"] is False
    candidates = first["candidates"]
    assert len(candidates) == 4
    # The candidate's keys, in order, are part of the API: the score fields come from one list.
    assert ",".join(candidates[0]) == (
        "id,position,rank,kept,dropped_reason,text,cuts,prompt_type,sentiment_target,novelty,diversity,sentiment,cta,"
        "cta_density,cta_appended,readability,keyword_strength,relevance,length,words,p_conv,p_click,reward,variant"
    )
    assert isinstance(candidates[0]["cta"], bool) and isinstance(candidates[0]["length"], int)
    assert candidates[0]["rank"] == 1 and candidates[0]["variant"] == "llm-l040"
    dropped = [c for c in candidates if c["rank"] is None]
    assert dropped and all("forbidden word" in c["dropped_reason"] for c in dropped)
    assert anon_client.get(f"/api/v1/generation-jobs/{job.pk}").status_code in (401, 403)
    assert analyst_client.get("/api/v1/generation-jobs/999999").status_code == 404


def test_queued_job_detail_has_no_results_yet(marketer_client, draft_experiment, no_enqueue):
    job_id = marketer_client.post(url(draft_experiment.key), {"lambdas": [0.5]}, format="json").json()["job"]
    body = marketer_client.get(f"/api/v1/generation-jobs/{job_id}").json()
    assert body["status"] == "queued" and body["results"] == [] and body["progress"] == 0.0
