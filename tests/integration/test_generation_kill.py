"""A generation worker killed mid-job: the job resumes where it stopped, and never writes a product twice.

Real pieces: Celery worker processes consuming the `generation` queue on the Redis broker,
generation_job_execute → generation_job_run and its one transaction per (product, λ),
PostgreSQL, SIGKILL. Only the language model is a paced stand-in
(tests/integration/generation_worker.py) that takes a fixed time per product and logs every call
to a file, so that each kill lands while a catalog job is known to be part done, and the test can
count how often each product was generated and by which process.

- the pool child dies (the kernel's OOM killer, a CUDA crash): the worker's main process sees
  WorkerLostError and, with `reject_on_worker_lost`, puts the message back at once;
- the whole worker dies (the host is gone): the message stays unacknowledged in Redis, and a new
  worker gets it after the transport's visibility timeout;
- the child dies on every attempt before it finishes one product (a job that always runs out of
  memory): after MAX_JOB_ATTEMPTS deliveries without progress the job is failed instead of being
  redelivered forever;
- the hard time limit kills a hung child: the job is failed, not left "running", and what it
  finished is kept.

What a killed attempt finished stays as it is (its GenerationJobProduct rows, its candidates, the
copy it wrote); the product it was working on has nothing written, and the next delivery skips the
finished products and generates each of the others once. A finished job has exactly one
GenerationJobProduct per (product, λ), one candidate pool per pair, and one copy row per
(product, arm) holding the pool's best candidate.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from experiments import services
from experiments.models import Variant, VariantCopy, variant_key_for
from generator import jobs, tasks
from generator.models import Candidate, GenerationJob, GenerationJobProduct
from tests.experiments.catalog_helpers import catalog_products
from tests.integration import conftest as integration
from tests.integration.conftest import ROOT, Worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PRODUCTS = 6
LAMBDAS = [0.3, 0.7]  # neither is an arm the experiment already has
PAIRS = PRODUCTS * len(LAMBDAS)
CANDIDATES = 3
TOP_K = 2
SECONDS_PER_PRODUCT = 0.6
KILL_AFTER = 3  # (product, λ) pairs finished by the first attempt before it is killed
# Long enough that a running job is never handed out again by Redis while its worker lives: only
# the test's kills cause redeliveries. The whole-worker case uses a short one to get its job back.
NO_REDELIVERY_TIMEOUT = "120"
Status = GenerationJob.Status
Pair = tuple[int, float]  # (product id, λ)


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

    def kill_pool_child(self) -> int:
        child = self.pool_child()
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _parent(child) == self.process.pid and time.monotonic() < deadline:  # until reaped
            time.sleep(0.05)
        return child


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state; comm may hold spaces


class Calls:
    """The stand-in's log: one (title, λ, pid) line per call, written when the call starts."""

    def __init__(self, path: Path, titles: dict[str, int] | None = None):
        self.path, self.titles = path, titles or {}

    def read(self) -> list[tuple[Pair, int]]:
        if not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text().splitlines():
            title, lam, pid = line.split("\t")
            rows.append(((self.titles[title], float(lam)), int(pid)))
        return rows


@pytest.fixture
def calls(tmp_path) -> Calls:
    return Calls(tmp_path / "stand-in-calls.tsv")


@pytest.fixture
def generation_worker(real_services, tmp_path, calls):
    """Workers started as worker_factory starts them (the test database, Redis), with the stand-in model."""
    started: list[GenerationWorker] = []

    def make(**env: str) -> GenerationWorker:
        worker_env = {
            **os.environ,
            "DATABASE_URL": integration.test_database_url(),
            "CELERY_BROKER_URL": real_services,
            "CELERY_VISIBILITY_TIMEOUT": NO_REDELIVERY_TIMEOUT,
            "STUB_SECONDS_PER_PRODUCT": str(SECONDS_PER_PRODUCT),
            "STUB_CALLS_FILE": str(calls.path),
            **env,
        }
        log = tmp_path / f"generation-worker-{len(started)}.log"
        worker = GenerationWorker("generation", worker_env, concurrency=1, log=log)
        started.append(worker)
        return worker.start()

    yield make
    for worker in started:
        worker.stop()


def _job(key: str, calls: Calls, *, enqueue: bool = True) -> tuple[GenerationJob, set[str]]:
    """A queued job at LAMBDAS over a draft catalog experiment of PRODUCTS products."""
    products = catalog_products(PRODUCTS, prefix=key.upper())
    calls.titles = {p.title: p.pk for p in products}
    experiment = services.experiment_create(
        key=key,
        name=f"Kill test {key}",
        products={"skus": [p.sku for p in products]},
        variants=[{"key": "control", "is_control": True, "weight": 1}, {"key": "template", "weight": 1}],
    )
    before = set(experiment.variants.values_list("key", flat=True))
    # enqueue=True: under autocommit on_commit fires at once, so the message is on Redis now.
    job = jobs.generation_job_create(
        experiment=experiment, lambdas=LAMBDAS, candidates=CANDIDATES, top_k=TOP_K, seed=41, enqueue=enqueue
    )
    assert job.products_total == PAIRS
    return job, before


def _finished(job: GenerationJob) -> dict[Pair, int]:
    """The (product, λ) pairs written so far, with the delivery that wrote each."""
    rows = GenerationJobProduct.objects.filter(job=job).values_list("product_id", "lambda_value", "attempt")
    return {(product, lam): attempt for product, lam, attempt in rows}


def _candidate_ids(job: GenerationJob) -> dict[Pair, set[int]]:
    ids: dict[Pair, set[int]] = {}
    for pk, product, lam in Candidate.objects.filter(job=job).values_list("pk", "product_id", "lambda_value"):
        ids.setdefault((product, lam), set()).add(pk)
    return ids


def _wait_part_done(job: GenerationJob, calls: Calls) -> None:
    """Until the first delivery has finished KILL_AFTER pairs and is working on another."""

    def part_done() -> bool:
        job.refresh_from_db()
        assert job.status != Status.SUCCEEDED, "the job finished before it could be killed"
        done = len(_finished(job))
        return job.status == Status.RUNNING and job.attempts == 1 and done >= KILL_AFTER and len(calls.read()) > done

    wait_for(part_done, timeout=90, interval=0.05, message=f"the first run to finish {KILL_AFTER} products")


def _wait_status(job: GenerationJob, status: str, timeout: float, message: str) -> float:
    started = time.monotonic()
    wait_for(lambda: GenerationJob.objects.filter(pk=job.pk, status=status).exists(), timeout, 0.1, message)
    return time.monotonic() - started


def _assert_consistent(job: GenerationJob) -> dict[Pair, int]:
    """Whatever the job's state: candidates only for finished pairs, a whole pool for each, and an
    arm's copy for a product only where that pair finished (the best candidate, linked to the arm)."""
    finished = _finished(job)
    pools = _candidate_ids(job)
    assert set(pools) <= set(finished), f"candidates of unfinished pairs: {set(pools) - set(finished)}"
    arms = {v.lambda_value: v for v in Variant.objects.filter(experiment_id=job.experiment_id, source="llm")}
    copies = {
        (row.variant_id, row.product_id): row
        for row in VariantCopy.objects.filter(variant__experiment_id=job.experiment_id)
    }
    for product, lam in finished:
        positions = sorted(
            Candidate.objects.filter(job=job, product_id=product, lambda_value=lam).values_list("position", flat=True)
        )
        assert positions == list(range(CANDIDATES)), ((product, lam), positions)
        chosen = Candidate.objects.get(job=job, product_id=product, lambda_value=lam, variant__isnull=False)
        assert chosen.rank == 1 and chosen.variant_id == arms[lam].pk
        assert copies[(arms[lam].pk, product)].copy == chosen.text and chosen.text.strip()
    for lam, arm in arms.items():
        for (variant_id, product), row in copies.items():
            if variant_id == arm.pk and (product, lam) not in finished:
                assert row.copy == "" and not row.candidates, f"copy for unfinished pair {(product, lam)}"
    return finished


def _assert_complete(job: GenerationJob, variants_before: set[str], attempts: int) -> None:
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error
    assert job.attempts == attempts, job.attempts
    assert job.progress == 1.0 and job.finished_at is not None and not job.error
    assert GenerationJobProduct.objects.filter(job=job).count() == PAIRS  # the unique constraint forbids doubles
    statuses = Counter(GenerationJobProduct.objects.filter(job=job).values_list("status", flat=True))
    assert statuses == {GenerationJobProduct.Status.DONE: PAIRS}, statuses
    assert (job.products_done, job.products_failed, job.candidates_made) == (PAIRS, 0, PAIRS * CANDIDATES)
    assert Candidate.objects.filter(job=job).count() == PAIRS * CANDIDATES
    _assert_consistent(job)
    variants = Variant.objects.filter(experiment_id=job.experiment_id)
    llm_keys = {variant_key_for(lam) for lam in LAMBDAS}
    assert set(variants.values_list("key", flat=True)) == variants_before | llm_keys
    for variant in variants:  # one copy row per (product, arm), every arm
        rows = VariantCopy.objects.filter(variant=variant)
        assert rows.count() == rows.values("product").distinct().count() == PRODUCTS, variant.key
    for key in llm_keys:
        rows = VariantCopy.objects.filter(variant__experiment_id=job.experiment_id, variant__key=key)
        assert all(r.copy.strip() and not r.approved for r in rows), key


def _assert_resumed(
    calls: Calls, killed: set[int], before_kill: dict[Pair, int], pools_before: dict[Pair, set[int]], job
) -> None:
    """The pairs finished before the kill were generated once and kept; the others once after it."""
    log = calls.read()
    by_killed = Counter(pair for pair, pid in log if pid in killed)
    after = Counter(pair for pair, pid in log if pid not in killed)
    assert all(by_killed[pair] == 1 for pair in before_kill), by_killed
    in_flight = set(by_killed) - set(before_kill)
    assert len(in_flight) <= 1, in_flight  # the pair the kill interrupted (none if it fell between two)
    every = {(pid, lam) for pid in calls.titles.values() for lam in LAMBDAS}
    assert set(after) == every - set(before_kill), "after the kill: a finished pair redone, or a pair left out"
    assert all(n == 1 for n in after.values()), f"generated twice after the kill: {after}"
    pools_now = _candidate_ids(job)
    for pair, ids in pools_before.items():
        assert pools_now[pair] == ids, f"the candidates of {pair}, finished before the kill, were replaced"
    assert set(_finished(job).items()) >= set(before_kill.items())  # same rows, same delivery


def _state_at_kill(job: GenerationJob) -> tuple[dict[Pair, int], dict[Pair, set[int]]]:
    finished = _assert_consistent(job)
    first = {pair: attempt for pair, attempt in finished.items() if attempt == 1}
    assert KILL_AFTER <= len(first) < PAIRS, len(first)
    pools = _candidate_ids(job)
    return first, {pair: pools[pair] for pair in first}


def test_pool_child_killed_mid_job_resumes_without_redoing_products(generation_worker, calls):
    job, before = _job("gen-kill-child", calls)
    worker = generation_worker()
    _wait_part_done(job, calls)
    killed = worker.kill_pool_child()
    # The replacement child may already have started the second delivery: rows of delivery 1 are
    # what the killed attempt left.
    before_kill, pools_before = _state_at_kill(job)
    took = _wait_status(job, Status.SUCCEEDED, 90, "the requeued job to finish")
    print(f"pool child killed after {len(before_kill)}/{PAIRS} pairs: finished by the same worker {took:.1f} s later")
    assert worker.process.poll() is None  # the main process lived on, requeued and ran it again
    _assert_complete(job, before, attempts=2)
    _assert_resumed(calls, {killed}, before_kill, pools_before, job)


def test_whole_worker_killed_mid_job_is_redelivered_and_resumed(generation_worker, calls):
    job, before = _job("gen-kill-worker", calls)
    first = generation_worker(CELERY_VISIBILITY_TIMEOUT="5")
    _wait_part_done(job, calls)
    killed = first.pool_child()
    first.kill9()  # the main process and its pool child at once: nobody is left to requeue
    before_kill, pools_before = _state_at_kill(job)
    time.sleep(1)
    assert _finished(job) == before_kill and _candidate_ids(job) == pools_before  # no straggler wrote anything
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.progress < 1.0
    generation_worker(CELERY_VISIBILITY_TIMEOUT="5")
    took = _wait_status(job, Status.SUCCEEDED, 120, "another worker to get the unacknowledged job and finish it")
    print(f"whole worker killed after {len(before_kill)}/{PAIRS} pairs: finished {took:.1f} s after a new one started")
    _assert_complete(job, before, attempts=2)
    _assert_resumed(calls, {killed}, before_kill, pools_before, job)


def test_job_whose_worker_dies_on_every_attempt_fails_instead_of_looping(generation_worker, calls):
    job, before = _job("gen-kill-always", calls)
    # Products slow enough that every kill lands inside the first one: no delivery makes progress.
    worker = generation_worker(STUB_SECONDS_PER_PRODUCT="5")
    killed: set[int] = set()
    for attempt in range(1, jobs.MAX_JOB_ATTEMPTS + 1):

        def started(attempt: int = attempt) -> bool:
            job.refresh_from_db()
            return job.status == Status.RUNNING and job.attempts == attempt and len(calls.read()) >= attempt

        wait_for(started, timeout=60, interval=0.05, message=f"delivery {attempt} to start a product")
        killed.add(worker.kill_pool_child())
        assert not _finished(job) and not Candidate.objects.filter(job=job).exists()
    _wait_status(job, Status.FAILED, 60, "the job to be given up")
    job.refresh_from_db()
    assert job.attempts == jobs.MAX_JOB_ATTEMPTS and job.finished_at is not None and job.progress < 1.0
    assert f"{jobs.MAX_JOB_ATTEMPTS} attempts" in job.error, job.error
    assert not _finished(job) and not Candidate.objects.filter(job=job).exists()
    assert set(Variant.objects.filter(experiment_id=job.experiment_id).values_list("key", flat=True)) == before
    assert len(calls.read()) == jobs.MAX_JOB_ATTEMPTS  # the delivery that gave up generated nothing
    time.sleep(3)
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempts == jobs.MAX_JOB_ATTEMPTS  # not run again
    assert len(calls.read()) == jobs.MAX_JOB_ATTEMPTS and worker.process.poll() is None


def test_hard_time_limit_fails_the_job_and_keeps_what_it_finished(generation_worker, calls):
    job, _ = _job("gen-hard-limit", calls, enqueue=False)
    # Limits that end the job mid-run (products take 2 s each); the stand-in ignores the soft one,
    # as a job hung inside a CUDA call would, so Celery's hard limit kills the pool child.
    tasks.generation_job_execute.apply_async(args=[job.pk], soft_time_limit=1, time_limit=5)
    worker = generation_worker(STUB_IGNORE_SOFT_LIMIT="1", STUB_SECONDS_PER_PRODUCT="2")
    _wait_status(job, Status.FAILED, 90, "the job to be failed after its hard time limit")
    job.refresh_from_db()
    assert "hard time limit" in job.error and job.finished_at is not None, job.error
    finished = _assert_consistent(job)
    assert len(finished) < PAIRS and job.products_done == len(finished)
    assert worker.process.poll() is None
    n_calls = len(calls.read())
    time.sleep(3)
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempts == 1  # acknowledged, not redelivered
    assert len(calls.read()) == n_calls
