"""How diverse is publishable copy of one product, on the reranker's own D?

    OMP_NUM_THREADS=1 nice python bench/diversity_reference.py

D = 1 − mean pairwise cosine (all-MiniLM-L6-v2) of a set of copies, as the reranker computes pool
diversity. This script takes the hand-written texts of tests/catalog/data/guard_eval_*.json that
are labelled publishable, groups them by product, and prints D per product with two or more
texts and the mean: a reference for what D on-topic, grounded copy of one product reaches, next to
the generator's pool D after the guards (bench/heldout_copy.py) and the paper's 0.58–0.64 (measured
on copy without grounding constraints).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "catalog" / "data"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abplatform.settings")
    import django

    django.setup()
    from generator import scorers
    from generator.embeddings import embed

    by_product: dict[str, list[str]] = {}
    for name in ("guard_eval_copy.json", "guard_eval_read.json"):
        for example in json.loads((DATA / name).read_text(encoding="utf-8"))["examples"]:
            if example.get("publishable"):
                by_product.setdefault(example["sku"], []).append(example["text"])
    rows = [
        (sku, len(texts), scorers.set_diversity(embed(texts))) for sku, texts in by_product.items() if len(texts) > 1
    ]
    print("sku            texts  D")
    for sku, n, d in rows:
        print(f"{sku:14} {n:5d}  {d:.3f}")
    values = [d for _sku, _n, d in rows]
    print(
        f"{len(rows)} products: mean D {statistics.mean(values):.3f}, median {statistics.median(values):.3f}, "
        f"max {max(values):.3f}; share with D >= 0.5: {sum(v >= 0.5 for v in values) / len(values):.0%}"
    )


if __name__ == "__main__":
    main()
