"""A real Celery worker for the `generation` queue whose language model is a paced stand-in.

    python -m tests.integration.generation_worker worker -Q generation --concurrency 1 …

Everything but the model is the product's own code: the Celery app and task, generation_job_run
and its per-product transactions, PostgreSQL, the broker. The stand-in (the generator tests' stub
pipeline) takes STUB_SECONDS_PER_PRODUCT for each (product, λ) it is called for, after a one-off
STUB_SECONDS_TO_LOAD in each new process (loading the model), so a test can kill the worker while
a job is known to be part done, whatever the load of the machine; the real SmolLM2 on a shared
2-CPU runner takes anywhere from 5 s to minutes per product, which no fault test can time.

Every call is logged, before it starts, as one line "title<TAB>λ<TAB>pid" appended to
STUB_CALLS_FILE (when set): the test counts from it how often each product was generated, and by
which process (a killed pool child, its replacement, another worker).

With STUB_IGNORE_SOFT_LIMIT=1 the stand-in swallows Celery's soft time limit, as a job hung
inside a CUDA call never sees it: only the hard limit stops it.
"""

from __future__ import annotations

import os
import sys
import time

import django
from celery.exceptions import SoftTimeLimitExceeded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abplatform.settings")
django.setup()

from generator import job_runner  # noqa: E402
from tests.generator.conftest import stub_generate_for_product  # noqa: E402

SECONDS_PER_PRODUCT = float(os.environ.get("STUB_SECONDS_PER_PRODUCT", "0.6"))
SECONDS_TO_LOAD = float(os.environ.get("STUB_SECONDS_TO_LOAD", "0.3"))
CALLS_FILE = os.environ.get("STUB_CALLS_FILE", "")
IGNORE_SOFT_LIMIT = os.environ.get("STUB_IGNORE_SOFT_LIMIT") == "1"
_loaded = False


def _sleep(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            time.sleep(left)
        except SoftTimeLimitExceeded:
            if not IGNORE_SOFT_LIMIT:
                raise


def _log_call(title: str, lambdas) -> None:
    if not CALLS_FILE:
        return
    line = "".join(f"{title}\t{float(lam)}\t{os.getpid()}\n" for lam in lambdas).encode()
    # One O_APPEND write per call: lines of concurrent processes never interleave.
    fd = os.open(CALLS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def paced_generate_for_product(*, product, lambdas, **kwargs):
    global _loaded
    _log_call(product.title, lambdas)
    if not _loaded:
        _sleep(SECONDS_TO_LOAD)
        _loaded = True
    _sleep(SECONDS_PER_PRODUCT * len(lambdas))
    return stub_generate_for_product(product=product, lambdas=lambdas, **kwargs)


# Jobs sample products in batched calls; the stand-in takes the batch one product at a time, so a
# kill lands between two products whatever the chunk size.
job_runner.generate_for_products = job_runner.per_product_batch(paced_generate_for_product)

if __name__ == "__main__":
    from celery.__main__ import main

    sys.argv = ["celery", "-A", "abplatform", *sys.argv[1:]]
    sys.exit(main())
