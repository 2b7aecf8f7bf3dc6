"""Events per second end to end (HTTP → broker → worker → PostgreSQL, counted when stored),
against COPYing the same rows with psycopg in the same run.

Needs DATABASE_URL on PostgreSQL and CELERY_BROKER_URL on Redis or RabbitMQ (as `.ci/run`
sets them); uses the database named by DATABASE_URL (default bench DB: copylift_bench).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/copylift_bench \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/14 python bench/ingest.py [--events N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from common import ROOT, bench_event, bench_experiment, celery_worker_command, django_setup, gunicorn_server, rate


def _ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="Celery worker processes")
    args = parser.parse_args()

    # Defaults: this machine's PostgreSQL and Redis, when they answer.
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/copylift_bench")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
    url, broker = os.environ["DATABASE_URL"], os.environ["CELERY_BROKER_URL"]
    if not url.startswith("postgres") or not broker.startswith(("redis", "amqp")):
        print("bench/ingest.py skipped: needs DATABASE_URL on PostgreSQL and CELERY_BROKER_URL on Redis/RabbitMQ")
        return
    try:
        _ensure_database(url)
    except Exception as exc:
        print(f"bench/ingest.py skipped: PostgreSQL not reachable ({exc})")
        return
    django_setup()
    from django.db import connection

    from abplatform.celery import app
    from experiments.assignment import experiment_snapshot
    from ingest.accept import EVENT_TYPES
    from ingest.models import Event
    from ingest.writekeys import write_key_create

    experiment = bench_experiment("bench-ingest")
    Event.objects.filter(experiment=experiment).delete()
    from ingest.models import IngestBatch, UnitTotals

    UnitTotals.objects.filter(experiment=experiment).delete()
    IngestBatch.objects.all().delete()
    _, key = write_key_create(name="bench")
    snapshot = experiment_snapshot(experiment.key)
    run = str(int(time.time()))
    ts = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    kinds = ("impression", "impression", "impression", "click", "add_to_cart", "order")
    events = [
        bench_event(f"{run}-{i}", kinds[i % len(kinds)], experiment.key, f"u{i % 50_000}", ts, revenue=12.5)
        for i in range(args.events)
    ]
    bodies = [json.dumps({"events": events[i : i + 500]}).encode() for i in range(0, len(events), 500)]
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("ingest")

    worker = subprocess.Popen(celery_worker_command("ingest", args.workers), cwd=ROOT)
    try:
        with gunicorn_server(workers=2, threads=4) as base:
            import http.client
            from urllib.parse import urlsplit

            parts = urlsplit(base)
            time.sleep(2)  # let the worker connect
            queue = list(bodies)
            lock = threading.Lock()
            statuses: list[int] = []

            def client() -> None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
                while True:
                    with lock:
                        if not queue:
                            break
                        body = queue.pop()
                    conn.request("POST", "/api/v1/events", body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    statuses.append(response.status)
                conn.close()

            start = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            posted = time.perf_counter() - start
            while Event.objects.filter(experiment=experiment).count() < args.events:
                if time.perf_counter() - start > 600:
                    sys.exit("timed out waiting for the worker")
                time.sleep(0.1)
            end_to_end = time.perf_counter() - start
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert set(statuses) == {202}, set(statuses)
    stored = Event.objects.filter(experiment=experiment).count()

    # Baseline: COPY the same rows straight into a table of the same shape.
    received = datetime.now(UTC)
    rows = [
        (
            snapshot.experiment_id,
            snapshot.variant_ids[0],
            e["event_id"],
            EVENT_TYPES[e["type"]],
            e["unit"],
            e["ts"],
            e.get("revenue"),
            received,
        )
        for e in events
    ]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_baseline")
        cursor.execute("CREATE UNLOGGED TABLE bench_copy_baseline (LIKE experiments_event INCLUDING DEFAULTS)")
        cursor.execute("ALTER TABLE bench_copy_baseline DROP COLUMN id")
        start = time.perf_counter()
        with cursor.cursor.copy(
            "COPY bench_copy_baseline (experiment_id, variant_id, event_id, type, unit, ts, revenue, "
            "received_at) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        copy_seconds = time.perf_counter() - start
        cursor.execute("DROP TABLE bench_copy_baseline")

    print(
        f"{stored:,} events, {len(bodies)} requests of 500, {args.clients} clients, gunicorn 2x4, "
        f"{args.workers} Celery worker processes, all on this machine"
    )
    print(f"  accepted over HTTP (202)               {rate(args.events, posted):>12}")
    print(f"  end to end, counted when stored        {rate(stored, end_to_end):>12}")
    print(f"  raw psycopg COPY of the same rows      {rate(stored, copy_seconds):>12}  (baseline)")
    print(f"  ratio end-to-end / raw COPY            {copy_seconds / end_to_end:.3f}")


if __name__ == "__main__":
    main()
