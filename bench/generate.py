"""Generator benchmark: batched vs one-at-a-time sampling, and model load from cache vs GGUF;
with --products, a catalog job: per-product generation vs batched across products.

    python bench/generate.py [--candidates 8] [--max-new-tokens 32] [--device cpu] [--model smollm2]
    python bench/generate.py --products 6 --arms 3 [--candidates 4] [--batch-size 64]

All modes of a run execute in this one process on the same prompts, seeds and token budget, so
the ratios are meaningful on a shared machine; absolute numbers are not. Prints a table.
Aims: batching ≥ 3× candidates/s; loading the cached safetensors ≤ 3 s; catalog mode: the
cross-product path ≥ 3× the candidates/s of the per-product path (end to end: sampling,
embedding and reranking, one round per arm).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator import backend  # noqa: E402 - after the path set-up above
from generator.pipeline import (  # noqa: E402
    GenerationParams,
    ProductInput,
    generate_for_product,
    generate_for_products,
)
from generator.prompts import ProductContext, build_prompts  # noqa: E402

PRODUCT = ProductContext(
    title="Voltora Pulse wireless earbuds",
    brand="Voltora",
    category="Electronics",
    price="79.00",
    attributes={"battery_life_h": 30, "connectivity": "Bluetooth 5.3", "water_resistance": "IPX4"},
    tone="clear and technical",
)


def _time_load(**kwargs) -> tuple[float, backend.LoadedModel]:
    started = time.perf_counter()
    loaded = backend.load_model(reuse=False, **kwargs)
    return time.perf_counter() - started, loaded


def _time_generate(
    loaded: backend.LoadedModel, conversations, *, batch_size: int, max_new_tokens: int, seed: int
) -> tuple[float, int]:
    started = time.perf_counter()
    results = backend.generate(
        loaded, conversations, max_new_tokens=max_new_tokens, temperature=0.7, seed=seed, batch_size=batch_size
    )
    return time.perf_counter() - started, sum(r.n_tokens for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument(
        "--candidates", type=int, default=None, help="Prompts per run (= the batch size); catalog: per product (4)."
    )
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2, help="Timed runs per mode (median reported).")
    parser.add_argument("--cache", default=str(ROOT / "var" / "models"), help="GENERATOR_MODEL_CACHE folder.")
    parser.add_argument("--skip-gguf", action="store_true", help="Skip the (slow) load straight from the GGUF.")
    parser.add_argument("--products", type=int, default=0, help="Catalog mode: this many synthetic products.")
    parser.add_argument("--arms", type=int, default=3, help="Catalog mode: LLM arms (one λ each).")
    parser.add_argument("--batch-size", type=int, default=64, help="Catalog mode: rows per forward pass.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    backend.offline_defaults()
    if args.products:
        catalog_main(args)
        return
    args.candidates = args.candidates or 8
    cache = Path(args.cache)

    started = time.perf_counter()
    import torch  # noqa: F401 - timed separately: every worker pays it once, whatever the model source
    import transformers  # noqa: F401

    import_s = time.perf_counter() - started
    # First load converts the GGUF if the cache is missing; the timed cache load comes after it.
    backend.load_model(args.model, device=args.device, cache_root=cache, reuse=False)
    cache_s, loaded = _time_load(model=args.model, device=args.device, cache_root=cache)
    gguf_s = None
    if args.model == backend.SMOLLM2 and not args.skip_gguf:
        gguf_s, _ = _time_load(model=args.model, device=args.device, cache_root=cache, from_gguf=True)

    conversations = [spec.messages for spec in build_prompts(product=PRODUCT, lam=0.6, count=args.candidates)]
    _time_generate(loaded, conversations[:2], batch_size=2, max_new_tokens=4, seed=0)  # warm-up
    rows = {}
    for mode, batch_size in (("one at a time", 1), (f"batched ×{args.candidates}", args.candidates)):
        runs = [
            _time_generate(loaded, conversations, batch_size=batch_size, max_new_tokens=args.max_new_tokens, seed=seed)
            for seed in range(args.repeat)
        ]
        seconds = statistics.median(r[0] for r in runs)
        tokens = statistics.median(r[1] for r in runs)
        rows[mode] = (seconds, tokens / seconds, args.candidates / seconds)

    (_one_s, one_tps, one_cps), (_bat_s, bat_tps, bat_cps) = rows.values()
    threads = torch_threads()
    print(
        f"\nmodel {loaded.version} on {loaded.device} ({loaded.dtype}), {threads} CPU threads, "
        f"{args.candidates} candidates × ≤{args.max_new_tokens} new tokens, median of {args.repeat}"
    )
    print(f"{'generation':<28}{'seconds':>10}{'tokens/s':>12}{'candidates/s':>15}")
    for mode, (seconds, tps, cps) in rows.items():
        print(f"{mode:<28}{seconds:>10.2f}{tps:>12.1f}{cps:>15.2f}")
    ratio = bat_cps / one_cps
    print(
        f"{'batched / one-at-a-time':<28}{'':>10}{bat_tps / one_tps:>11.2f}×{ratio:>14.2f}×"
        f"   (aim ≥ 3×: {'ok' if ratio >= 3 else 'MISSED'})"
    )
    print(f"\n{'model load':<28}{'seconds':>10}")
    print(f"{'torch + transformers import':<28}{import_s:>10.2f}")
    print(f"{'from safetensors cache':<28}{cache_s:>10.2f}   (aim ≤ 3 s: {'ok' if cache_s <= 3 else 'MISSED'})")
    if gguf_s is not None:
        print(f"{'from GGUF (dequantize)':<28}{gguf_s:>10.2f}   ({gguf_s / cache_s:.1f}× the cached load)")


CATALOG_LAMBDAS = (0.3, 0.55, 0.8, 0.45, 0.65, 0.2)

# (category, title, brand, description, attributes) stems; products vary by index.
PRODUCT_STEMS = (
    (
        "Apparel",
        "Organic Cotton Crew T-Shirt",
        "Loomwell",
        "Breathable organic cotton tee with a relaxed fit.",
        {"material": "100% organic cotton", "fit": "relaxed"},
    ),
    (
        "Electronics",
        "Pulse Wireless Earbuds",
        "Voltora",
        "Wireless earbuds with a pocket charging case.",
        {"battery_life_h": 30, "connectivity": "Bluetooth 5.3", "water_resistance": "IPX4"},
    ),
    (
        "FMCG",
        "Sparkling Lemon Water 12-Pack",
        "Fizzco",
        "Sparkling water with real lemon juice and zero sugar.",
        {"pack_size": "12 x 330 ml", "sugar": "0 g"},
    ),
    (
        "Apparel",
        "Merino Wool Beanie",
        "Northpeak",
        "Soft merino wool beanie that does not itch.",
        {"material": "merino wool", "colours": 5},
    ),
    (
        "Electronics",
        "USB-C Fast Charger",
        "Ampero",
        "Compact USB-C charger for a laptop and a phone.",
        {"power_w": 65, "ports": 2},
    ),
    (
        "FMCG",
        "Oat Cookies Family Size",
        "Hearth",
        "Golden oat cookies baked with brown sugar.",
        {"weight_g": 500},
    ),
)


def catalog_products(n: int) -> list[ProductInput]:
    """`n` synthetic products over Apparel, Electronics and FMCG, each a little different."""
    items = []
    for i in range(n):
        category, title, brand, description, attributes = PRODUCT_STEMS[i % len(PRODUCT_STEMS)]
        series = i // len(PRODUCT_STEMS) + 1
        product = ProductContext(
            title=f"{title} S{series}",
            brand=brand,
            category=category,
            price=f"{9.99 + 7 * i:.2f}",
            description=description,
            attributes={**attributes, "series": series},
        )
        items.append(ProductInput(key=f"SKU-{i + 1:04d}", product=product, control_text=description))
    return items


def catalog_main(args: argparse.Namespace) -> None:
    """Per-product generation (one product and one λ per generate call, as jobs ran it so far) vs
    one cross-product batch per λ, on the same products, params and seeds."""
    from generator.embeddings import embed

    items = catalog_products(args.products)
    lambdas = [CATALOG_LAMBDAS[i % len(CATALOG_LAMBDAS)] for i in range(args.arms)]
    params = GenerationParams(
        candidates=args.candidates or 4,
        max_new_tokens=args.max_new_tokens,
        max_rounds=1,  # a fixed amount of sampling per mode: a throughput comparison, not a quality one
        seed=args.seed,
        batch_size=args.batch_size,
    )
    loaded = backend.load_model(args.model, device=args.device, cache_root=Path(args.cache))
    embed(["warm-up"])
    backend.generate(loaded, [[{"role": "user", "content": "Hi"}]], max_new_tokens=2)  # warm-up

    def per_product(p: GenerationParams) -> list:
        return [
            outcome
            for item in items
            for outcome in generate_for_product(
                product=item.product,
                lambdas=lambdas,
                params=p,
                control_text=item.control_text,
                model_name=args.model,
                device=args.device,
            ).outcomes
        ]

    def cross_product() -> list:
        return [
            outcome
            for lam in lambdas
            for outcome in generate_for_products(
                items=items, lam=lam, params=params, model_name=args.model, device=args.device
            ).outcomes
        ]

    modes = {
        "per product, no shared prefix": lambda: per_product(replace(params, share_prefix=False)),
        "per product, shared prefix": lambda: per_product(params),
        f"across products ×{args.batch_size}": cross_product,
    }
    rows = {}
    for mode, run in modes.items():
        started = time.perf_counter()
        outcomes = run()
        seconds = time.perf_counter() - started
        candidates = sum(len(o.result.candidates) for o in outcomes)
        tokens = sum(o.generated_tokens for o in outcomes)
        picked = sum(o.result.best is not None for o in outcomes)
        rows[mode] = (seconds, args.products / seconds * 3600, candidates / seconds, tokens / seconds, picked)
        print(f"  {mode}: {seconds:.1f} s", flush=True)

    print(
        f"\nmodel {loaded.version} on {loaded.device} ({loaded.dtype}), {torch_threads()} CPU threads; "
        f"{args.products} products × {args.arms} arms (λ {', '.join(map(str, lambdas))}) × "
        f"{params.candidates} candidates × ≤{params.max_new_tokens} new tokens, 1 round, seed {params.seed}"
    )
    header = f"{'seconds':>9}{'products/h':>12}{'candidates/s':>14}{'tokens/s':>10}{'picked':>8}"
    print(f"{'catalog generation':<34}{header}")
    for mode, (seconds, per_hour, cps, tps, picked) in rows.items():
        print(f"{mode:<34}{seconds:>9.1f}{per_hour:>12.0f}{cps:>14.2f}{tps:>10.1f}{picked:>8}")
    (base, shared, batched) = (r[2] for r in rows.values())
    ratio = batched / base
    print(
        f"{'across / per product (no prefix)':<34}{ratio:>49.2f}×   (aim ≥ 3×: {'ok' if ratio >= 3 else 'MISSED'})\n"
        f"{'across / per product (prefix)':<34}{batched / shared:>49.2f}×\n"
        f"{'shared prefix / no prefix':<34}{shared / base:>49.2f}×"
    )


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
