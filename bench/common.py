"""Shared set-up for the benchmarks: a Django environment, a fixture experiment, a gunicorn server.

Benchmarks print ratios against a baseline measured in the same run; absolute numbers depend
on the machine and are printed for context only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def django_setup(default_db: str = "bench.sqlite3") -> None:
    """Use DATABASE_URL when set (e.g. PostgreSQL), else a separate SQLite file under var/."""
    (ROOT / "var").mkdir(exist_ok=True)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / default_db}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abplatform.settings")
    # One client address and synthetic streams: rate limits and plausibility rules off unless set
    # (servers and workers started by the benchmarks inherit this environment).
    for name in (
        "INGEST_RATE_LIMIT_PER_MINUTE",
        "INGEST_RATE_LIMIT_PER_IP_PER_MINUTE",
        "INGEST_MAX_CLICKS_PER_IMPRESSION",
        "INGEST_BURST_MAX_EVENTS_PER_SECOND",
    ):
        os.environ.setdefault(name, "0")
    os.environ.setdefault("INGEST_ORDERS_NEED_CLICK", "0")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def bench_experiment(key: str = "bench-assign", weights=(1, 1, 2), coverage: float = 1.0):
    """A running three-arm experiment on a fixture product (created once, reused)."""
    from django.utils import timezone

    from catalog.models import Category, Product
    from experiments import services
    from experiments.models import Experiment

    existing = Experiment.objects.filter(key=key).first()
    if existing is not None:
        return existing
    product, _ = Product.objects.get_or_create(
        sku=f"BENCH-{key}",
        defaults={
            "title": "Bench product",
            "brand": "Bench",
            "price": 10,
            "category": Category.objects.get(name="FMCG"),
        },
    )
    variants = [
        {
            "key": f"v{i}",
            "is_control": i == 0,
            "copy": f"Bench copy number {i}, fresh and ready. Shop now.",
            "weight": w,
            "approved": True,
            "lambda_value": None if i == 0 else 0.2 * i,
        }
        for i, w in enumerate(weights)
    ]
    experiment = services.experiment_create(key=key, name=key, product=product, coverage=coverage, variants=variants)
    services.experiment_start(experiment=experiment)
    Experiment.objects.filter(pk=experiment.pk).update(started_at=timezone.now() - timedelta(days=1))
    experiment.refresh_from_db()
    return experiment


def bench_catalog_experiment(key: str = "bench-catalog", n: int = 10_000, weights=(1, 1, 2)):
    """A running three-arm experiment over `n` fixture products, every arm's copy approved on each
    (created once, reused). Products and copy rows are written in bulk; the experiment is created
    and started through the services, as the admin would. Returns (experiment, SKUs, setup timings)."""
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat
    from django.utils import timezone

    from catalog.models import Category, Product
    from experiments import services
    from experiments.models import Experiment, ExperimentProduct, VariantCopy

    prefix = f"BCAT{n}-"
    skus = [f"{prefix}{i:06d}" for i in range(n)]
    existing = Experiment.objects.filter(key=key).first()
    if existing is not None and ExperimentProduct.objects.filter(experiment=existing).count() == n:
        return existing, skus, {}
    if existing is not None:
        existing.delete()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    have = set(Product.objects.filter(sku__startswith=prefix).values_list("sku", flat=True))
    category = Category.objects.get(name="FMCG")
    Product.objects.bulk_create(
        [
            Product(
                sku=sku,
                title=f"Bench catalog product {i}",
                brand="BenchCatalog",
                category=category,
                price=5 + i % 40,
                description=f"Bench catalog product {i}, fresh and ready.",
                copy=f"Bench catalog product {i}: current copy.",
            )
            for i, sku in enumerate(skus)
            if sku not in have
        ],
        batch_size=2000,
    )
    timings["products (bulk_create)"] = time.perf_counter() - started
    started = time.perf_counter()
    experiment = services.experiment_create(
        key=key,
        name=key,
        products={"skus": skus},
        variants=[
            {"key": f"v{i}", "is_control": i == 0, "weight": w, "lambda_value": None if i == 0 else 0.2 * i}
            for i, w in enumerate(weights)
        ],
    )
    timings["experiment_create (set + copy rows)"] = time.perf_counter() - started
    started = time.perf_counter()
    for variant in experiment.variants.filter(is_control=False):
        text = Concat(Value(f"Bench copy {variant.key} for product "), Cast("product_id", CharField()))
        VariantCopy.objects.filter(variant=variant).update(copy=text, status=VariantCopy.Status.APPROVED)
    timings["approve copy rows (one UPDATE per arm)"] = time.perf_counter() - started
    started = time.perf_counter()
    services.experiment_start(experiment=experiment)
    timings["experiment_start"] = time.perf_counter() - started
    Experiment.objects.filter(pk=experiment.pk).update(started_at=timezone.now() - timedelta(days=1))
    experiment.refresh_from_db()
    return experiment, skus, timings


def bench_event(event_id: str, kind: str, experiment: str, unit: str, ts: str, revenue: float) -> dict:
    """One storefront event as POST /api/v1/events takes it; an order carries `revenue`."""
    event = {"event_id": event_id, "type": kind, "experiment": experiment, "unit": unit, "ts": ts}
    if kind == "order":
        event["revenue"] = revenue
    return event


def celery_worker_command(
    queues: str, concurrency: int = 1, loglevel: str = "WARNING", *, heartbeat: bool = True
) -> list[str]:
    """The command line of a Celery worker of this project consuming `queues` (comma-separated),
    without gossip and mingle (it starts at once and needs no word from other workers)."""
    command = [sys.executable, "-m", "celery", "-A", "abplatform", "worker", "-Q", queues]
    command += ["--concurrency", str(concurrency), "--loglevel", loglevel, "--without-gossip", "--without-mingle"]
    if not heartbeat:
        command.append("--without-heartbeat")
    return command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn_server(workers: int = 2, threads: int = 4, env: dict | None = None) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "abplatform.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"
