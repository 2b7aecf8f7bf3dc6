"""The λ sweep: the pipeline run for every held-out product and λ, aggregated into the paper's
table per category, next to the control copy's scores and the creativity-vs-conversion elbow."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from catalog.paper import PAPER_LAMBDA_RANGES
from catalog.rules import check_copy
from generator.evaluation.products import EvalProduct
from generator.pipeline import GenerationParams, generate_for_product
from generator.predictor import LogisticModel, prior_model
from generator.prompts import FewShotExample, builtin_examples, category_keywords
from generator.scorers import copy_features

# What arXiv 2505.23809 reports, shown beside our numbers (a sanity check, not a target).
PAPER = {
    "diversity_at_0.6": [0.58, 0.64],
    "template_diversity": [0.30, 0.35],
    "ctr": [0.085, 0.121],
    "cvr": [0.035, 0.052],
    "sweep_0.2_to_0.8": {"diversity": [0.42, 0.68], "ctr": [0.113, 0.091], "cvr": [0.047, 0.039]},
    "elbow_lambda": [0.4, 0.6],
    "recommended_lambda": {name: list(bounds) for name, bounds in PAPER_LAMBDA_RANGES.items()},
}


def mean_of(values: Sequence[float]) -> float | None:
    clean = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return round(float(np.mean(clean)), 4) if clean else None


def control_scores(
    products: Sequence[EvalProduct],
    *,
    cvr: LogisticModel,
    ctr: LogisticModel,
    embed: Callable[[list[str]], np.ndarray] | None = None,
) -> dict[str, float | None]:
    """The demo catalog's own copy, scored like a generated candidate (`embed`: default the
    sentence embedder, loaded on first use)."""
    from generator.scorers import relevance, set_diversity, text_scores

    if embed is None:
        from generator.embeddings import embed
    texts = [p.control for p in products if p.control.strip()]
    if not texts:
        return {}
    usable = [p for p in products if p.control.strip()]
    vectors = embed(texts)
    references = embed([p.context.reference_text for p in usable])
    rows = []
    for product, vector, reference in zip(usable, vectors, references, strict=True):
        scores = text_scores(product.control, category_keywords(product.context.category, product.context.keywords))
        features = copy_features(scores, relevance(vector, reference))
        rows.append((scores, features, check_copy(product.control, product.guideline).ok))
    return {
        "diversity_across_products": round(set_diversity(vectors), 4) if len(texts) >= 2 else None,
        "sentiment": mean_of([r[0].sentiment for r in rows]),
        "readability": mean_of([r[0].readability for r in rows]),
        "cta_rate": mean_of([1.0 if r[0].cta_present else 0.0 for r in rows]),
        "keyword_strength": mean_of([r[0].keyword_strength for r in rows]),
        "relevance": mean_of([r[1]["relevance"] for r in rows]),
        "predicted_ctr": mean_of(ctr.predict_many([r[1] for r in rows])),
        "predicted_cvr": mean_of(cvr.predict_many([r[1] for r in rows])),
        "compliance_rate": mean_of([1.0 if r[2] else 0.0 for r in rows]),
    }


def elbow(lambdas: Sequence[float], diversity: Sequence[float | None], cvr: Sequence[float | None]) -> dict[str, Any]:
    """The knee of predicted CVR against D (kneed): beyond it, creativity costs conversion fastest."""
    points = [(d, c, lam) for lam, d, c in zip(lambdas, diversity, cvr, strict=True) if d is not None and c is not None]
    if len(points) < 3:
        return {"lambda": None, "diversity": None, "note": "needs at least three λ values"}
    points.sort()
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    if len(set(xs)) < len(xs):
        return {"lambda": None, "diversity": None, "note": "two λ gave the same D"}
    from kneed import KneeLocator

    direction = "decreasing" if ys[-1] < ys[0] else "increasing"
    knee = KneeLocator(xs, ys, curve="concave", direction=direction).knee
    if knee is None:
        return {"lambda": None, "diversity": None, "note": f"no elbow: CVR is {direction} and nearly straight in D"}
    lam = next(p[2] for p in points if p[0] == knee)
    return {"lambda": lam, "diversity": round(float(knee), 4), "note": f"CVR {direction} in D"}


def evaluate(
    products: dict[str, list[EvalProduct]],
    *,
    lambdas: Sequence[float],
    params: GenerationParams,
    predictors: Callable[[str, str], LogisticModel] | None = None,
    examples: Callable[[str, str], Sequence[FewShotExample]] | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    adapter: str | None = None,
) -> dict[str, Any]:
    """Run the pipeline for every product and λ and aggregate the paper's table.

    `adapter`: a LoRA adapter folder to generate with instead of the base model.
    """
    from generator.embeddings import embed
    from generator.reward import pool_rewards
    from generator.scorers import set_diversity

    predictors = predictors or (lambda _category, target: prior_model(target))
    examples = examples or (lambda category, _title: builtin_examples(category))
    started = time.perf_counter()
    report: dict[str, Any] = {"lambdas": list(lambdas), "params": params.as_dict(), "paper": PAPER, "categories": {}}
    model_version = ""
    for category, items in products.items():
        cvr, ctr = predictors(category, "cvr"), predictors(category, "ctr")
        per_lambda: dict[float, dict[str, list[float]]] = {lam: {} for lam in lambdas}
        best_texts: dict[float, list[str]] = {lam: [] for lam in lambdas}
        for number, item in enumerate(items, start=1):
            log(f"{category}: {item.sku} ({number}/{len(items)})")
            result = generate_for_product(
                product=item.context,
                lambdas=lambdas,
                params=params,
                guideline=item.guideline,
                control_text=item.control,
                examples=examples(category, item.context.title),
                predictor=cvr,
                click_predictor=ctr,
                adapter=adapter,
            )
            model_version = result.model_version
            for outcome in result.outcomes:
                bucket = per_lambda[outcome.lam]
                top = outcome.result.top
                generated = [c for c in outcome.result.candidates if c.text.strip()]
                compliant = [c for c in generated if check_copy(c.text, item.guideline).ok]
                values = {
                    # R_abs over every sample (generator.reward): what the pool is worth, comparable
                    # across models, unlike the pool-relative R the reranker ranks by.
                    "mean_reward": mean_of(pool_rewards(outcome.result, lam=outcome.lam, predictor=cvr)),
                    "diversity": outcome.result.top_diversity if len(top) >= 2 else None,
                    "pool_diversity": outcome.result.pool_diversity,
                    "novelty": mean_of([c.novelty for c in top]),
                    "sentiment": mean_of([c.sentiment for c in top]),
                    "readability": mean_of([c.readability for c in top]),
                    "cta_rate": mean_of([1.0 if c.cta_present else 0.0 for c in top]),
                    "cta_appended_rate": mean_of([1.0 if c.cta_appended else 0.0 for c in top]),
                    "keyword_strength": mean_of([c.keyword_strength for c in top]),
                    "relevance": mean_of([c.relevance for c in top]),
                    "predicted_ctr": mean_of([c.p_click for c in top if c.p_click is not None]),
                    "predicted_cvr": mean_of([c.p_conv for c in top]),
                    "compliance_rate": len(compliant) / len(outcome.result.candidates)
                    if outcome.result.candidates
                    else None,
                    "kept_rate": len(top) / max(1, min(params.top_k, len(outcome.result.candidates))),
                }
                for key, value in values.items():
                    if value is not None:
                        bucket.setdefault(key, []).append(float(value))
                if outcome.result.best is not None:
                    best_texts[outcome.lam].append(outcome.result.best.text)
        rows = []
        for lam in lambdas:
            row: dict[str, Any] = {"lambda": lam, "products": len(items)}
            row.update({key: mean_of(values) for key, values in per_lambda[lam].items()})
            texts = best_texts[lam]
            row["diversity_across_products"] = round(set_diversity(embed(texts)), 4) if len(texts) >= 2 else None
            rows.append(row)
        report["categories"][category] = {
            "products": [item.sku for item in items],
            "rows": rows,
            "control": control_scores(items, cvr=cvr, ctr=ctr),
            "elbow": elbow(list(lambdas), [r.get("diversity") for r in rows], [r.get("predicted_cvr") for r in rows]),
            "predictor": cvr.version,
        }
    report["model"] = model_version
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report
