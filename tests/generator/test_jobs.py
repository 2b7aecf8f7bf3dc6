"""Generation jobs: input validation, queueing, running with a stub pipeline, variants, the task."""

import pytest
from django.db import OperationalError

from abplatform.errors import FieldErrors, LifecycleError
from experiments.models import Experiment, Variant
from generator import job_runner, jobs, tasks
from generator.models import Candidate, ConversionPredictor, GenerationJob
from tests.conftest import arm_copy


@pytest.mark.parametrize(
    ("lambdas", "candidates", "top_k", "field"),
    [
        ([], 8, 3, "lambdas"),
        ([0.2, 1.2], 8, 3, "lambdas"),
        ([-0.1], 8, 3, "lambdas"),
        ([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 8, 3, "lambdas"),
        (["x"], 8, 3, "lambdas"),
        ("0.5", 8, 3, "lambdas"),
        ([0.5, 0.5], 8, 3, "lambdas"),
        ([0.5], 0, 1, "candidates"),
        ([0.5], 33, 3, "candidates"),
        ([0.5], "8", 3, "candidates"),
        ([0.5], 4, 5, "top_k"),
        ([0.5], 4, 0, "top_k"),
    ],
)
def test_input_validation_names_the_bad_field(lambdas, candidates, top_k, field):
    with pytest.raises(FieldErrors) as info:
        jobs.generation_input_validate(lambdas=lambdas, candidates=candidates, top_k=top_k)
    assert field in info.value.errors


def test_input_validation_accepts_and_rounds():
    assert jobs.generation_input_validate(lambdas=[0.6, 0, 1], candidates=32, top_k=32) == ([0.6, 0.0, 1.0], 32, 32)


def test_create_queues_on_commit(draft_experiment, marketer, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.generation_job_execute, "delay", lambda job_id: sent.append(job_id))
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.generation_job_create(experiment=draft_experiment, lambdas=None, user=marketer)
    assert sent == [job.pk]
    assert job.lambdas == [0.2, 0.4, 0.6]  # Electronics: recommended 0.4 ± 0.2
    assert job.status == GenerationJob.Status.QUEUED and job.created_by == marketer and job.seed > 0


def test_only_drafts_can_be_generated_for(make_experiment):
    running = make_experiment("pulse-live", start=True)
    with pytest.raises(LifecycleError, match="draft"):
        jobs.generation_job_create(experiment=running, lambdas=[0.5], enqueue=False)


def test_job_run_stores_every_candidate_and_one_draft_variant_per_lambda(draft_experiment, stub_pipeline):
    job = jobs.generation_job_create(
        experiment=draft_experiment, lambdas=[0.4, 0.8], candidates=4, top_k=2, seed=5, enqueue=False
    )
    job = jobs.generation_job_run(job_id=job.pk, generate=stub_pipeline)
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert job.progress == 1.0 and job.finished_at and job.model_version == "stub-model"
    assert job.predictor_version == "prior-v1" and job.prompt_version == "copy-test"
    assert Candidate.objects.filter(job=job).count() == 8
    cheap = Candidate.objects.filter(job=job, text__startswith="Cheap")
    assert all("forbidden word 'cheap'" in c.dropped_reason and c.rank is None for c in cheap)
    variants = {v.key: v for v in draft_experiment.variants.all()}
    assert {"llm-l040", "llm-l080"} <= set(variants)
    new = variants["llm-l080"]
    assert new.source == Variant.Source.LLM and not arm_copy(new).approved and new.lambda_value == 0.8
    assert new.position > max(v.position for v in variants.values() if v.key != "llm-l080") - 1
    best = Candidate.objects.get(job=job, lambda_value=0.8, rank=1)
    assert best.variant == new and best.text == arm_copy(new).copy
    assert [e["variant"] for e in job.summary["lambdas"]] == ["llm-l040", "llm-l080"]


def test_existing_llm_key_gets_new_copy_and_loses_its_approval(draft_experiment, stub_pipeline):
    existing = draft_experiment.variants.get(key="llm-l040")
    assert arm_copy(existing).approved
    job = jobs.generation_job_create(experiment=draft_experiment, lambdas=[0.4], candidates=4, top_k=1, enqueue=False)
    jobs.generation_job_run(job_id=job.pk, generate=stub_pipeline)
    existing.refresh_from_db()
    assert not arm_copy(existing).approved and existing.source == Variant.Source.LLM
    assert arm_copy(existing).copy == Candidate.objects.get(job=job, rank=1).text
    assert draft_experiment.variants.filter(key="llm-l040").count() == 1


def test_no_variants_when_the_experiment_left_draft_meanwhile(draft_experiment, stub_pipeline):
    job = jobs.generation_job_create(experiment=draft_experiment, lambdas=[0.3], candidates=2, top_k=1, enqueue=False)
    Experiment.objects.filter(pk=draft_experiment.pk).update(status=Experiment.Status.PAUSED)
    job = jobs.generation_job_run(job_id=job.pk, generate=stub_pipeline)
    assert job.status == GenerationJob.Status.SUCCEEDED
    assert not draft_experiment.variants.filter(key="llm-l030").exists()
    assert "no variant was created" in job.summary["lambdas"][0]["note"]
    assert Candidate.objects.filter(job=job).count() == 2


def test_failure_leaves_a_readable_error_and_no_half_made_variants(draft_experiment):
    def broken(**kwargs):
        kwargs["progress"](0.5)
        raise RuntimeError("model folder missing")

    before = set(draft_experiment.variants.values_list("key", flat=True))
    job = jobs.generation_job_create(experiment=draft_experiment, lambdas=[0.5], enqueue=False)
    job = jobs.generation_job_run(job_id=job.pk, generate=broken)
    assert job.status == GenerationJob.Status.FAILED
    assert job.error == "RuntimeError: model folder missing"
    assert set(draft_experiment.variants.values_list("key", flat=True)) == before
    assert not Candidate.objects.filter(job=job).exists()


def test_failure_while_saving_rolls_back_candidates_and_variants(draft_experiment, stub_pipeline, monkeypatch):
    def explode(*args, **kwargs):
        raise ValueError("disk full")

    monkeypatch.setattr(Candidate.objects, "bulk_create", explode)
    job = jobs.generation_job_create(experiment=draft_experiment, lambdas=[0.9], candidates=2, top_k=1, enqueue=False)
    job = jobs.generation_job_run(job_id=job.pk, generate=stub_pipeline)
    assert job.status == GenerationJob.Status.FAILED and "disk full" in job.error
    assert not draft_experiment.variants.filter(key="llm-l090").exists()


def test_finished_jobs_are_not_run_twice(draft_experiment, stub_pipeline):
    job = jobs.generation_job_create(experiment=draft_experiment, lambdas=[0.5], candidates=2, top_k=1, enqueue=False)
    jobs.generation_job_run(job_id=job.pk, generate=stub_pipeline)
    again = jobs.generation_job_run(job_id=job.pk, generate=stub_pipeline)
    assert again.attempts == 1 and Candidate.objects.filter(job=job).count() == 2


def test_task_retries_database_hiccups_then_fails(draft_experiment, monkeypatch):
    # The task runs the job with the module's pipeline: nothing to pass it, so it is replaced there.
    monkeypatch.setattr(
        job_runner, "generate_for_products", lambda **kw: (_ for _ in ()).throw(OperationalError("database is locked"))
    )
    job = jobs.generation_job_create(experiment=draft_experiment, lambdas=[0.5], enqueue=False)
    from abplatform.celery import app

    app.conf.task_eager_propagates = False  # eager retries re-apply with the app default (the fixture restores it)
    result = tasks.generation_job_execute.apply(args=[job.pk])
    job.refresh_from_db()
    # Eager apply re-runs the retries in-process: after max_retries the job is failed, readably.
    assert job.status == GenerationJob.Status.FAILED and "database is locked" in job.error
    assert job.attempts == tasks.generation_job_execute.max_retries + 1
    assert result.failed()


def test_task_declares_queue_limits_and_acks_late():
    task = tasks.generation_job_execute
    assert task.queue == "generation" and task.acks_late and task.soft_time_limit < task.time_limit
    assert tasks.predictor_refit_task.queue == "generation"


def test_sync_run_for_set_up_commands(draft_experiment, stub_pipeline):
    job = jobs.generation_run_sync(
        experiment=draft_experiment, lambdas=[0.75], candidates=3, top_k=2, generate=stub_pipeline
    )
    assert job.status == GenerationJob.Status.SUCCEEDED
    assert draft_experiment.variants.filter(key="llm-l075", source="llm", copies__status="pending").exists()


def test_a_fitted_predictor_puts_its_directives_in_the_jobs_prompts(draft_experiment):
    from generator import prompts
    from generator.pipeline import PipelineResult

    seen = []

    def capture(**kwargs):
        seen.append(kwargs["params"].directives)
        return PipelineResult(model_version="stub-model", prompt_version="copy-test")

    create = dict(experiment=draft_experiment, lambdas=[0.5], candidates=2, top_k=1, seed=1, enqueue=False)
    prior_job = jobs.generation_job_run(job_id=jobs.generation_job_create(**create).pk, generate=capture)
    ConversionPredictor.objects.create(
        version=1,
        target="cvr",
        category=draft_experiment.product.category,
        coefficients={"intercept": -3.5, "specificity": 0.4, "hype": -0.05},
        feature_names=["specificity", "hype"],
        active=True,
    )
    fitted_job = jobs.generation_job_run(job_id=jobs.generation_job_create(**create).pk, generate=capture)
    figures = prompts.LEARNED_DIRECTIVES["specificity"][1]
    assert seen == [(), (figures,)]
    assert prior_job.params["directives"] == [] and fitted_job.params["directives"] == [figures]
    assert fitted_job.predictor_version == "cvr-v1"


def test_a_control_named_like_an_llm_arm_is_never_overwritten(draft_experiment, stub_pipeline):
    control = draft_experiment.variants.get(is_control=True)
    original = arm_copy(control).copy
    Variant.objects.filter(pk=control.pk).update(key="llm-l050")
    job = jobs.generation_job_create(experiment=draft_experiment, lambdas=[0.5], candidates=2, top_k=1, enqueue=False)
    job = jobs.generation_job_run(job_id=job.pk, generate=stub_pipeline)
    control.refresh_from_db()
    assert control.is_control and arm_copy(control).copy == original and control.key == "llm-l050"
    made = draft_experiment.variants.get(key="llm-l050-llm")
    assert (
        made.source == Variant.Source.LLM
        and not arm_copy(made).approved
        and arm_copy(made).copy != arm_copy(control).copy
    )
    assert job.summary["lambdas"][0]["variant"] == "llm-l050-llm"
    assert made.position > max(v.position for v in draft_experiment.variants.exclude(pk=made.pk))
