"""Offline evaluation: the paper's tables for our generator, on held-out demo products.

For each category and λ: mean set diversity D, sentiment, readability, CTA rate, predicted CTR
and CVR, and the brand-compliance rate of raw samples, next to the demo catalog's control copy
and the paper's reported numbers; then the creativity-vs-conversion curve and its elbow (kneed).
Products come from the database, or straight from the demo CSV when the database has none.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.brand import Guideline, check_copy
from generator.pipeline import GenerationParams, generate_for_product
from generator.predictor import LogisticModel, prior_model
from generator.prompts import FewShotExample, ProductContext, builtin_examples, category_keywords
from generator.scorers import copy_features

# What arXiv 2505.23809 reports, shown beside our numbers (a sanity check, not a target).
PAPER = {
    "diversity_at_0.6": [0.58, 0.64],
    "template_diversity": [0.30, 0.35],
    "ctr": [0.085, 0.121],
    "cvr": [0.035, 0.052],
    "sweep_0.2_to_0.8": {"diversity": [0.42, 0.68], "ctr": [0.113, 0.091], "cvr": [0.047, 0.039]},
    "elbow_lambda": [0.4, 0.6],
    "recommended_lambda": {"FMCG": [0.7, 0.8], "Apparel": [0.5, 0.6], "Electronics": [0.3, 0.5]},
}


@dataclass(frozen=True)
class EvalProduct:
    sku: str
    context: ProductContext
    guideline: Guideline | None
    control: str


def _held_out_order(sku: str) -> str:
    # A stable pseudo-random order, so "N products" is the same set on every run and machine.
    return hashlib.sha256(sku.encode()).hexdigest()


def products_from_db(*, categories: Sequence[str] | None, per_category: int) -> dict[str, list[EvalProduct]]:
    """Catalog products that no experiment uses (held out), N per category."""
    from experiments.models import Product
    from generator.selectors import product_context, product_guideline

    products = Product.objects.select_related("category").filter(experiments__isnull=True)
    if categories:
        products = products.filter(category__name__in=categories)
    grouped: dict[str, list[Any]] = {}
    for product in products:
        grouped.setdefault(product.category.name, []).append(product)
    chosen: dict[str, list[EvalProduct]] = {}
    for name, rows in sorted(grouped.items()):
        rows.sort(key=lambda p: _held_out_order(p.sku))
        chosen[name] = [
            EvalProduct(
                sku=p.sku,
                context=product_context(product=p),
                guideline=product_guideline(product=p),
                control=p.description,
            )
            for p in rows[:per_category]
        ]
    return chosen


def products_from_csv(
    *,
    path: Path,
    guidelines_path: Path | None,
    categories: Sequence[str] | None,
    per_category: int,
    keywords: dict[str, Sequence[str]] | None = None,
) -> dict[str, list[EvalProduct]]:
    """The same selection read from the demo CSV (no database catalog needed)."""
    guidelines: dict[str, dict[str, Any]] = {}
    if guidelines_path and guidelines_path.exists():
        guidelines = {g["brand"]: g for g in json.loads(guidelines_path.read_text(encoding="utf-8"))}
    wanted = {c.lower() for c in categories} if categories else None
    grouped: dict[str, list[dict[str, str]]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = (row.get("category") or "").strip()
            if name and (wanted is None or name.lower() in wanted):
                grouped.setdefault(name, []).append(row)
    keywords = keywords or {}
    chosen: dict[str, list[EvalProduct]] = {}
    for name, rows in sorted(grouped.items()):
        rows.sort(key=lambda r: _held_out_order(r["sku"]))
        chosen[name] = []
        for row in rows[:per_category]:
            rules = guidelines.get(row["brand"])
            guideline = (
                Guideline(
                    tone=rules.get("tone", ""),
                    forbidden_words=tuple(rules.get("forbidden_words", ())),
                    max_length=int(rules.get("max_length", 0)),
                    cta_required=bool(rules.get("cta_required", False)),
                )
                if rules
                else None
            )
            try:
                attributes = json.loads(row.get("attributes") or "{}")
            except json.JSONDecodeError:
                attributes = {}
            context = ProductContext(
                title=row["title"],
                brand=row["brand"],
                category=name,
                price=row.get("price") or None,
                description=row.get("description", ""),
                attributes=attributes if isinstance(attributes, dict) else {},
                keywords=tuple(keywords.get(name, ())),
                tone=guideline.tone if guideline else "",
            )
            chosen[name].append(
                EvalProduct(sku=row["sku"], context=context, guideline=guideline, control=row.get("description", ""))
            )
    return chosen


def _mean(values: Sequence[float]) -> float | None:
    clean = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return round(float(np.mean(clean)), 4) if clean else None


def control_scores(
    products: Sequence[EvalProduct], *, cvr: LogisticModel, ctr: LogisticModel
) -> dict[str, float | None]:
    """The demo catalog's own copy, scored like a generated candidate."""
    from generator.embeddings import embed
    from generator.scorers import relevance, set_diversity, text_scores

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
        "sentiment": _mean([r[0].sentiment for r in rows]),
        "readability": _mean([r[0].readability for r in rows]),
        "cta_rate": _mean([1.0 if r[0].cta_present else 0.0 for r in rows]),
        "keyword_strength": _mean([r[0].keyword_strength for r in rows]),
        "relevance": _mean([r[1]["relevance"] for r in rows]),
        "predicted_ctr": _mean(ctr.predict_many([r[1] for r in rows])),
        "predicted_cvr": _mean(cvr.predict_many([r[1] for r in rows])),
        "compliance_rate": _mean([1.0 if r[2] else 0.0 for r in rows]),
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
                    "mean_reward": _mean(pool_rewards(outcome.result, lam=outcome.lam, predictor=cvr)),
                    "diversity": outcome.result.top_diversity if len(top) >= 2 else None,
                    "pool_diversity": outcome.result.pool_diversity,
                    "novelty": _mean([c.novelty for c in top]),
                    "sentiment": _mean([c.sentiment for c in top]),
                    "readability": _mean([c.readability for c in top]),
                    "cta_rate": _mean([1.0 if c.cta_present else 0.0 for c in top]),
                    "cta_appended_rate": _mean([1.0 if c.cta_appended else 0.0 for c in top]),
                    "keyword_strength": _mean([c.keyword_strength for c in top]),
                    "relevance": _mean([c.relevance for c in top]),
                    "predicted_ctr": _mean([c.p_click for c in top if c.p_click is not None]),
                    "predicted_cvr": _mean([c.p_conv for c in top]),
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
            row.update({key: _mean(values) for key, values in per_lambda[lam].items()})
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


TABLE_COLUMNS = (
    ("λ", "lambda", "{:.2f}"),
    ("R", "mean_reward", "{:.3f}"),
    ("D", "diversity", "{:.3f}"),
    ("D×prod", "diversity_across_products", "{:.3f}"),
    ("sent", "sentiment", "{:+.2f}"),
    ("read", "readability", "{:.0f}"),
    ("CTA", "cta_rate", "{:.0%}"),
    ("+CTA", "cta_appended_rate", "{:.0%}"),
    ("kw", "keyword_strength", "{:.2f}"),
    ("rel", "relevance", "{:.2f}"),
    ("pCTR", "predicted_ctr", "{:.1%}"),
    ("pCVR", "predicted_cvr", "{:.2%}"),
    ("compl", "compliance_rate", "{:.0%}"),
)


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    return fmt.format(value) if isinstance(value, int | float) else str(value)


def format_table(report: dict[str, Any]) -> str:
    """The report as a plain-text table: one block per category, control copy last."""
    widths = [max(len(title), 7) for title, _key, _fmt in TABLE_COLUMNS]
    header = "  ".join(title.rjust(w) for (title, _k, _f), w in zip(TABLE_COLUMNS, widths, strict=True))
    lines = []
    for category, data in report["categories"].items():
        lines.append(f"{category} ({len(data['products'])} products, predictor {data['predictor']})")
        lines.append("  " + header)
        for row in data["rows"]:
            cells = [_cell(row.get(key), fmt) for _t, key, fmt in TABLE_COLUMNS]
            lines.append("  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
        control = dict(data["control"])
        if control:
            control["lambda"] = "control"
            control["diversity_across_products"] = control.get("diversity_across_products")
            cells = ["control" if key == "lambda" else _cell(control.get(key), fmt) for _t, key, fmt in TABLE_COLUMNS]
            lines.append("  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
        knee = data["elbow"]
        knee_text = "none"
        if knee.get("lambda") is not None:
            knee_text = f"λ = {knee['lambda']:.2f} (D {knee['diversity']:.3f})"
        lines.append(f"  elbow: {knee_text}; {knee.get('note', '')}")
        lines.append("")
    paper = report["paper"]
    lines.append(
        f"paper: D at λ=0.6 {paper['diversity_at_0.6'][0]}–{paper['diversity_at_0.6'][1]}, template copy "
        f"{paper['template_diversity'][0]}–{paper['template_diversity'][1]}; CTR 8.5–12.1 %, CVR 3.5–5.2 %; "
        "elbow λ 0.4–0.6"
    )
    lines.append(
        "D = 1 − mean pairwise cosine of each product's top-K set; D×prod = of the best copies across "
        "products (comparable with the control row); +CTA = stock CTA appended; compl = raw samples "
        "passing the brand rules"
    )
    return "\n".join(lines)


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """DIR/evaluation.json and DIR/evaluation.html (plotly, self-contained: no network to view it)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "evaluation.json"
    json_path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")

    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Creativity vs conversion (predicted CVR against D, by λ)", "Diversity D by λ"),
    )
    palette = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
    for index, (category, data) in enumerate(report["categories"].items()):
        color = palette[index % len(palette)]
        rows = [r for r in data["rows"] if r.get("diversity") is not None and r.get("predicted_cvr") is not None]
        figure.add_trace(
            go.Scatter(
                x=[r["diversity"] for r in rows],
                y=[r["predicted_cvr"] for r in rows],
                mode="lines+markers+text",
                text=[f"λ={r['lambda']:.1f}" for r in rows],
                textposition="top center",
                name=category,
                line={"color": color},
            ),
            row=1,
            col=1,
        )
        knee = data["elbow"]
        if knee.get("lambda") is not None:
            y = next(r["predicted_cvr"] for r in rows if r["lambda"] == knee["lambda"])
            figure.add_trace(
                go.Scatter(
                    x=[knee["diversity"]],
                    y=[y],
                    mode="markers",
                    marker={"size": 16, "symbol": "x", "color": color},
                    name=f"{category} elbow",
                ),
                row=1,
                col=1,
            )
        control = data.get("control") or {}
        if control.get("predicted_cvr") is not None:
            figure.add_trace(
                go.Scatter(
                    x=[control.get("diversity_across_products")],
                    y=[control["predicted_cvr"]],
                    mode="markers",
                    marker={"size": 12, "symbol": "square-open", "color": color},
                    name=f"{category} control copy",
                ),
                row=1,
                col=1,
            )
        figure.add_trace(
            go.Bar(
                x=[f"{r['lambda']:.2f}" for r in data["rows"]],
                y=[r.get("diversity") for r in data["rows"]],
                name=f"{category} D",
                marker_color=color,
                showlegend=False,
            ),
            row=1,
            col=2,
        )
    low, high = PAPER["diversity_at_0.6"]
    figure.add_hrect(
        y0=low, y1=high, fillcolor="green", opacity=0.12, line_width=0, row=1, col=2, annotation_text="paper, λ=0.6"
    )
    low, high = PAPER["template_diversity"]
    figure.add_hrect(
        y0=low,
        y1=high,
        fillcolor="grey",
        opacity=0.15,
        line_width=0,
        row=1,
        col=2,
        annotation_text="paper, template copy",
    )
    figure.update_xaxes(title_text="D (1 − mean pairwise cosine)", row=1, col=1)
    figure.update_yaxes(title_text="predicted CVR", tickformat=".1%", row=1, col=1)
    figure.update_xaxes(title_text="λ", row=1, col=2)
    figure.update_layout(
        title=f"Copylift generator evaluation · {report.get('model', '')}", barmode="group", height=560
    )
    html_path = out_dir / "evaluation.html"
    table = format_table(report).replace("&", "&amp;").replace("<", "&lt;")
    html = figure.to_html(full_html=True, include_plotlyjs=True)
    html = html.replace("</body>", f"<pre style='font-size:13px'>{table}</pre></body>")
    html_path.write_text(html, encoding="utf-8")
    return json_path, html_path


# --- base vs a fine-tuned adapter -----------------------------------------------------------------

COMPARE_METRICS = (
    ("mean reward R_abs", "mean_reward", "{:.4f}"),
    ("D (top-K)", "diversity", "{:.3f}"),
    ("D across products", "diversity_across_products", "{:.3f}"),
    ("sentiment", "sentiment", "{:+.3f}"),
    ("CTA rate", "cta_rate", "{:.0%}"),
    ("CTA appended", "cta_appended_rate", "{:.0%}"),
    ("readability", "readability", "{:.1f}"),
    ("compliance", "compliance_rate", "{:.0%}"),
    ("predicted CTR", "predicted_ctr", "{:.2%}"),
    ("predicted CVR", "predicted_cvr", "{:.2%}"),
)


def _rows_mean(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    return _mean([r[key] for r in rows if r.get(key) is not None])


def compare(
    products: dict[str, list[EvalProduct]],
    *,
    adapter: str,
    lambdas: Sequence[float],
    params: GenerationParams,
    predictors: Callable[[str, str], LogisticModel] | None = None,
    examples: Callable[[str, str], Sequence[FewShotExample]] | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Base model and adapter on the same held-out products, λ values, prompts and sampling seeds.

    Each metric is the mean over the λ rows; `beats_base` is what the activation gate reads:
    the adapter's mean reward R_abs is higher than the base's.
    """
    log("base model")
    base = evaluate(products, lambdas=lambdas, params=params, predictors=predictors, examples=examples, log=log)
    log(f"adapter {adapter}")
    tuned = evaluate(
        products, lambdas=lambdas, params=params, predictors=predictors, examples=examples, log=log, adapter=adapter
    )
    categories: dict[str, Any] = {}
    for category in base["categories"]:
        base_rows = base["categories"][category]["rows"]
        tuned_rows = tuned["categories"][category]["rows"]
        metrics = {}
        for _title, key, _fmt in COMPARE_METRICS:
            b, t = _rows_mean(base_rows, key), _rows_mean(tuned_rows, key)
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
    base_reward = _mean([c["metrics"]["mean_reward"]["base"] for c in categories.values()])
    tuned_reward = _mean([c["metrics"]["mean_reward"]["tuned"] for c in categories.values()])
    return {
        "lambdas": list(lambdas),
        "params": params.as_dict(),
        "base_model": base.get("model", ""),
        "tuned_model": tuned.get("model", ""),
        "mean_reward": {"base": base_reward, "tuned": tuned_reward},
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
            delta_text = "—" if delta is None else ("+" if delta >= 0 else "−") + _cell(abs(delta), fmt).lstrip("+")
            lines.append(f"| {title} | {_cell(m['base'], fmt)} | {_cell(m['tuned'], fmt)} | {delta_text} |")
        lines.append("")
    verdict = "beats" if comparison["beats_base"] else "does NOT beat"
    reward = comparison["mean_reward"]
    lines.append(
        f"the adapter {verdict} the base on mean reward ({_cell(reward['tuned'], '{:.4f}')} vs "
        f"{_cell(reward['base'], '{:.4f}')}); base {comparison['base_model']}, tuned {comparison['tuned_model']}"
    )
    return "\n".join(lines)
