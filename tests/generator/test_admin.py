import pytest
from django.contrib.admin.sites import AdminSite
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from experiments.models import Experiment
from generator import jobs, tasks
from generator.admin_actions import GenerateForm, generate_llm_variants
from generator.models import GenerationJob


class FakeExperimentAdmin:
    """Enough of a ModelAdmin for the action: the real one lives in experiments.admin."""

    model = Experiment

    def __init__(self):
        self.admin_site = AdminSite()
        self.messages: list[str] = []

    def message_user(self, request, message, level=None):
        self.messages.append(str(message))


def _request(method: str, user, data=None):
    factory = RequestFactory()
    request = factory.post("/admin/experiments/experiment/", data or {}) if method == "post" else factory.get("/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


@pytest.fixture
def no_enqueue(monkeypatch):
    monkeypatch.setattr(tasks.generation_job_execute, "delay", lambda job_id: None)


def test_action_shows_the_form_with_category_defaults(admin_user, draft_experiment):
    admin = FakeExperimentAdmin()
    response = generate_llm_variants(
        admin,
        _request("post", admin_user, {"action": "generate_llm_variants"}),
        Experiment.objects.filter(pk=draft_experiment.pk),
    )
    response.render()
    html = response.content.decode()
    assert response.status_code == 200
    # The λ of the experiment's LLM arms (a catalog experiment's policies), one job each.
    assert 'value="0.40, 0.60"' in html and draft_experiment.key in html
    assert not GenerationJob.objects.exists()


def test_action_queues_jobs_and_skips_non_drafts(admin_user, draft_experiment, make_experiment, no_enqueue):
    running = make_experiment("pulse-live", start=True)
    admin = FakeExperimentAdmin()
    data = {"action": "generate_llm_variants", "apply": "1", "lambdas": "0.3, 0.7", "candidates": "4", "top_k": "2"}
    result = generate_llm_variants(
        admin, _request("post", admin_user, data), Experiment.objects.filter(pk__in=[draft_experiment.pk, running.pk])
    )
    assert result is None
    made = GenerationJob.objects.order_by("pk")
    assert [job.lambdas for job in made] == [[0.3], [0.7]]  # one job per LLM arm
    assert all(job.experiment == draft_experiment and job.top_k == 2 for job in made)
    assert any("queued" in m for m in admin.messages)
    assert any("pulse-live" in m and "draft" in m for m in admin.messages)


def test_action_form_validation():
    assert not GenerateForm({"lambdas": "a, b", "candidates": 4, "top_k": 2}).is_valid()
    assert not GenerateForm({"lambdas": "", "candidates": 4, "top_k": 5}).is_valid()
    form = GenerateForm({"lambdas": "", "candidates": 4, "top_k": 2})
    assert form.is_valid() and form.cleaned_data["lambdas"] is None


def test_job_and_predictor_admin_pages_render(admin_client, draft_experiment, stub_pipeline):
    job = jobs.generation_job_create(experiment=draft_experiment, lambdas=[0.5], candidates=3, top_k=2, enqueue=False)
    jobs.generation_job_run(job_id=job.pk, generate=stub_pipeline)
    listing = admin_client.get("/admin/generator/generationjob/")
    assert listing.status_code == 200 and b"<progress" in listing.content
    page = admin_client.get(f"/admin/generator/generationjob/{job.pk}/change/")
    assert page.status_code == 200
    assert b"Thirty hours of music" in page.content or b"Wireless earbuds" in page.content
    assert admin_client.get("/admin/generator/conversionpredictor/").status_code == 200
