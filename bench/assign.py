"""Assignments per second: in-process and over HTTP, against the growthbook SDK in the same run.

python bench/assign.py [--units N] [--http-requests N]
"""

from __future__ import annotations

import argparse
import http.client
import threading
import time
from urllib.parse import urlsplit

from common import bench_experiment, django_setup, gunicorn_server, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--http-requests", type=int, default=4_000)
    parser.add_argument("--http-clients", type=int, default=4)
    args = parser.parse_args()

    django_setup()
    from growthbook import Experiment as GBExperiment
    from growthbook import GrowthBook

    from experiments.assignment import assign_from_snapshot, assign_variant, experiment_snapshot

    experiment = bench_experiment()
    snapshot = experiment_snapshot(experiment.key)
    units = [f"visitor-{i:08d}" for i in range(args.units)]
    gb_experiment = GBExperiment(
        key=experiment.key,
        variations=[0, 1, 2],
        weights=list(snapshot.allocation.weights),
        coverage=1.0,
        hashVersion=2,
        seed=experiment.hash_seed,
    )

    def timed(fn) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    ours_pure = timed(lambda: [assign_from_snapshot(snapshot, u) for u in units])
    ours_api = timed(lambda: [assign_variant(experiment_key=experiment.key, unit=u) for u in units])
    sdk_fresh = timed(lambda: [GrowthBook(attributes={"id": u}).run(gb_experiment) for u in units])
    shared = GrowthBook(attributes={})

    def sdk_shared_run() -> None:
        for u in units:
            shared.set_attributes({"id": u})
            shared.run(gb_experiment)

    sdk_shared = timed(sdk_shared_run)

    # Same answers, or the speed comparison means nothing.
    for u in units[:2000]:
        ours = assign_from_snapshot(snapshot, u)
        theirs = GrowthBook(attributes={"id": u}).run(gb_experiment)
        assert ours.variant == snapshot.allocation.variant_keys[theirs.variationId]

    n = len(units)
    print(f"in-process, {n:,} units")
    print(f"  growthbook SDK, new GrowthBook per visitor  {rate(n, sdk_fresh):>12}  (baseline)")
    print(f"  growthbook SDK, one instance reused         {rate(n, sdk_shared):>12}")
    print(
        f"  copylift assign_from_snapshot               {rate(n, ours_pure):>12}  "
        f"{sdk_fresh / ours_pure:.1f}x the SDK (new instance), {sdk_shared / ours_pure:.1f}x (reused)"
    )
    print(
        f"  copylift assign_variant (cache lookup)      {rate(n, ours_api):>12}  "
        f"{sdk_fresh / ours_api:.1f}x the SDK (new instance), {sdk_shared / ours_api:.1f}x (reused)"
    )

    with gunicorn_server() as base:
        parts = urlsplit(base)
        per_client = args.http_requests // args.http_clients
        errors: list[int] = []
        latencies: list[float] = []
        lock = threading.Lock()

        def client(offset: int) -> None:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            local_lat = []
            for i in range(per_client):
                t0 = time.perf_counter()
                conn.request("GET", f"/api/v1/assign?experiment={experiment.key}&unit=u{offset}-{i}")
                response = conn.getresponse()
                response.read()
                local_lat.append(time.perf_counter() - t0)
                if response.status != 200:
                    errors.append(response.status)
            conn.close()
            with lock:
                latencies.extend(local_lat)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.http_clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        latencies.sort()
        total = per_client * args.http_clients
        print(
            f"over HTTP (gunicorn 2 workers x 4 threads, {args.http_clients} keep-alive clients on the same 2 cores),"
            f" {total:,} requests"
        )
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[int(len(latencies) * 0.99)] * 1000
        print(
            f"  GET /api/v1/assign                          {rate(total, elapsed):>12}  "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, errors {len(errors)}"
        )
        print(f"  ratio HTTP / in-process SDK baseline        {sdk_fresh / n * total / elapsed:.3f}")


if __name__ == "__main__":
    main()
