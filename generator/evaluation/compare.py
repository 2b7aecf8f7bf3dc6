"""Base model vs a fine-tuned adapter on the same held-out products, λ, prompts and seeds:
what the adapter's activation gate reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from generator.evaluation.products import EvalProduct
from generator.evaluation.report import cell
from generator.evaluation.sweep import evaluate, mean_of
from generator.pipeline import GenerationParams
from generator.predictor import LogisticModel
from generator.prompts import FewShotExample

COMPARE_METRICS = (
    ("mean reward R_abs", "mean_reward", "{:.4f}"),
    ("guard pass rate", "guard_pass_rate", "{:.0%}"),
    ("products × λ with a variant", "variant_rate", "{:.0%}"),
    ("D (pool, after the guards)", "pool_diversity", "{:.3f}"),
    ("D (top-K)", "diversity", "{:.3f}"),
    ("D across products", "diversity_across_products", "{:.3f}"),
    ("sentiment", "sentiment", "{:+.3f}"),
    ("CTA rate", "cta_rate", "{:.0%}"),
    ("CTA written by the model", "cta_model_rate", "{:.0%}"),
    ("CTA appended", "cta_appended_rate", "{:.0%}"),
    ("readability", "readability", "{:.1f}"),
    ("compliance", "compliance_rate", "{:.0%}"),
    ("predicted CTR", "predicted_ctr", "{:.2%}"),
    ("predicted CVR", "predicted_cvr", "{:.2%}"),
)


def _rowsmean_of(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    return mean_of([r[key] for r in rows if r.get(key) is not None])


def compare(
    products: dict[str, list[EvalProduct]],
    *,
    adapter: str,
    lambdas: Sequence[float],
    params: GenerationParams,
    predictors: Callable[[str, str], LogisticModel] | None = None,
    examples: Callable[[str, str], Sequence[FewShotExample]] | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    sweep: Callable[..., dict[str, Any]] = evaluate,
) -> dict[str, Any]:
    """Base model and adapter on the same held-out products, λ values, prompts and sampling seeds.

    Each metric is the mean over the λ rows; `beats_base` is what the activation gate reads:
    the adapter's mean reward R_abs (a candidate that fails a copy guard worthless:
    `generator.finetune.reward`) is higher than the base's. The guard pass rate of both is
    reported beside it. `sweep` runs one model's sweep
    (`sweep.evaluate`; tests pass a stub).
    """
    log("base model")
    base = sweep(products, lambdas=lambdas, params=params, predictors=predictors, examples=examples, log=log)
    log(f"adapter {adapter}")
    tuned = sweep(
        products, lambdas=lambdas, params=params, predictors=predictors, examples=examples, log=log, adapter=adapter
    )
    categories: dict[str, Any] = {}
    for category in base["categories"]:
        base_rows = base["categories"][category]["rows"]
        tuned_rows = tuned["categories"][category]["rows"]
        metrics = {}
        for _title, key, _fmt in COMPARE_METRICS:
            b, t = _rowsmean_of(base_rows, key), _rowsmean_of(tuned_rows, key)
            metrics[key] = {
                "base": b,
                "tuned": t,
                "delta": round(t - b, 4) if b is not None and t is not None else None,
            }
        categories[category] = {
            "products": base["categories"][category]["products"],
            "metrics": metrics,
            "base_rows": base_rows,
            "tuned_rows": tuned_rows,
        }
    base_reward = mean_of([c["metrics"]["mean_reward"]["base"] for c in categories.values()])
    tuned_reward = mean_of([c["metrics"]["mean_reward"]["tuned"] for c in categories.values()])
    base_pass = mean_of([c["metrics"]["guard_pass_rate"]["base"] for c in categories.values()])
    tuned_pass = mean_of([c["metrics"]["guard_pass_rate"]["tuned"] for c in categories.values()])
    return {
        "lambdas": list(lambdas),
        "params": params.as_dict(),
        "base_model": base.get("model", ""),
        "tuned_model": tuned.get("model", ""),
        "mean_reward": {"base": base_reward, "tuned": tuned_reward},
        "guard_pass_rate": {"base": base_pass, "tuned": tuned_pass},
        "beats_base": base_reward is not None and tuned_reward is not None and tuned_reward > base_reward,
        "categories": categories,
        "seconds": round(base["seconds"] + tuned["seconds"], 1),
    }


def format_comparison(comparison: dict[str, Any]) -> str:
    """Base vs tuned as a markdown table, one block per category."""
    lines: list[str] = []
    for category, data in comparison["categories"].items():
        lines.append(
            f"{category}: {len(data['products'])} held-out products, λ = "
            + ", ".join(f"{v:.2f}" for v in comparison["lambdas"])
        )
        lines.append("")
        lines.append("| metric | base | tuned | Δ |")
        lines.append("|---|---:|---:|---:|")
        for title, key, fmt in COMPARE_METRICS:
            m = data["metrics"][key]
            delta = m["delta"]
            delta_text = "—" if delta is None else ("+" if delta >= 0 else "−") + cell(abs(delta), fmt).lstrip("+")
            lines.append(f"| {title} | {cell(m['base'], fmt)} | {cell(m['tuned'], fmt)} | {delta_text} |")
        lines.append("")
    verdict = "beats" if comparison["beats_base"] else "does NOT beat"
    reward = comparison["mean_reward"]
    passing = comparison.get("guard_pass_rate") or {}
    lines.append(
        f"the adapter {verdict} the base on mean reward ({cell(reward['tuned'], '{:.4f}')} vs "
        f"{cell(reward['base'], '{:.4f}')}; guard pass rate {cell(passing.get('tuned'), '{:.0%}')} vs "
        f"{cell(passing.get('base'), '{:.0%}')}); base {comparison['base_model']}, tuned {comparison['tuned_model']}"
    )
    return "\n".join(lines)
