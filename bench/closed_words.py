"""Closed-vocabulary decoding, one step's check: `ClosedWordsProcessor._allowed` (whitespace-led pieces
answered from `WordSet.word_starts`) vs the plain loop of `fits()` over every candidate that it replaced,
on the same tails, candidates and word sets, in one run.

    python bench/closed_words.py [--csv tests/generator/data/heldout_products_twelfth.csv] [--repeat 3]

Tails are the words being written at every token of each product's description (SmolLM2's
tokenizer); candidates are the top 48 and the top 512 tokens of a seeded random score (the scans the
processor does first) and the whole vocabulary (its last resort). Both paths must keep the same
tokens (the script exits 1 if not); prints calls/s of each and the ratio. The processor was ~35 % of
a held-out run's time on the CPU before (cProfile of `bench/heldout_copy.py --lambdas 0.6`), and it
runs on the CPU on a GPU host too.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _baseline(processor, tail: str, candidates: list[int], words) -> list[int]:
    """The check as it was: `fits` on every candidate."""
    from generator.constrained_words import fits

    out = []
    for token_id in candidates:
        piece = processor.pieces[token_id] if 0 <= token_id < len(processor.pieces) else ""
        if token_id in processor.eos_ids or not piece:
            if fits(tail, " ", words):
                out.append(token_id)
        elif fits(tail, piece, words):
            out.append(token_id)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", default=str(ROOT / "tests" / "generator" / "data" / "heldout_products_twelfth.csv"))
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per path (best reported)")
    args = parser.parse_args()

    from catalog.guards import fact_index
    from generator import backend
    from generator.batching import token_table
    from generator.constrained_words import ClosedWordsProcessor, word_tail
    from generator.evaluation.products import products_from_csv
    from generator.pipeline import product_facts
    from generator.pools import closed_word_set

    backend.offline_defaults()
    loaded = backend.load_model(device="cpu")
    table = token_table(loaded)
    chosen = products_from_csv(path=Path(args.csv), guidelines_path=None, categories=None, per_category=99)
    products = [p for group in chosen.values() for p in group]
    rng = random.Random(0)
    cases = []  # (word set, tail, candidates)
    for product in products:
        words = closed_word_set(fact_index(product_facts(product.context)))
        ids = loaded.tokenizer(product.context.description, add_special_tokens=False)["input_ids"]
        tails = {word_tail(table.pieces, ids[:i]) for i in range(len(ids))}
        for tail in sorted(tails):
            order = list(range(table.vocab_size))
            rng.shuffle(order)
            cases += [(words, tail, order[:48]), (words, tail, order[:512])]
        cases.append((words, "", list(range(table.vocab_size))))  # one whole-vocabulary scan per product
    processor = ClosedWordsProcessor(table.pieces, [], prompt_length=0, eos_ids=[0])
    for words, _, _ in cases:
        words.word_starts(table.pieces)  # once per product and vocabulary, as a job's first step does
    timings = {}
    for name, run in (("fits on every candidate", _baseline), ("word starts + fits", ClosedWordsProcessor._allowed)):
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            kept = [run(processor, tail, candidates, words) for words, tail, candidates in cases]
            best = min(best, time.perf_counter() - started)
        timings[name] = (best, kept)
    (base_s, base_kept), (new_s, new_kept) = timings.values()
    if base_kept != new_kept:
        print("the two paths kept different tokens", file=sys.stderr)
        sys.exit(1)
    checked = sum(len(c) for _, _, c in cases)
    print(f"{len(products)} products, {len(cases)} checks, {checked:,} candidate tokens, identical results")
    print(f"{'path':<26}{'seconds':>10}{'checks/s':>12}")
    for name, (seconds, _) in timings.items():
        print(f"{name:<26}{seconds:>10.2f}{len(cases) / seconds:>12.0f}")
    print(f"{'speed-up':<26}{'':>10}{base_s / new_s:>11.2f}×")


if __name__ == "__main__":
    main()
