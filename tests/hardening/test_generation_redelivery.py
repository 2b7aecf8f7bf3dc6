"""generation_job_run under redelivery, in-process (the real-worker kills are in
tests/integration/test_generation_kill.py): a second delivery of a job that another one finished
writes nothing; a job whose worker keeps dying is given up after MAX_JOB_ATTEMPTS."""

from __future__ import annotations

import pytest

from experiments.models import Variant
from generator import jobs
from generator.models import Candidate, GenerationJob
from tests.conftest import arm_copy
from tests.generator.conftest import stub_generate_for_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(make_experiment):
    experiment = make_experiment("redelivered")
    return jobs.generation_job_create(
        experiment=experiment, lambdas=[0.3, 0.7], candidates=3, top_k=2, seed=3, enqueue=False
    )


def test_a_delivery_that_loses_the_race_writes_nothing(job):
    first = jobs.generation_job_run  # the delivery that wins, run to the end below
    winner_rows: list[set[int]] = []

    def racing_pipeline(**kwargs):
        result = stub_generate_for_product(**kwargs)
        if not winner_rows:  # while this (slow) delivery computes, a duplicate one finishes the job
            winner_rows.append(set())
            first(job_id=job.pk, generate=racing_pipeline)
            winner_rows[0] = set(Candidate.objects.filter(job=job).values_list("pk", flat=True))
        return result

    jobs.generation_job_run(job_id=job.pk, generate=racing_pipeline)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED and job.attempts == 2
    # One result, the winner's: 2 λ × 3 candidates, one LLM variant per λ, no duplicates.
    assert set(Candidate.objects.filter(job=job).values_list("pk", flat=True)) == winner_rows[0]
    assert len(winner_rows[0]) == 6
    keys = list(Variant.objects.filter(experiment=job.experiment, key__in=["llm-l030", "llm-l070"]).values_list("key"))
    assert len(keys) == 2


def test_winner_copy_and_its_approval_survive_a_late_duplicate(job, marketer):
    from experiments.variants import variant_approve

    late = []

    def late_pipeline(**kwargs):
        result = stub_generate_for_product(**kwargs)
        if not late:
            late.append(1)
            jobs.generation_job_run(job_id=job.pk, generate=stub_generate_for_product)
            variant_approve(variant=Variant.objects.get(experiment=job.experiment, key="llm-l030"), user=marketer)
        return result

    jobs.generation_job_run(job_id=job.pk, generate=late_pipeline)
    variant = Variant.objects.get(experiment=job.experiment, key="llm-l030")
    assert (
        arm_copy(variant).approved and arm_copy(variant).reviewed_by == marketer
    )  # not reset by the duplicate's upsert


def test_job_found_running_after_max_attempts_is_failed_without_running(job):
    GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.RUNNING, attempts=jobs.MAX_JOB_ATTEMPTS)
    job = jobs.generation_job_run(job_id=job.pk, generate=lambda **kw: pytest.fail("must not run again"))
    assert job.status == GenerationJob.Status.FAILED and job.finished_at is not None
    assert f"{jobs.MAX_JOB_ATTEMPTS} attempts" in job.error
    assert not Candidate.objects.filter(job=job).exists()


def test_job_found_running_below_max_attempts_runs_again_from_scratch(job):
    GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.RUNNING, attempts=1, progress=0.4)
    job = jobs.generation_job_run(job_id=job.pk, generate=stub_generate_for_product)
    assert job.status == GenerationJob.Status.SUCCEEDED and job.attempts == 2
    assert Candidate.objects.filter(job=job).count() == 6


def test_hard_time_limit_failure_signal_fails_a_running_job(job):
    from celery.exceptions import TimeLimitExceeded
    from celery.signals import task_failure

    from generator import tasks

    GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.RUNNING, attempts=1)
    task_failure.send(sender=tasks.generation_job_execute, task_id="t", exception=TimeLimitExceeded(5), args=[job.pk])
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.FAILED and "hard time limit" in job.error
    # A finished job is left as it is (a late or duplicate failure report).
    GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.SUCCEEDED, error="")
    task_failure.send(sender=tasks.generation_job_execute, task_id="t", exception=TimeLimitExceeded(5), args=[job.pk])
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED and job.error == ""
