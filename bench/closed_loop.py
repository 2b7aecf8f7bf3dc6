"""Closed-loop figures, reproducible and seeded (no database, no LLM):

1. regret (conversions lost vs always showing the best arm) of a fixed 1:1:1:1 split vs adaptive λ
   (Thompson sampling with a 20 % holdout slice) over the same two simulated weeks, with arm rates
   from the hidden text model (experiments/textmodel.py) on four pieces of copy;
2. the A/A false-positive rate of the adaptive analysis (holdout slice) vs an all-traffic analysis;
3. the conversion predictor's holdout AUC after rounds 1, 2 and 3 of "generate → show → refit",
   with the seed corpus (generator/data/seed_corpus.jsonl) as the candidate pool, the generator's own
   scorers for features, and the text model for outcomes. The baseline is the prior's AUC.

    .venv/bin/python bench/closed_loop.py [--aa-runs 500] [--regret-runs 100]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REGRET_COPIES = (
    # control, then three "λ arms" of different quality for the hidden Electronics model
    "Wireless earbuds.",
    "Wireless earbuds with 30 hours of battery life and fast charging in a pocket-sized case. Shop now.",
    "Music all day long with earbuds you will love. Discover the sound.",
    "THE BEST EARBUDS EVER!!! Unbelievable sound!!!",
)


def regret_figure(runs: int) -> dict:
    from analytics.stats.adaptive import regret
    from experiments.textmodel import TextModel

    world = TextModel(seed=0)
    rates = tuple(world.mean_cvr(text, "Electronics") for text in REGRET_COPIES)
    result = regret(rates=rates, runs=runs, draws=500).as_dict()
    result["ratio_adaptive_vs_fixed"] = result["regret_adaptive"] / result["regret_fixed"]
    return result


def aa_figure(runs: int) -> dict:
    from analytics.stats.adaptive import aa_false_positive_rate

    return aa_false_positive_rate(runs=runs, draws=300).as_dict()


def _corpus() -> list[dict]:
    path = ROOT / "generator" / "data" / "seed_corpus.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def auc_rounds_figure(
    rounds: int = 3, shown_per_round: int = 12, impressions: int = 3000, seed: int = 4, prior_strength: float = 1.0
) -> dict:
    """Holdout AUC of the refit predictor after each round of the loop (and of the prior)."""
    import numpy as np

    from experiments.textmodel import TextModel
    from generator.embeddings import embed
    from generator.predictor import OutcomeRow, evaluate, fit_logistic, prior_model
    from generator.prompts import category_keywords
    from generator.rerank import features_from
    from generator.scorers import relevance, text_scores

    world = TextModel(seed=seed)
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    corpus = _corpus()
    copy_vectors = embed([c["text"] for c in corpus])
    product_vectors = embed([c["product"] for c in corpus])
    items = []
    for c, cv, pv in zip(corpus, copy_vectors, product_vectors, strict=True):
        s = text_scores(c["text"], category_keywords(c["category"]))
        features = features_from(
            keyword_strength=s.keyword_strength,
            cta_present=s.cta_present,
            cta_density=s.cta_density,
            sentiment=s.sentiment,
            readability=s.readability,
            relevance=relevance(cv, pv),
            length_fit=s.length_fit,
        )
        items.append({"features": features, "cvr": world.mean_cvr(c["text"], c["category"])})
    rng.shuffle(items)
    holdout_items, pool = items[: len(items) // 4], items[len(items) // 4 :]

    def outcome(item: dict, n: int) -> OutcomeRow:
        return OutcomeRow(features=item["features"], impressions=n, orders=int(np_rng.binomial(n, item["cvr"])))

    holdout = [outcome(item, 4000) for item in holdout_items]
    model = prior_model("cvr")
    from generator.predictor import binomial_auc

    # The ceiling: per-impression outcomes at rates of a few per cent are mostly noise, so even the
    # true rates rank impressions only so well.
    oracle = binomial_auc(
        [i["cvr"] for i in holdout_items], [r.impressions for r in holdout], [r.orders for r in holdout]
    )
    figure = {"prior_auc": evaluate(model, holdout)["auc"], "oracle_auc": oracle, "rounds": []}
    # Mirrors generator.services.predictor_refit: each shown copy's traffic is split in time (the
    # first 75 % of its impressions, then the last 25 %); a candidate fitted on everything but the
    # latest round's recent part must not score that recent part worse than the active model.
    history: list[OutcomeRow] = []
    active = model
    for round_number in range(1, rounds + 1):
        candidates = rng.sample(pool, k=min(30, len(pool)))
        scores = active.predict_many([c["features"] for c in candidates])
        shown = [c for _, c in sorted(zip(scores, candidates, strict=True), key=lambda t: -t[0])][:shown_per_round]
        for item in shown:
            pool.remove(item)
        early = [outcome(item, impressions * 3 // 4) for item in shown]
        late = [outcome(item, impressions // 4) for item in shown]
        candidate = fit_logistic(
            history + early, target="cvr", prior=prior_model("cvr"), prior_strength=prior_strength
        ).model
        cand_scores, active_scores = evaluate(candidate, late), evaluate(active, late)
        passed = cand_scores["log_loss"] <= active_scores["log_loss"] and (
            cand_scores["auc"] is None
            or active_scores["auc"] is None
            or cand_scores["auc"] >= active_scores["auc"] - 0.01
        )
        history += [
            OutcomeRow(features=e.features, impressions=e.impressions + lt.impressions, orders=e.orders + lt.orders)
            for e, lt in zip(early, late, strict=True)
        ]
        refit = fit_logistic(
            history,
            target="cvr",
            prior=prior_model("cvr"),
            prior_strength=prior_strength,
            version=f"round-{round_number}",
        ).model
        if passed:
            active = refit
        figure["rounds"].append(
            {
                "round": round_number,
                "rows": len(history),
                "refit_auc": evaluate(refit, holdout)["auc"],
                "activated": passed,
                "holdout_auc": evaluate(active, holdout)["auc"],
                "holdout_log_loss": evaluate(active, holdout)["log_loss"],
                "true_cvr_of_shown_copy": float(np.mean([item["cvr"] for item in shown])),
            }
        )
    figure["pool_mean_true_cvr"] = float(np.mean([item["cvr"] for item in items]))
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description="Closed-loop figures (regret, A/A FPR, predictor AUC by round)")
    parser.add_argument("--aa-runs", type=int, default=500)
    parser.add_argument("--regret-runs", type=int, default=100)
    args = parser.parse_args()
    began = time.perf_counter()
    r = regret_figure(args.regret_runs)
    print(
        f"regret, 14 days × 2000 units, {r['runs']} runs, true CVR "
        + " / ".join(f"{x:.2%}" for x in r["rates"])
        + f": fixed 1:1:1:1 {r['regret_fixed']:.1f} conversions lost, adaptive {r['regret_adaptive']:.1f} "
        f"→ ratio {r['ratio_adaptive_vs_fixed']:.2f}× (last-day adaptive weights "
        + ", ".join(f"{w:.2f}" for w in r["final_shares"])
        + ")"
    )
    aa = aa_figure(args.aa_runs)
    print(
        f"A/A false-positive rate at alpha 5 %, {aa['comparisons']} comparisons: holdout-slice analysis "
        f"{aa['fpr_holdout']:.2%}, all-traffic analysis {aa['fpr_all_traffic']:.2%} (±{2 * aa['se']:.2%})"
    )
    for strength in (1.0, 30.0):  # 1 = what predictor_refit uses; 30 = a prior worth ~30 rows
        auc = auc_rounds_figure(prior_strength=strength)
        line = ", ".join(
            f"round {x['round']} {x['holdout_auc']:.3f} (refit {x['refit_auc']:.3f}, "
            f"{'activated' if x['activated'] else 'held back'}; shown copy true CVR {x['true_cvr_of_shown_copy']:.2%})"
            for x in auc["rounds"]
        )
        print(
            f"prior strength {strength:g}: active predictor's AUC on held-out copy: prior {auc['prior_auc']:.3f} "
            f"(baseline); {line}; true-rate ceiling {auc['oracle_auc']:.3f}; pool mean true CVR "
            f"{auc['pool_mean_true_cvr']:.2%}"
        )
    print(f"({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
