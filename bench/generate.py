"""Generator benchmark: batched vs one-at-a-time sampling, and model load from cache vs GGUF.

    python bench/generate.py [--candidates 8] [--max-new-tokens 32] [--device cpu] [--model smollm2]

Both generation modes run in this one process on the same prompts, seeds and token budget, so
the ratio is meaningful on a shared machine; absolute numbers are not. Prints a table.
Aims: batching ≥ 3× candidates/s; loading the cached safetensors ≤ 3 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator import backend  # noqa: E402 - after the path set-up above
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
    parser.add_argument("--candidates", type=int, default=8, help="Prompts per run (= the batch size).")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2, help="Timed runs per mode (median reported).")
    parser.add_argument("--cache", default=str(ROOT / "var" / "models"), help="GENERATOR_MODEL_CACHE folder.")
    parser.add_argument("--skip-gguf", action="store_true", help="Skip the (slow) load straight from the GGUF.")
    args = parser.parse_args()
    backend.offline_defaults()
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


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
