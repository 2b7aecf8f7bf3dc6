"""The generator on products it has never seen, batched like a catalog job: prompt v4 vs v3.

    OMP_NUM_THREADS=1 nice python bench/heldout_copy.py [--prompts v4,v3] [--lambdas 0.4,0.6]
        [--candidates 8] [--rounds 3] [--out var/bench/heldout_copy.json] [--csv PATH] [--no-trim]
        [--open-vocabulary] [--device auto|cpu|cuda] [--batch-size 16]

For each prompt version and λ, runs `generate_for_products` over the nine products of
tests/generator/data/heldout_products.csv (no database; default model; prior predictor) and
prints: candidates sampled, how many pass every copy guard (recomputed with `guards_check`) and
how many fail each guard, products that got a selected copy, and the mean pool diversity D over
the pools with at least two survivors. The JSON keeps every selected text, for a copy editor to
read. v4 = facts in the prompt + openers + grounded decoding + closed-vocabulary decoding (the
default; `--open-vocabulary` turns the last off); v3 = facts only.

Django is optional here: the generator and the guards are Django-free, so on a GPU host that has
torch and transformers but not the web stack the script runs with the settings' defaults
(`GENERATOR_DEVICE=auto`, the model cache under var/models).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HELD_OUT = ROOT / "tests" / "generator" / "data" / "heldout_products.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", default="v4,v3")
    parser.add_argument("--lambdas", default="0.4,0.6")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "var" / "bench" / "heldout_copy.json"))
    parser.add_argument(
        "--csv",
        default=str(HELD_OUT),
        help="the products (default: the nine held-out ones; heldout_products_fresh.csv, _third.csv … _eleventh.csv: "
        "9, 12, 6, 12 each, 5 more, and _twelfth.csv: 12 for a GPU run; each kept unseen by the guards' rules "
        "until its first reading)",
    )
    parser.add_argument(
        "--no-trim", action="store_true", help="keep failing samples whole (no sentence cut by catalog.guards.trim)"
    )
    parser.add_argument(
        "--open-vocabulary",
        action="store_true",
        help="let the copy use words beyond the product data (GenerationParams.closed_vocabulary=False)",
    )
    parser.add_argument("--device", default=None, choices=("auto", "cpu", "cuda"), help="default: GENERATOR_DEVICE")
    parser.add_argument("--batch-size", type=int, default=16, help="rows per forward pass (GenerationParams)")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abplatform.settings")
    try:
        import django
    except ImportError:  # a bare GPU host: the generator needs no settings
        print("Django is not installed: the generator's defaults apply")
    else:
        django.setup()
    from catalog.guards import fact_index, guards_check
    from generator.evaluation.products import products_from_csv
    from generator.pipeline import GenerationParams, ProductInput, generate_for_products, product_facts

    chosen = products_from_csv(path=Path(args.csv), guidelines_path=None, categories=None, per_category=99)
    products = [p for group in chosen.values() for p in group]
    items = [ProductInput(key=p.sku, product=p.context, control_text=p.control) for p in products]
    indexes = {item.key: fact_index(product_facts(item.product)) for item in items}
    out: dict[str, Any] = {"rows": [], "selected": []}
    print("prompt  λ     sampled  pass all  ✗grounding  ✗topic  ✗publishable  with copy  D pool (pools)  seconds")
    for prompt in [p.strip() for p in args.prompts.split(",") if p.strip()]:
        v4 = prompt == "v4"
        params = GenerationParams(
            candidates=args.candidates,
            max_rounds=args.rounds,
            facts_in_prompt=prompt != "v2",
            openers=v4,
            grounded_decoding=v4,
            trim_sentences=not args.no_trim,
            closed_vocabulary=not args.open_vocabulary,
            batch_size=args.batch_size,
        )
        for lam in [float(x) for x in args.lambdas.split(",")]:
            started = time.perf_counter()
            batch = generate_for_products(items=items, lam=lam, params=params, device=args.device)
            seconds = time.perf_counter() - started
            sampled = passed = with_copy = trimmed = clean_picks = trimmed_picks = 0
            failed: collections.Counter[str] = collections.Counter()
            diversities = []
            for item, outcome in zip(items, batch.outcomes, strict=True):
                candidates = outcome.result.candidates if outcome.result else []
                for candidate in candidates:
                    report = guards_check(candidate.text, indexes[item.key], closed_vocabulary=params.closed_vocabulary)
                    sampled += 1
                    passed += report.passed
                    trimmed += report.passed and bool(candidate.cuts)
                    failed.update({finding.guard for finding in report.findings})
                if sum(c.rank is not None for c in candidates) >= 2:
                    diversities.append(outcome.result.pool_diversity)
                best = outcome.best
                with_copy += best is not None
                clean_picks += outcome.result is not None and outcome.result.best_is_clean
                trimmed_picks += best is not None and bool(best.cuts)
                out["selected"].append(
                    {
                        "prompt": prompt,
                        "lambda": lam,
                        "sku": item.key,
                        "rounds": outcome.rounds,
                        "text": best.text if best else None,
                        "cuts": list(best.cuts) if best else [],
                    }
                )
            row = {
                "prompt": prompt,
                "lambda": lam,
                "sampled": sampled,
                "pass_all": passed,
                "fail": dict(failed),
                "passed_after_a_cut": trimmed,
                "with_copy": with_copy,
                "clean_picks": clean_picks,
                "picks_with_a_cut": trimmed_picks,
                "products": len(items),
                "pool_d": round(statistics.mean(diversities), 3) if diversities else None,
                "pools_with_d": len(diversities),
                "seconds": round(seconds),
                "model": batch.model_version,
                "device": args.device or "settings",
                "candidates": args.candidates,
                "rounds": args.rounds,
            }
            out["rows"].append(row)
            d = f"{row['pool_d']:.3f} ({len(diversities)})" if diversities else f"— ({len(diversities)})"
            share = {guard: failed[guard] / max(1, sampled) for guard in ("grounding", "topic", "publishable")}
            print(
                f"{prompt:6}  {lam:.2f}  {sampled:7d}  {passed:3d} {passed / max(1, sampled):4.0%}  "
                f"{share['grounding']:10.0%}  {share['topic']:6.0%}  {share['publishable']:12.0%}  "
                f"{with_copy:4d} of {len(items)}  {d:>14}  {seconds:7.0f}  "
                f"cut-passed {trimmed}, clean picks {clean_picks}, picks with a cut {trimmed_picks}",
                flush=True,
            )
            # Written after every row, so a run stopped by a time limit keeps what it finished.
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"selected texts: {args.out}")


if __name__ == "__main__":
    main()
