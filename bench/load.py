"""Open-loop load on gunicorn: assignment and event requests at rising rates.

For each rate, requests are *scheduled* at fixed intervals whatever the server does (open loop),
and latency is measured from the scheduled time, so a server that falls behind shows it in p99
instead of silently slowing the client down (no coordinated omission). Prints, per step: the
offered rate, achieved throughput, p50/p99 latency, error rate; then the rate at which p99
first passes 100 ms; then a short phase with a per-key rate limit configured (429s).

    python bench/load.py [--step-seconds 8] [--assign-rates 100,200,...] [--event-rates ...]

Defaults: this machine's PostgreSQL (database copylift_bench) and Redis (db 13) with one Celery
worker when they answer, else SQLite and the file-system broker. Bounded: each step sends at
most rate × step seconds requests, a series stops early once saturated (p99 over 2 s or more
than half the requests failing), total well under 3 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from common import ROOT, bench_event, bench_experiment, celery_worker_command, django_setup, gunicorn_server

P99_THRESHOLD_MS = 100.0
REQUEST_TIMEOUT_S = 5.0
MAX_CONNECTIONS = 256


@dataclass
class Step:
    name: str
    offered: float
    sent: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    statuses: dict[int, int]

    @property
    def throughput(self) -> float:
        return (self.sent - self.errors) / self.seconds

    def percentile(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(q * len(data)))]

    @property
    def error_rate(self) -> float:
        return self.errors / self.sent if self.sent else 0.0


class Pool:
    """Keep-alive HTTP/1.1 connections; a request takes an idle one or opens a new one."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.open = 0
        self.available = asyncio.Condition()

    async def acquire(self):
        async with self.available:
            while not self.idle and self.open >= MAX_CONNECTIONS:
                await self.available.wait()
            if self.idle:
                return self.idle.pop()
            self.open += 1
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError:
            await self.discard()
            raise

    async def release(self, conn) -> None:
        async with self.available:
            self.idle.append(conn)
            self.available.notify()

    async def discard(self, conn=None) -> None:
        if conn is not None:
            conn[1].close()
        async with self.available:
            self.open -= 1
            self.available.notify()

    async def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _exchange(conn, request: bytes) -> int:
    reader, writer = conn
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length, chunked, close = 0, False, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection" and "close" in value.lower():
            close = True
    if chunked:
        while (size := int((await reader.readline()).strip() or b"0", 16)) > 0:
            await reader.readexactly(size + 2)
        await reader.readline()
    elif length:
        await reader.readexactly(length)
    if close:
        raise ConnectionResetError("server closes")  # caller discards; status still counts
    return status


async def run_step(name: str, base: str, rate: float, seconds: float, make_request) -> Step:
    parts = urlsplit(base)
    pool = Pool(parts.hostname, parts.port)
    count = int(rate * seconds)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(i: int) -> None:
        nonlocal errors
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        conn = None
        status = 0
        try:
            conn = await asyncio.wait_for(pool.acquire(), REQUEST_TIMEOUT_S)
            status = await asyncio.wait_for(_exchange(conn, make_request(i)), REQUEST_TIMEOUT_S)
            await pool.release(conn)
        except ConnectionResetError:
            await pool.discard(conn)
        except (OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError):
            if conn is not None:
                await pool.discard(conn)
        elapsed_ms = (loop.time() - scheduled) * 1000
        statuses[status] = statuses.get(status, 0) + 1
        if 200 <= status < 300:
            latencies.append(elapsed_ms)
        else:
            errors += 1

    await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = max(loop.time() - start, seconds)
    await pool.close()
    return Step(name, rate, count, elapsed, latencies, errors, statuses)


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def _ensure_database(url: str) -> bool:
    try:
        import psycopg
        from psycopg import sql

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True, connect_timeout=2) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True
    except Exception:
        return False


def _table(steps: list[Step]) -> list[str]:
    lines = [
        f"{'series':<8} {'offered/s':>10} {'achieved/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  statuses",
    ]
    for s in steps:
        codes = ", ".join(f"{code or 'fail'}:{n}" for code, n in sorted(s.statuses.items()))
        lines.append(
            f"{s.name:<8} {s.offered:>10,.0f} {s.throughput:>11,.0f} {s.percentile(0.5):>8.1f} "
            f"{s.percentile(0.99):>8.1f} {100 * s.error_rate:>6.1f}%  {codes}"
        )
    return lines


def _knee(steps: list[Step]) -> str:
    """The lowest offered rate from which p99 stays above the threshold (or errors above 1 %) at
    every higher rate; a lone spike at a lower rate (another process on the shared cores) is
    reported as such instead of being taken for the knee."""

    def over(step: Step) -> bool:
        return step.percentile(0.99) > P99_THRESHOLD_MS or step.error_rate > 0.01

    knee = next((i for i in range(len(steps)) if all(over(s) for s in steps[i:])), None)
    spikes = [f"{s.offered:,.0f}" for s in steps[: len(steps) if knee is None else knee] if over(s)]
    note = f" (isolated p99 spikes at {', '.join(spikes)} req/s)" if spikes else ""
    if knee is None:
        return f"p99 stays under {P99_THRESHOLD_MS:.0f} ms up to {steps[-1].offered:,.0f} req/s{note}"
    if knee == 0:
        return f"p99 is over {P99_THRESHOLD_MS:.0f} ms from the lowest rate, {steps[0].offered:,.0f} req/s"
    below, above = steps[knee - 1].offered, steps[knee].offered
    return f"p99 passes {P99_THRESHOLD_MS:.0f} ms between {below:,.0f} and {above:,.0f} req/s{note}"


async def _series(name: str, base: str, rates: list[float], seconds: float, make_request) -> list[Step]:
    steps = []
    for rate in rates:
        step = await run_step(name, base, rate, seconds, make_request)
        steps.append(step)
        print("  " + _table([step])[1], flush=True)
        if step.percentile(0.99) > 2000 or step.error_rate > 0.5:
            print(f"  {name}: saturated at {rate:,.0f} req/s, higher rates skipped", flush=True)
            break
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument("--assign-rates", default="100,200,400,800,1200,1600")
    parser.add_argument("--event-rates", default="25,50,100,200,300,400")
    parser.add_argument("--events-per-request", type=int, default=50)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    args = parser.parse_args()
    started = time.perf_counter()

    bench_db = "postgres://postgres@127.0.0.1:5432/copylift_bench"
    if "DATABASE_URL" not in os.environ and _ensure_database(bench_db):
        os.environ["DATABASE_URL"] = bench_db
    if "CELERY_BROKER_URL" not in os.environ:
        os.environ["CELERY_BROKER_URL"] = (
            "redis://127.0.0.1:6379/13" if _reachable("127.0.0.1", 6379) else "filesystem://"
        )
    django_setup()
    from django.conf import settings

    from abplatform.celery import app
    from ingest.writekeys import write_key_create

    experiment = bench_experiment("bench-load")
    _, key = write_key_create(name="bench load")
    broker = settings.CELERY_BROKER_URL
    print(f"bench/load.py: gunicorn gthread {args.gunicorn_workers}×{args.gunicorn_threads} on 127.0.0.1")
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, broker: {broker}")
    print(f"machine: {os.cpu_count()} cores, shared by gunicorn, the Celery worker and this load generator")
    print("(one asyncio process): absolute figures are a floor for a dedicated web node.")

    worker = None
    if broker.startswith(("redis", "amqp")):
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("ingest")
        worker = subprocess.Popen(celery_worker_command("ingest", 1), cwd=ROOT)
        print("events: published to the broker and stored by one Celery worker (concurrency 1)")
    else:
        print("events: published to the file-system broker (no worker: HTTP side only)")

    assign_requests = [
        f"GET /api/v1/assign?experiment={experiment.key}&unit=visitor-{i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        for i in range(1000)
    ]
    run = uuid.uuid4().hex[:8]
    ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    kinds = ("impression", "impression", "click", "add_to_cart", "order")

    def event_request(i: int) -> bytes:
        events = [
            bench_event(
                f"{run}-{i}-{j}", kinds[j % len(kinds)], experiment.key, f"visitor-{(i * 7 + j) % 20_000}", ts, 10.0
            )
            for j in range(args.events_per_request)
        ]
        body = json.dumps({"events": events}).encode()
        head = (
            f"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    quiet = {"LOG_LEVEL": "ERROR", "DEBUG": "false"}  # no log line per 4xx on the shared cores
    assign_rates = [float(r) for r in args.assign_rates.split(",")]
    event_rates = [float(r) for r in args.event_rates.split(",")]
    try:
        with gunicorn_server(workers=args.gunicorn_workers, threads=args.gunicorn_threads, env=quiet) as base:
            time.sleep(1.5)  # let the worker connect
            # Imports, caches and broker connections in every gunicorn worker and thread.
            asyncio.run(run_step("warm", base, 100, 2, lambda i: assign_requests[i % 1000]))
            asyncio.run(run_step("warm", base, 50, 2, lambda i: event_request(20_000_000 + i)))
            print(f"\nassign (GET /api/v1/assign), {args.step_seconds:.0f} s per rate")
            assign = asyncio.run(
                _series("assign", base, assign_rates, args.step_seconds, lambda i: assign_requests[i % 1000])
            )
            print(
                f"\nevents (POST /api/v1/events, {args.events_per_request} events each), "
                f"{args.step_seconds:.0f} s per rate"
            )
            events = asyncio.run(_series("events", base, event_rates, args.step_seconds, event_request))
        limit = 120
        limited_env = {**quiet, "INGEST_RATE_LIMIT_PER_MINUTE": str(limit)}
        with gunicorn_server(workers=args.gunicorn_workers, threads=args.gunicorn_threads, env=limited_env) as base:
            offset = 10_000_000
            limited = asyncio.run(run_step("limited", base, 50, 5, lambda i: event_request(offset + i)))
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge("ingest")

    print("\nsummary")
    print("\n".join(_table(assign + events)))
    print(f"assign: {_knee(assign)}")
    print(f"events: {_knee(events)} ({args.events_per_request} events per request)")
    accepted = limited.statuses.get(202, 0)
    print(
        f"rate limit {limit}/min per key and web process ({args.gunicorn_workers} processes): "
        f"offered 50 req/s for 5 s, {accepted} accepted (202), "
        f"{limited.statuses.get(429, 0)} refused (429 with Retry-After); all statuses {limited.statuses}"
    )
    print(f"finished in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
