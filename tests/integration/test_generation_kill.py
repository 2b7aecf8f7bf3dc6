"""A generation worker killed mid-job: the job is retried to the end or fails, never half-made copy.

Real pieces: Celery worker processes consuming the `generation` queue on the Redis broker,
generation_job_execute → generation_job_run and its transaction, PostgreSQL, SIGKILL. Only the
language model is a paced stand-in (tests/integration/generation_worker.py), so that each kill
lands while a job is known to be half done: its first λ pool scored, its last one not yet.

- the pool child dies (the kernel's OOM killer, a CUDA crash): the worker's main process sees
  WorkerLostError and, with `reject_on_worker_lost`, puts the message back at once;
- the whole worker dies (the host is gone): the message stays unacknowledged in Redis, and a new
  worker gets it after the transport's visibility timeout;
- the child dies on every attempt (a job that always runs out of memory): after MAX_JOB_ATTEMPTS
  the job is failed instead of being redelivered forever;
- the hard time limit kills a hung child: the job is failed, not left "running".

Nothing of a killed attempt may be visible (candidates and variants are written in one
transaction at the very end); a finished job has the complete set: one candidate row per sample
and one draft variant per λ.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.models import Variant
from generator import jobs, tasks
from generator.models import Candidate, GenerationJob
from tests.conftest import arm_copy
from tests.integration import conftest as integration
from tests.integration.conftest import ROOT, Worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LAMBDAS = [0.3, 0.5, 0.7]  # none of them is an arm the fixture's experiment already has
CANDIDATES = 3
TOP_K = 2
# Progress is 0.05 + 0.9 × (pools done / pools): past the first pool, short of the end.
FIRST_POOL_DONE = 0.05 + 0.9 / len(LAMBDAS) - 0.01
SECONDS_PER_POOL = 1.5
Status = GenerationJob.Status


class GenerationWorker(Worker):
    """conftest's Worker, started through the stand-in model's entry point."""

    def start(self) -> GenerationWorker:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        args = [sys.executable, "-m", "tests.integration.generation_worker", "worker", "-Q", self.queues]
        args += ["--concurrency", str(self.concurrency), "--loglevel", "INFO"]
        args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def pool_child(self) -> int:
        """The pid of the pool process running the job (--concurrency 1: the only child)."""
        assert self.process is not None
        children = [pid for pid in _pids() if _parent(pid) == self.process.pid]
        assert len(children) == 1, children
        return children[0]

    def kill_pool_child(self) -> None:
        child = self.pool_child()
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _parent(child) == self.process.pid and time.monotonic() < deadline:  # until reaped
            time.sleep(0.05)


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state; comm may hold spaces


@pytest.fixture
def generation_worker(real_services, tmp_path):
    """Workers started as worker_factory starts them: the test database, Redis, a 5 s visibility timeout."""
    started: list[GenerationWorker] = []

    def make(**env: str) -> GenerationWorker:
        worker_env = {
            **os.environ,
            "DATABASE_URL": integration.test_database_url(),
            "CELERY_BROKER_URL": real_services,
            "CELERY_VISIBILITY_TIMEOUT": "5",
            "STUB_SECONDS_PER_POOL": str(SECONDS_PER_POOL),
            **env,
        }
        log = tmp_path / f"generation-worker-{len(started)}.log"
        worker = GenerationWorker("generation", worker_env, concurrency=1, log=log)
        started.append(worker)
        return worker.start()

    yield make
    for worker in started:
        worker.stop()


def _job(make_experiment, key: str) -> tuple[GenerationJob, set[str]]:
    experiment = make_experiment(key)
    before = set(experiment.variants.values_list("key", flat=True))
    # enqueue=True: under autocommit on_commit fires at once, so the message is on Redis now.
    job = jobs.generation_job_create(
        experiment=experiment, lambdas=LAMBDAS, candidates=CANDIDATES, top_k=TOP_K, seed=41
    )
    return job, before


def _at(job: GenerationJob, *, attempts: int) -> bool:
    """The job's `attempts`-th run is past its first λ pool and short of its end."""
    job.refresh_from_db()
    assert job.status != Status.SUCCEEDED, "the job finished before it could be killed"
    return job.status == Status.RUNNING and job.attempts == attempts and job.progress >= FIRST_POOL_DONE


def _wait_mid_job(job: GenerationJob, attempts: int = 1) -> None:
    wait_for(lambda: _at(job, attempts=attempts), timeout=45, interval=0.05, message=f"run {attempts} to be half done")


def _wait_status(job: GenerationJob, status: str, timeout: float, message: str) -> float:
    started = time.monotonic()
    wait_for(lambda: GenerationJob.objects.filter(pk=job.pk, status=status).exists(), timeout, 0.1, message)
    return time.monotonic() - started


def _assert_nothing_half_made(job: GenerationJob, variants_before: set[str], status: str = Status.RUNNING) -> None:
    job.refresh_from_db()
    assert job.status == status and job.progress < 1.0, (job.status, job.progress)
    assert not Candidate.objects.filter(job=job).exists()
    assert set(Variant.objects.filter(experiment_id=job.experiment_id).values_list("key", flat=True)) == variants_before


def _assert_complete(job: GenerationJob, variants_before: set[str], attempts: int) -> None:
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error
    assert job.attempts == attempts, job.attempts
    assert job.progress == 1.0 and job.finished_at is not None and not job.error
    candidates = list(Candidate.objects.filter(job=job))
    assert len(candidates) == len(LAMBDAS) * CANDIDATES  # no leftovers of the killed attempt, none missing
    for lam in LAMBDAS:
        positions = sorted(c.position for c in candidates if c.lambda_value == lam)
        assert positions == list(range(CANDIDATES)), (lam, positions)
    llm_keys = {jobs.variant_key_for(lam) for lam in LAMBDAS}
    variants = Variant.objects.filter(experiment_id=job.experiment_id)
    assert set(variants.values_list("key", flat=True)) == variants_before | llm_keys
    for key in llm_keys:
        variant = variants.get(key=key)
        assert (
            variant.source == Variant.Source.LLM and not arm_copy(variant).approved and arm_copy(variant).copy.strip()
        )
        linked = [c for c in candidates if c.variant_id == variant.pk]
        assert len(linked) == 1 and linked[0].text == arm_copy(variant).copy and linked[0].rank == 1


def test_pool_child_killed_mid_job_is_requeued_and_finishes_whole(make_experiment, generation_worker):
    job, before = _job(make_experiment, "gen-kill-child")
    worker = generation_worker()
    _wait_mid_job(job)
    worker.kill_pool_child()
    _assert_nothing_half_made(job, before)
    took = _wait_status(job, Status.SUCCEEDED, 30, "the requeued job to finish")
    print(f"pool child killed mid-job: finished by the same worker {took:.1f} s later")
    assert worker.process.poll() is None  # the main process lived on, requeued and ran it again
    _assert_complete(job, before, attempts=2)


def test_whole_worker_killed_mid_job_is_redelivered_to_another(make_experiment, generation_worker):
    job, before = _job(make_experiment, "gen-kill-worker")
    first = generation_worker()
    _wait_mid_job(job)
    first.kill9()  # the main process and its pool child at once: nobody is left to requeue
    _assert_nothing_half_made(job, before)
    time.sleep(1)
    _assert_nothing_half_made(job, before)  # no straggler wrote anything after the kill
    generation_worker()
    took = _wait_status(job, Status.SUCCEEDED, 45, "another worker to get the unacknowledged job and finish it")
    print(f"whole worker killed mid-job: finished {took:.1f} s after a new worker started")
    _assert_complete(job, before, attempts=2)


def test_job_whose_worker_dies_on_every_attempt_fails_instead_of_looping(make_experiment, generation_worker):
    job, before = _job(make_experiment, "gen-kill-always")
    worker = generation_worker()
    for attempt in range(1, jobs.MAX_JOB_ATTEMPTS + 1):
        _wait_mid_job(job, attempts=attempt)
        worker.kill_pool_child()
        _assert_nothing_half_made(job, before)
    _wait_status(job, Status.FAILED, 30, "the job to be given up")
    _assert_nothing_half_made(job, before, status=Status.FAILED)
    assert job.attempts == jobs.MAX_JOB_ATTEMPTS and job.finished_at is not None
    assert f"{jobs.MAX_JOB_ATTEMPTS} attempts" in job.error, job.error
    time.sleep(2 * SECONDS_PER_POOL)
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempts == jobs.MAX_JOB_ATTEMPTS  # not run again


def test_hard_time_limit_fails_the_job_instead_of_leaving_it_running(make_experiment, generation_worker):
    experiment = make_experiment("gen-hard-limit")
    before = set(experiment.variants.values_list("key", flat=True))
    job = jobs.generation_job_create(
        experiment=experiment, lambdas=LAMBDAS, candidates=CANDIDATES, top_k=TOP_K, seed=41, enqueue=False
    )
    # Limits that end the job mid-run; the stand-in ignores the soft one, as a job hung inside a
    # CUDA call would, so Celery's hard limit kills the pool child.
    tasks.generation_job_execute.apply_async(
        args=[job.pk], soft_time_limit=SECONDS_PER_POOL, time_limit=3 * SECONDS_PER_POOL
    )
    worker = generation_worker(STUB_IGNORE_SOFT_LIMIT="1")
    _wait_status(job, Status.FAILED, 30, "the job to be failed after its hard time limit")
    _assert_nothing_half_made(job, before, status=Status.FAILED)
    assert "hard time limit" in job.error and job.finished_at is not None, job.error
    assert worker.process.poll() is None
    time.sleep(2 * SECONDS_PER_POOL)
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempts == 1  # acknowledged, not redelivered
