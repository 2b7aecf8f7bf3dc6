"""The λ sweep: the pipeline run for every held-out product and λ, aggregated into the paper's
table per category, next to the control copy's scores and the creativity-vs-conversion elbow."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from catalog.guards import GUARDS, FactIndex, GuardReport, fact_index, guards_check
from catalog.paper import PAPER_LAMBDA_RANGES
from catalog.rules import check_copy
from generator.evaluation.products import EvalProduct
from generator.pipeline import GenerationParams, generate_for_product, product_facts
from generator.predictor import LogisticModel, prior_model
from generator.prompt_examples import builtin_examples
from generator.prompts import FewShotExample, category_keywords
from generator.rerank import ScoredCandidate
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


def product_fact_index(product: EvalProduct) -> FactIndex:
    """The facts the guards check a product's copy against (as the pipeline builds them)."""
    return fact_index(product_facts(product.context), other_brands=product.context.other_brands)


def copy_scores(
    products: Sequence[EvalProduct],
    texts: Sequence[str],
    *,
    cvr: LogisticModel,
    ctr: LogisticModel,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    relevance_threshold: float = 0.15,
) -> dict[str, float | None]:
    """One piece of copy per product (the control copy, the template writer's), scored like the
    generator's selected copy, with the share that passes the brand rules and the copy guards."""
    from generator.scorers import relevance, set_diversity, text_scores

    if embed is None:
        from generator.embeddings import embed
    pairs = [(p, t) for p, t in zip(products, texts, strict=True) if t.strip()]
    if not pairs:
        return {}
    vectors = embed([t for _p, t in pairs])
    references = embed([p.context.reference_text for p, _t in pairs])
    rows = []
    for (product, text), vector, reference in zip(pairs, vectors, references, strict=True):
        scores = text_scores(text, category_keywords(product.context.category, product.context.keywords))
        rel = relevance(vector, reference)
        features = copy_features(scores, rel)
        guards = guards_check(text, product_fact_index(product), similarity=rel, min_similarity=relevance_threshold)
        rows.append((scores, features, check_copy(text, product.guideline).ok, guards.passed))
    return {
        "diversity_across_products": round(set_diversity(vectors), 4) if len(pairs) >= 2 else None,
        "sentiment": mean_of([r[0].sentiment for r in rows]),
        "readability": mean_of([r[0].readability for r in rows]),
        "cta_rate": mean_of([1.0 if r[0].cta_present else 0.0 for r in rows]),
        "keyword_strength": mean_of([r[0].keyword_strength for r in rows]),
        "relevance": mean_of([r[1]["relevance"] for r in rows]),
        "predicted_ctr": mean_of(ctr.predict_many([r[1] for r in rows])),
        "predicted_cvr": mean_of(cvr.predict_many([r[1] for r in rows])),
        "compliance_rate": mean_of([1.0 if r[2] else 0.0 for r in rows]),
        "guard_pass_rate": mean_of([1.0 if r[3] else 0.0 for r in rows]),
    }


def control_scores(
    products: Sequence[EvalProduct],
    *,
    cvr: LogisticModel,
    ctr: LogisticModel,
    embed: Callable[[list[str]], np.ndarray] | None = None,
) -> dict[str, float | None]:
    """The catalog's own copy, scored like a generated candidate (`embed`: default the sentence
    embedder, loaded on first use)."""
    return copy_scores(products, [p.control for p in products], cvr=cvr, ctr=ctr, embed=embed)


def template_texts(products: Sequence[EvalProduct]) -> list[str]:
    """The template arm's copy: the deterministic template writer on each product's facts."""
    from generator.template_writer import template_copy

    return [template_copy(product_facts(p.context)) for p in products]


def _candidate_report(
    c: ScoredCandidate, facts: FactIndex, relevance_threshold: float, closed_vocabulary: bool
) -> GuardReport:
    """The guards on a scored candidate, with its embedding relevance as the topic guard's similarity."""
    return guards_check(
        c.text,
        facts,
        similarity=c.relevance,
        min_similarity=relevance_threshold,
        closed_vocabulary=closed_vocabulary,
    )


def guard_tally(
    candidates: Sequence[ScoredCandidate],
    facts: FactIndex,
    *,
    relevance_threshold: float,
    closed_vocabulary: bool = False,
) -> dict[str, int]:
    """Counts over one λ pool: candidates, how many pass every guard, fail each guard, and were
    dropped by the reranker's guard filter, and passed only after sentences were cut from them. The
    guards are recomputed on every candidate (the reranker stops at a candidate's first failed
    filter, so its reasons undercount the guards)."""
    tally = {"candidates": len(candidates), "guard_pass": 0, "dropped_by_guards": 0, "passed_after_cut": 0}
    tally.update({f"fail_{guard}": 0 for guard in GUARDS})
    for c in candidates:
        report = _candidate_report(c, facts, relevance_threshold, closed_vocabulary)
        tally["guard_pass"] += int(report.passed)
        tally["passed_after_cut"] += int(report.passed and bool(c.cuts))
        for guard in GUARDS:
            tally[f"fail_{guard}"] += int(bool(report.by_guard(guard)))
        tally["dropped_by_guards"] += int(c.dropped_reason.startswith("guards:"))
    return tally


def selected_copy(sku: str, lam: float, rounds: int, best: ScoredCandidate | None) -> dict[str, Any]:
    """What the evaluation keeps of one product × λ: the selected text (the variant a job makes)."""
    if best is None:
        return {"sku": sku, "lambda": lam, "rounds": rounds, "text": None, "note": "no candidate passed the filters"}
    return {
        "sku": sku,
        "lambda": lam,
        "rounds": rounds,
        "text": best.text,
        "cta_appended": best.cta_appended,
        "cuts": list(best.cuts),
        "novelty": round(best.novelty, 4),
        "predicted_cvr": round(best.p_conv, 5),
        "predicted_ctr": None if best.p_click is None else round(best.p_click, 5),
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


def rejected_examples(
    sku: str,
    lam: float,
    candidates: Sequence[ScoredCandidate],
    facts: FactIndex,
    relevance_threshold: float,
    limit: int = 2,
    closed_vocabulary: bool = False,
) -> list[dict[str, Any]]:
    """The first `limit` non-empty candidates of a pool that fail a guard, with the findings: what
    a reader of the report needs to judge the guards (and the model) beside the selected copy."""
    out: list[dict[str, Any]] = []
    for c in candidates:
        if len(out) >= limit:
            break
        if not c.text.strip():
            continue
        report = _candidate_report(c, facts, relevance_threshold, closed_vocabulary)
        if not report.passed:
            out.append({"sku": sku, "lambda": lam, "text": c.text, "findings": list(report.messages)})
    return out


TALLY_RATES = {
    # row key: (numerator, denominator) in the pooled tallies of a category and λ
    "guard_pass_rate": ("guard_pass", "candidates"),
    "fail_grounding": ("fail_grounding", "candidates"),
    "fail_topic": ("fail_topic", "candidates"),
    "fail_publishable": ("fail_publishable", "candidates"),
    "dropped_by_guards": ("dropped_by_guards", "candidates"),
    "passed_after_cut": ("passed_after_cut", "candidates"),
    "variant_rate": ("with_variant", "product_lambdas"),
}


def evaluate(
    products: dict[str, list[EvalProduct]],
    *,
    lambdas: Sequence[float],
    params: GenerationParams,
    predictors: Callable[[str, str], LogisticModel] | None = None,
    examples: Callable[[str, str], Sequence[FewShotExample]] | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    adapter: str | None = None,
    generate: Callable[..., Any] = generate_for_product,
) -> dict[str, Any]:
    """Run the pipeline for every product and λ and aggregate the paper's table.

    Per category and λ: the copy guards' pass rate over every sampled candidate (and the share
    failing each guard), the share of products that got a variant, and the selected copy's
    scores (the best candidate, which a job makes a variant of), next to the control copy and the
    template writer's copy of the same products. The selected texts are kept in the report.

    `adapter`: a LoRA adapter folder to generate with instead of the base model; `generate`:
    the pipeline (tests pass a stub).
    """
    from generator.embeddings import embed
    from generator.finetune.reward import guarded_pool_rewards
    from generator.scorers import set_diversity

    predictors = predictors or (lambda _category, target: prior_model(target))
    examples = examples or (lambda category, _title: builtin_examples(category))
    started = time.perf_counter()
    report: dict[str, Any] = {"lambdas": list(lambdas), "params": params.as_dict(), "paper": PAPER, "categories": {}}
    model_version, prompt_version = "", ""
    for category, items in products.items():
        cvr, ctr = predictors(category, "cvr"), predictors(category, "ctr")
        per_lambda: dict[float, dict[str, list[float]]] = {lam: {} for lam in lambdas}
        tallies: dict[float, dict[str, int]] = {lam: {} for lam in lambdas}
        selected: dict[float, list[dict[str, Any]]] = {lam: [] for lam in lambdas}
        rejected: dict[float, list[dict[str, Any]]] = {lam: [] for lam in lambdas}
        for number, item in enumerate(items, start=1):
            log(f"{category}: {item.sku} ({number}/{len(items)})")
            facts = product_fact_index(item)
            result = generate(
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
            model_version, prompt_version = result.model_version, result.prompt_version
            for outcome in result.outcomes:
                bucket = per_lambda[outcome.lam]
                pool = outcome.result
                top = pool.top
                best = pool.best
                generated = [c for c in pool.candidates if c.text.strip()]
                compliant = [c for c in generated if check_copy(c.text, item.guideline).ok]
                tally = guard_tally(
                    pool.candidates,
                    facts,
                    relevance_threshold=params.relevance_threshold,
                    closed_vocabulary=params.closed_vocabulary,
                )
                tally.update(product_lambdas=1, with_variant=int(best is not None))
                for key, value in tally.items():
                    tallies[outcome.lam][key] = tallies[outcome.lam].get(key, 0) + value
                selected[outcome.lam].append(selected_copy(item.sku, outcome.lam, outcome.rounds, best))
                rejected[outcome.lam].extend(
                    rejected_examples(
                        item.sku,
                        outcome.lam,
                        pool.candidates,
                        facts,
                        params.relevance_threshold,
                        closed_vocabulary=params.closed_vocabulary,
                    )
                )
                chosen = [best] if best is not None else []
                rewards, _passed = guarded_pool_rewards(
                    pool, lam=outcome.lam, predictor=cvr, facts=facts, relevance_threshold=params.relevance_threshold
                )
                values = {
                    # R_abs over every sample (generator.reward): what the pool is worth, comparable
                    # across models, unlike the pool-relative R the reranker ranks by; a candidate
                    # that fails a copy guard is worth nothing.
                    "mean_reward": mean_of(rewards),
                    "rounds": outcome.rounds,
                    "survivors": len(pool.ranked),
                    # D of the pool that survived the filters (the guards included): needs two.
                    "pool_diversity": pool.pool_diversity if len(pool.ranked) >= 2 else None,
                    "diversity": pool.top_diversity if len(top) >= 2 else None,
                    # The selected copy: the best candidate, the one a job makes a variant of.
                    "novelty": mean_of([c.novelty for c in chosen]),
                    "sentiment": mean_of([c.sentiment for c in chosen]),
                    "readability": mean_of([c.readability for c in chosen]),
                    "cta_rate": mean_of([1.0 if c.cta_present else 0.0 for c in chosen]),
                    "cta_model_rate": mean_of([1.0 if c.cta_present and not c.cta_appended else 0.0 for c in chosen]),
                    "cta_appended_rate": mean_of([1.0 if c.cta_appended else 0.0 for c in chosen]),
                    "keyword_strength": mean_of([c.keyword_strength for c in chosen]),
                    "relevance": mean_of([c.relevance for c in chosen]),
                    "predicted_ctr": mean_of([c.p_click for c in chosen if c.p_click is not None]),
                    "predicted_cvr": mean_of([c.p_conv for c in chosen]),
                    "compliance_rate": len(compliant) / len(pool.candidates) if pool.candidates else None,
                    "kept_rate": len(top) / max(1, min(params.top_k, len(pool.candidates))),
                }
                for key, value in values.items():
                    if value is not None:
                        bucket.setdefault(key, []).append(float(value))
        rows = []
        for lam in lambdas:
            row: dict[str, Any] = {"lambda": lam, "products": len(items)}
            row.update({key: mean_of(values) for key, values in per_lambda[lam].items()})
            tally = tallies[lam]
            for key, (num, den) in TALLY_RATES.items():
                row[key] = round(tally[num] / tally[den], 4) if tally.get(den) else None
            row["candidates_sampled"] = tally.get("candidates", 0)
            texts = [s["text"] for s in selected[lam] if s["text"]]
            row["diversity_across_products"] = round(set_diversity(embed(texts)), 4) if len(texts) >= 2 else None
            rows.append(row)
        templates = template_texts(items)
        template = copy_scores(items, templates, cvr=cvr, ctr=ctr, relevance_threshold=params.relevance_threshold)
        report["categories"][category] = {
            "products": [item.sku for item in items],
            "rows": rows,
            "control": control_scores(items, cvr=cvr, ctr=ctr),
            "template": template,
            "selected": {f"{lam:.2f}": selected[lam] for lam in lambdas},
            "rejected": {f"{lam:.2f}": rejected[lam] for lam in lambdas},
            "template_texts": [{"sku": i.sku, "text": t} for i, t in zip(items, templates, strict=True)],
            "elbow": elbow(list(lambdas), [r.get("diversity") for r in rows], [r.get("predicted_cvr") for r in rows]),
            "predictor": cvr.version,
        }
    report["model"] = model_version
    report["prompt_version"] = prompt_version
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report
