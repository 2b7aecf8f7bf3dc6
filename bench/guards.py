"""Copy guards: prompt v4 (facts, openers, grounded decoding) vs v3 (facts only) on held-out products.

    nice python bench/guards.py [--csv tests/generator/data/heldout_products.csv] [--lambdas 0.4,0.6]
        [--candidates 8] [--products 3] [--out var/bench/guards]

Runs `manage.py evaluate_generator` once per prompt version in this one process (same model,
products, λ values and seeds), then prints per prompt and λ, pooled over the categories: the
share of sampled candidates that pass every guard and that fail each guard, the share of
products × λ that got a variant, the mean rounds sampled, the pool diversity D after the guards
and the selected copy's CTA split, next to the template writer's copy. The selected texts of
both runs are written to OUT/selected.md for a copy editor to read; each run's JSON and HTML
are in OUT/v3 and OUT/v2. The products of the default CSV are the held-out products of the
guards' evaluation set (tests/catalog/data/guard_eval_products.json), which no prompt, few-shot
example or training run has seen.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HELD_OUT = ROOT / "tests" / "generator" / "data" / "heldout_products.csv"
POOLED = ("guard_pass_rate", "fail_grounding", "fail_topic", "fail_publishable", "dropped_by_guards")
MEANS = ("variant_rate", "rounds", "pool_diversity", "diversity_across_products", "cta_model_rate")
MEANS += ("cta_appended_rate", "predicted_cvr", "mean_reward")
# The table's figures, after the prompt (generator.evaluation.report gives their titles and formats).
FIGURES = ("lambda", "candidates_sampled", "guard_pass_rate", "fail_grounding", "fail_topic", "fail_publishable")
FIGURES += ("variant_rate", "rounds", "pool_diversity", "diversity_across_products", "cta_model_rate")
FIGURES += ("cta_appended_rate", "predicted_cvr", "mean_reward")


def pooled_rows(report: dict[str, Any], prompt: str) -> list[dict[str, Any]]:
    """One row per λ over all categories: guard shares pooled over candidates, the rest averaged
    over categories weighted by their products."""
    rows = []
    for lam in report["lambdas"]:
        per_category = [
            (data, next(r for r in data["rows"] if r["lambda"] == lam)) for data in report["categories"].values()
        ]
        sampled = sum(r.get("candidates_sampled", 0) for _d, r in per_category)
        row: dict[str, Any] = {"prompt": prompt, "lambda": lam, "candidates_sampled": sampled}
        for key in POOLED:
            row[key] = (
                sum((r.get(key) or 0.0) * r.get("candidates_sampled", 0) for _d, r in per_category) / sampled
                if sampled
                else None
            )
        for key in MEANS:
            weighted = [(r[key], len(d["products"])) for d, r in per_category if r.get(key) is not None]
            total = sum(w for _v, w in weighted)
            row[key] = sum(v * w for v, w in weighted) / total if total else None
        rows.append(row)
    template = [data.get("template") or {} for data in report["categories"].values()]
    weights = [len(data["products"]) for data in report["categories"].values()]
    row = {"prompt": "template", "lambda": "—"}
    for key in ("guard_pass_rate", "diversity_across_products", "cta_rate", "predicted_cvr"):
        pairs = [(t[key], w) for t, w in zip(template, weights, strict=True) if t.get(key) is not None]
        total = sum(w for _v, w in pairs)
        row[key] = sum(v * w for v, w in pairs) / total if total else None
    row["cta_model_rate"] = row.pop("cta_rate")
    rows.append(row)
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    from generator.evaluation.report import columns, table_lines

    return "\n".join(table_lines((("prompt", "prompt", "{}"), *columns(*FIGURES)), rows, min_width=8, indent=""))


def selected_markdown(reports: dict[str, dict[str, Any]]) -> str:
    lines = ["# Selected copy per product and λ", ""]
    for prompt, report in reports.items():
        lines.append(f"## prompt {prompt} ({report.get('prompt_version', '')}, {report.get('model', '')})")
        for category, data in report["categories"].items():
            lines.append(f"### {category}")
            templates = {t["sku"]: t["text"] for t in data.get("template_texts", [])}
            for lam, picks in data["selected"].items():
                for pick in picks:
                    text = pick["text"] if pick["text"] else f"(no variant: {pick.get('note', '')})"
                    extra = " [CTA appended]" if pick.get("cta_appended") else ""
                    lines.append(f"- λ {lam} · {pick['sku']} · rounds {pick['rounds']}: {text}{extra}")
                    lines.extend(f"  - edited: {cut}" for cut in pick.get("cuts", []))
            for lam, dropped in data.get("rejected", {}).items():
                for item in dropped:
                    lines.append(
                        f"- rejected · λ {lam} · {item['sku']}: {item['text']} — {'; '.join(item['findings'])}"
                    )
            for sku, text in templates.items():
                lines.append(f"- template · {sku}: {text}")
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", default=str(HELD_OUT))
    parser.add_argument("--lambdas", default="0.4,0.6")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--products", type=int, default=3, help="Products per category.")
    parser.add_argument("--prompts", default="v4,v3")
    parser.add_argument("--out", default=str(ROOT / "var" / "bench" / "guards"))
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abplatform.settings")
    import django

    django.setup()
    from django.core.management import call_command

    out = Path(args.out)
    reports: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    for prompt in [p.strip() for p in args.prompts.split(",") if p.strip()]:
        started = time.perf_counter()
        call_command(
            "evaluate_generator",
            csv=args.csv,
            lambdas=args.lambdas,
            candidates=args.candidates,
            top_k=args.top_k,
            products=args.products,
            prompt=prompt,
            out=str(out / prompt),
            stdout=io.StringIO(),
            stderr=sys.stderr,
        )
        timings[prompt] = time.perf_counter() - started
        reports[prompt] = json.loads((out / prompt / "evaluation.json").read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = []
    for prompt, report in reports.items():
        rows.extend(r for r in pooled_rows(report, prompt) if r["prompt"] != "template")
    rows.append(pooled_rows(next(iter(reports.values())), "")[-1])
    first = next(iter(reports.values()))
    products = sum(len(d["products"]) for d in first["categories"].values())
    print(
        f"copy guards on {products} held-out products ({', '.join(first['categories'])}), "
        f"{args.candidates} candidates × λ {args.lambdas}, up to {first['params']['max_rounds']} rounds, "
        f"model {first.get('model', '')}"
    )
    print(format_rows(rows))
    print("run time: " + ", ".join(f"{p} {s:.0f} s" for p, s in timings.items()))
    (out / "selected.md").write_text(selected_markdown(reports), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps({"rows": rows, "seconds": timings}, indent=2), encoding="utf-8")
    print(f"selected texts: {out / 'selected.md'}")


if __name__ == "__main__":
    main()
