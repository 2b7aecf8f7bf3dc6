"""Assignments per second: in-process and over HTTP, against the growthbook SDK in the same run;
then a catalog experiment of 10,000 products against the one-product experiment (snapshot build,
assign in-process and over HTTP), and a listing page's copy: one GET /api/v1/copy of 50 SKUs
against 50 GET /api/v1/assign, all measured in the same run.

python bench/assign.py [--units N] [--http-requests N] [--catalog-products N] [--listing-skus N]
"""

from __future__ import annotations

import argparse
import http.client
import threading
import time
from urllib.parse import urlsplit

from common import bench_catalog_experiment, bench_experiment, django_setup, gunicorn_server, rate


def http_run(base: str, path_for, requests: int, clients: int) -> tuple[float, list[float], list[int]]:
    """`requests` GETs of `path_for(client, i)` from `clients` keep-alive clients in threads:
    (seconds, sorted latencies, non-200 statuses)."""
    parts = urlsplit(base)
    per_client = requests // clients
    errors: list[int] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        local_lat = []
        for i in range(per_client):
            t0 = time.perf_counter()
            conn.request("GET", path_for(offset, i))
            response = conn.getresponse()
            response.read()
            local_lat.append(time.perf_counter() - t0)
            if response.status != 200:
                errors.append(response.status)
        conn.close()
        with lock:
            latencies.extend(local_lat)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return time.perf_counter() - start, latencies, errors


def percentile_ms(latencies: list[float], q: float) -> float:
    return latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000


def median_seconds(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--http-requests", type=int, default=4_000)
    parser.add_argument("--http-clients", type=int, default=4)
    parser.add_argument("--catalog-products", type=int, default=10_000)
    parser.add_argument("--listing-skus", type=int, default=50)
    parser.add_argument("--listing-pages", type=int, default=40)
    args = parser.parse_args()

    django_setup()
    from growthbook import Experiment as GBExperiment
    from growthbook import GrowthBook

    from experiments.assignment import (
        ALLOCATION_TTL_SECONDS,
        assign_from_snapshot,
        assign_variant,
        experiment_snapshot,
        snapshot_build,
        snapshot_cache_clear,
    )
    from experiments.models import Experiment

    experiment = bench_experiment()
    catalog, skus, setup = bench_catalog_experiment(n=args.catalog_products)
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

    # A catalog experiment of many products against the one-product one: the design asks that it
    # assign as fast. The SKU cycles with the unit, as a storefront's product pages would.
    one_sku = next(iter(snapshot.products))
    n_skus = len(skus)
    if setup:
        print(f"catalog experiment of {n_skus:,} products created (once, reused by later runs):")
        for step, seconds in setup.items():
            print(f"  {step:<44}{seconds:>8.2f} s")

    def fresh(key: str):
        return Experiment.objects.filter(key=key).prefetch_related("variants").get()

    build_one = median_seconds(lambda: snapshot_build(fresh(experiment.key)))
    build_catalog = median_seconds(lambda: snapshot_build(fresh(catalog.key)))
    catalog_snapshot = experiment_snapshot(catalog.key)
    assert len(catalog_snapshot.products) == n_skus
    one_pure = timed(lambda: [assign_from_snapshot(snapshot, u, one_sku) for u in units])
    catalog_pure = timed(
        lambda: [assign_from_snapshot(catalog_snapshot, u, skus[i % n_skus]) for i, u in enumerate(units)]
    )
    snapshot_cache_clear()
    one_api = timed(lambda: [assign_variant(experiment_key=experiment.key, unit=u, product=one_sku) for u in units])
    snapshot_cache_clear()
    catalog_api = timed(
        lambda: [
            assign_variant(experiment_key=catalog.key, unit=u, product=skus[i % n_skus]) for i, u in enumerate(units)
        ]
    )
    print(f"catalog experiment of {n_skus:,} products vs one product, in-process, {n:,} units")
    print(
        f"  snapshot build (median of 5), 1 product     {build_one * 1000:>9.1f} ms\n"
        f"  snapshot build (median of 5), {n_skus:,} products {build_catalog * 1000:>6.1f} ms  "
        f"{build_catalog / build_one:.0f}x the one-product build (once per process per "
        f"{ALLOCATION_TTL_SECONDS:.0f} s TTL)"
    )
    print(f"  assign_from_snapshot, 1 product             {rate(n, one_pure):>12}  (baseline)")
    print(
        f"  assign_from_snapshot, {n_skus:,} products     {rate(n, catalog_pure):>12}  {one_pure / catalog_pure:.2f}x"
    )
    print(f"  assign_variant with product, 1 product      {rate(n, one_api):>12}  (baseline, cold cache first)")
    print(
        f"  assign_variant with product, {n_skus:,} products {rate(n, catalog_api):>9}  {one_api / catalog_api:.2f}x "
        "(snapshot rebuilds when the TTL runs out included)"
    )

    with gunicorn_server() as base:
        clients = args.http_clients
        print(
            f"over HTTP (gunicorn 2 workers x 4 threads, {clients} keep-alive clients on the same 2 cores),"
            f" {args.http_requests:,} requests each"
        )

        def report(label: str, elapsed: float, latencies: list[float], errors: list[int], base_rate=None) -> float:
            r = len(latencies) / elapsed
            ratio = f"  {r / base_rate:.2f}x" if base_rate else "  (baseline)"
            print(
                f"  {label:<44}{r:>10,.0f}/s  p50 {percentile_ms(latencies, 0.5):.1f} ms, "
                f"p99 {percentile_ms(latencies, 0.99):.1f} ms, errors {len(errors)}{ratio}"
            )
            return r

        # Warm up first: every gunicorn worker imports, connects and builds both snapshots once.
        http_run(base, lambda c, i: f"/api/v1/assign?experiment={experiment.key}&unit=w{c}-{i}", 20 * clients, clients)
        http_run(
            base,
            lambda c, i: f"/api/v1/assign?experiment={catalog.key}&unit=w{c}-{i}&product={skus[i]}",
            20 * clients,
            clients,
        )
        http_run(base, lambda c, i: f"/api/v1/copy?unit=w{c}-{i}&products={skus[i]}", 20 * clients, clients)
        elapsed, latencies, errors = http_run(
            base, lambda c, i: f"/api/v1/assign?experiment={experiment.key}&unit=u{c}-{i}", args.http_requests, clients
        )
        base_rate = report("GET /api/v1/assign, 1 product", elapsed, latencies, errors)
        print(f"  ratio HTTP / in-process SDK baseline        {sdk_fresh / n * base_rate:.3f}")
        elapsed, latencies, errors = http_run(
            base,
            lambda c, i: f"/api/v1/assign?experiment={experiment.key}&unit=p{c}-{i}&product={one_sku}",
            args.http_requests,
            clients,
        )
        one_rate = report("GET /api/v1/assign&product, 1 product", elapsed, latencies, errors)
        elapsed, latencies, errors = http_run(
            base,
            lambda c, i: (
                f"/api/v1/assign?experiment={catalog.key}&unit=c{c}-{i}&product={skus[(c * 7919 + i) % n_skus]}"
            ),
            args.http_requests,
            clients,
        )
        report(f"GET /api/v1/assign&product, {n_skus:,} products", elapsed, latencies, errors, one_rate)

        # A listing page: the copy of its SKUs for one visitor, one client, page after page.
        k, pages = args.listing_skus, args.listing_pages
        listing = [skus[(page * k + j) % n_skus] for page in range(pages) for j in range(k)]
        copy_lat: list[float] = []
        assign_lat: list[float] = []
        page_assign: list[float] = []
        errors = []
        conn = http.client.HTTPConnection(urlsplit(base).hostname, urlsplit(base).port, timeout=30)
        for page in range(pages):
            page_skus = listing[page * k : (page + 1) * k]
            t0 = time.perf_counter()
            conn.request("GET", f"/api/v1/copy?unit=l{page}&products={','.join(page_skus)}")
            response = conn.getresponse()
            body = response.read()
            copy_lat.append(time.perf_counter() - t0)
            if response.status != 200 or body.count(b'"variant"') != k:
                errors.append(response.status)
            t_page = time.perf_counter()
            for sku in page_skus:
                t0 = time.perf_counter()
                conn.request("GET", f"/api/v1/assign?experiment={catalog.key}&unit=l{page}&product={sku}")
                response = conn.getresponse()
                response.read()
                assign_lat.append(time.perf_counter() - t0)
                if response.status != 200:
                    errors.append(response.status)
            page_assign.append(time.perf_counter() - t_page)
        conn.close()
        for data in (copy_lat, assign_lat, page_assign):
            data.sort()
        copy_p50 = percentile_ms(copy_lat, 0.5)
        page_p50 = percentile_ms(page_assign, 0.5)
        print(f"listing page of {k} SKUs of the catalog experiment, one keep-alive client, {pages} pages")
        print(
            f"  GET /api/v1/copy ({k} SKUs)                 p50 {copy_p50:.1f} ms, "
            f"p99 {percentile_ms(copy_lat, 0.99):.1f} ms per request (= per page)"
        )
        print(
            f"  {k} x GET /api/v1/assign&product            p50 {percentile_ms(assign_lat, 0.5):.1f} ms, "
            f"p99 {percentile_ms(assign_lat, 0.99):.1f} ms per request; p50 {page_p50:.1f} ms per page"
        )
        print(
            f"  ratio page time, {k} assigns / one copy      {page_p50 / copy_p50:.1f}x  "
            f"(one copy request / one assign request: {copy_p50 / percentile_ms(assign_lat, 0.5):.1f}x); "
            f"errors {len(errors)}"
        )


if __name__ == "__main__":
    main()
