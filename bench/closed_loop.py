"""Closed-loop figures, reproducible and seeded (no database, no LLM):

1. regret (conversions lost vs always showing the best arm) of a fixed 1:1:1:1 split vs adaptive λ
   (Thompson sampling with a 20 % holdout slice) over the same two simulated weeks, with arm rates
   from the hidden text model (experiments/textmodel.py) on four pieces of copy;
2. the A/A false-positive rate of the adaptive analysis (holdout slice) vs an all-traffic analysis;
3. the conversion predictor's holdout AUC after rounds 1, 2 and 3 of "generate → show → refit",
   with the seed corpus (generator/data/seed_corpus.jsonl) as the candidate pool, the generator's own
   scorers for features, and the text model for outcomes. The baseline is the prior's AUC;
4. the loop's gain: round 2's picks reranked by the refit vs by the prior, paired, per category
   (`loop_gain_figure`; tests/e2e/test_loop_gain.py asserts it where the prior is blind).

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
    from simulator.textmodel import TextModel

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

    from generator.embeddings import embed
    from generator.predictor import OutcomeRow, evaluate, fit_logistic, prior_model
    from generator.prompts import category_keywords
    from generator.scorers import copy_features, relevance, text_scores
    from simulator.textmodel import TextModel

    world = TextModel(seed=seed)
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    corpus = _corpus()
    copy_vectors = embed([c["text"] for c in corpus])
    product_vectors = embed([c["product"] for c in corpus])
    items = []
    for c, cv, pv in zip(corpus, copy_vectors, product_vectors, strict=True):
        s = text_scores(c["text"], category_keywords(c["category"]))
        features = copy_features(s, relevance(cv, pv))
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
    # Mirrors generator.predictor_versions.predictor_refit: each shown copy's traffic is split in time (the
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


LOOP_LAMBDAS = (0.3, 0.5, 0.7)
LOOP_CATEGORIES = ("FMCG", "Apparel", "Electronics")


def _loop_items(corpus: list[dict]) -> list[dict]:
    """The seed corpus with its embeddings, computed once for every replicate."""
    from generator.embeddings import embed

    copy_vectors = embed([c["text"] for c in corpus])
    product_vectors = embed([c["product"] for c in corpus])
    return [
        {"text": c["text"], "category": c["category"], "vector": cv, "product_vector": pv}
        for c, cv, pv in zip(corpus, copy_vectors, product_vectors, strict=True)
    ]


def loop_gain_figure(
    replicates: int = 40,
    products_per_round: int = 6,
    pool_size: int = 3,
    impressions: int = 4000,
    prior_strength: float | None = None,
    seed: int = 0,
    items: list[dict] | None = None,
) -> dict:
    """Does the next round convert better because of what the last one logged?

    One replicate, per category: round 1 generates for `products_per_round` products, one pool of
    `pool_size` candidates per λ (seed-corpus copy stands in for the LLM's samples), reranked by
    the real `rerank_candidates` under the prior; the picks are shown and their outcomes drawn
    from the hidden text model (its seed changes per replicate, so do the copy effects). Then the
    category's fit as `predictor_refit_all` makes it (fit_logistic at the default strength and
    copy-effect weights; the holdout activation check is left out, so every refit counts), and
    round 2 for new products, from copy that round 1 did not show. Round 2's pools are
    reranked twice, by the refit (the loop) and by the prior (no loop): the paired difference of
    the picks' true CVR is the loop's effect, free of the luck of the pools.
    """
    import numpy as np

    from generator.predictor import REFIT_PRIOR_STRENGTH, OutcomeRow, fit_logistic, prior_model
    from generator.prompts import category_keywords
    from generator.rerank import RawCandidate, RerankConfig, rerank_candidates
    from simulator.textmodel import TextModel

    strength = REFIT_PRIOR_STRENGTH if prior_strength is None else prior_strength
    items = items if items is not None else _loop_items(_corpus())
    prior = prior_model("cvr")

    def pick(pool: list[dict], lam: float, model):
        product = np.mean([i["product_vector"] for i in pool], axis=0)
        result = rerank_candidates(
            [RawCandidate(text=i["text"], embedding=i["vector"]) for i in pool],
            config=RerankConfig(lam=lam, top_k=1),
            product_embedding=product / np.linalg.norm(product),
            control_embedding=None,
            keywords=category_keywords(pool[0]["category"]),
            guideline=None,
            predictor=model,
        )
        return result.best

    # One value per replicate (the picks of one replicate share its world, so they are not independent).
    gains, raw_gains, predicted_gains, first_cvr, second_cvr, changed = [], [], [], [], [], []
    by_category: dict[str, list[float]] = {c: [] for c in LOOP_CATEGORIES}
    for replicate in range(replicates):
        world = TextModel(seed=seed + replicate)
        rng = random.Random(seed + replicate)
        np_rng = np.random.default_rng(seed + replicate)
        rows: dict[str, list] = {c: [] for c in LOOP_CATEGORIES}
        round_two: dict[str, list[list[dict]]] = {}
        first: list[float] = []
        second: list[float] = []
        paired: list[float] = []
        predicted: list[float] = []
        shown: set[str] = set()
        for category in LOOP_CATEGORIES:
            copy = [i for i in items if i["category"] == category]
            rng.shuffle(copy)
            need = products_per_round * len(LOOP_LAMBDAS) * pool_size
            first_pools = [copy[k : k + pool_size] for k in range(0, need, pool_size)]
            for pool, lam in zip(first_pools, LOOP_LAMBDAS * products_per_round, strict=True):
                best = pick(pool, lam, prior)
                true_cvr = world.mean_cvr(best.text, category)
                first.append(true_cvr)
                shown.add(best.text)
                rows[category].append(
                    OutcomeRow(
                        features=best.features(),
                        impressions=impressions,
                        orders=int(np_rng.binomial(impressions, true_cvr)),
                    )
                )
            # Round 2 writes for new products: its pools may resemble round 1's but never hold a shown copy.
            fresh = [i for i in copy if i["text"] not in shown]
            round_two[category] = [rng.sample(fresh, pool_size) for _ in range(products_per_round * len(LOOP_LAMBDAS))]
        for category in LOOP_CATEGORIES:
            refit = fit_logistic(rows[category], prior=prior, prior_strength=strength).model
            in_category = []
            for pool, lam in zip(round_two[category], LOOP_LAMBDAS * products_per_round, strict=True):
                with_loop, without = pick(pool, lam, refit), pick(pool, lam, prior)
                cvr_loop, cvr_prior = world.mean_cvr(with_loop.text, category), world.mean_cvr(without.text, category)
                in_category.append(cvr_loop - cvr_prior)
                second.append(cvr_loop)
                predicted.append(refit.predict(with_loop.features()) - refit.predict(without.features()))
                changed.append(with_loop.text != without.text)
            by_category[category].append(float(np.mean(in_category)))
            paired.extend(in_category)
        gains.append(float(np.mean(paired)))
        predicted_gains.append(float(np.mean(predicted)))
        raw_gains.append(float(np.mean(second) - np.mean(first)))
        first_cvr.extend(first)
        second_cvr.extend(second)

    def summary(values: list[float]) -> dict:
        a = np.asarray(values, dtype=float)
        se = float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else float("nan")
        mean = float(a.mean())
        return {"mean": mean, "ci95": [mean - 1.96 * se, mean + 1.96 * se], "n": len(a)}

    return {
        "replicates": replicates,
        "prior_strength": strength,
        "round1_true_cvr": float(np.mean(first_cvr)),
        "round2_true_cvr": float(np.mean(second_cvr)),
        "paired_gain": summary(gains),
        "paired_gain_by_category": {c: summary(v) for c, v in by_category.items()},
        "round_gain": summary(raw_gains),
        "predicted_gain": summary(predicted_gains),
        "changed_picks": float(np.mean(changed)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Closed-loop figures (regret, A/A FPR, predictor AUC by round)")
    parser.add_argument("--aa-runs", type=int, default=500)
    parser.add_argument("--regret-runs", type=int, default=100)
    parser.add_argument("--loop-runs", type=int, default=40, help="replicates of the loop-gain figure")
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
    from generator.predictor import REFIT_PRIOR_STRENGTH

    items = _loop_items(_corpus())
    for strength in (1.0, REFIT_PRIOR_STRENGTH, 100.0):  # REFIT_PRIOR_STRENGTH: what predictor_refit uses
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
        gain = loop_gain_figure(replicates=args.loop_runs, prior_strength=strength, items=items)
        per_category = "; ".join(
            f"{c} {g['mean'] * 100:+.3f} pp [{g['ci95'][0] * 100:+.3f}, {g['ci95'][1] * 100:+.3f}]"
            for c, g in gain["paired_gain_by_category"].items()
        )
        paired = gain["paired_gain"]
        print(
            f"  loop gain, {gain['replicates']} replicates: round 2 picks by the refit vs by the prior, true CVR "
            f"{paired['mean'] * 100:+.3f} pp [{paired['ci95'][0] * 100:+.3f}, {paired['ci95'][1] * 100:+.3f}] "
            f"(round 1 {gain['round1_true_cvr']:.2%}, round 2 {gain['round2_true_cvr']:.2%}; "
            f"{gain['changed_picks']:.0%} of picks changed); {per_category}"
        )
    print(f"({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
