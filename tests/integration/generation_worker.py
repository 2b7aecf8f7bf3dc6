"""A real Celery worker for the `generation` queue whose language model is a paced stand-in.

    python -m tests.integration.generation_worker worker -Q generation --concurrency 1 …

Everything but the model is the product's own code: the Celery app and task, generation_job_run,
its transaction, PostgreSQL, the broker. The stand-in (the generator tests' stub pipeline) sleeps
STUB_SECONDS_PER_POOL after each λ pool, so a test can kill the worker while a job is known to be
half done, whatever the load of the machine; the real SmolLM2 on a shared 2-CPU runner takes
anywhere from 5 s to minutes per pool, which no fault test can time.

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

from generator import jobs  # noqa: E402
from tests.generator.conftest import stub_generate_for_product  # noqa: E402

SECONDS_PER_POOL = float(os.environ.get("STUB_SECONDS_PER_POOL", "1.5"))
IGNORE_SOFT_LIMIT = os.environ.get("STUB_IGNORE_SOFT_LIMIT") == "1"


def _sleep(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            time.sleep(left)
        except SoftTimeLimitExceeded:
            if not IGNORE_SOFT_LIMIT:
                raise


def paced_generate_for_product(*, progress=None, **kwargs):
    def report(share: float) -> None:
        if progress:
            progress(share)
        _sleep(SECONDS_PER_POOL)  # the next pool (or the last one's scoring) takes a while

    _sleep(SECONDS_PER_POOL / 2)  # loading the model
    return stub_generate_for_product(progress=report, **kwargs)


jobs.generate_for_product = paced_generate_for_product

if __name__ == "__main__":
    from celery.__main__ import main

    sys.argv = ["celery", "-A", "abplatform", *sys.argv[1:]]
    sys.exit(main())
