"""The sweep's report: a plain-text table, and DIR/evaluation.json + DIR/evaluation.html."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generator.evaluation.sweep import PAPER

TABLE_COLUMNS = (
    ("λ", "lambda", "{:.2f}"),
    ("R", "mean_reward", "{:.3f}"),
    ("D pool", "pool_diversity", "{:.3f}"),
    ("D top", "diversity", "{:.3f}"),
    ("D×prod", "diversity_across_products", "{:.3f}"),
    ("sent", "sentiment", "{:+.2f}"),
    ("read", "readability", "{:.0f}"),
    ("CTA", "cta_rate", "{:.0%}"),
    ("CTA mod", "cta_model_rate", "{:.0%}"),
    ("+CTA", "cta_appended_rate", "{:.0%}"),
    ("kw", "keyword_strength", "{:.2f}"),
    ("rel", "relevance", "{:.2f}"),
    ("pCTR", "predicted_ctr", "{:.1%}"),
    ("pCVR", "predicted_cvr", "{:.2%}"),
    ("compl", "compliance_rate", "{:.0%}"),
)

GUARD_COLUMNS = (
    ("λ", "lambda", "{:.2f}"),
    ("sampled", "candidates_sampled", "{:d}"),
    ("pass", "guard_pass_rate", "{:.0%}"),
    ("✗ground", "fail_grounding", "{:.0%}"),
    ("✗topic", "fail_topic", "{:.0%}"),
    ("✗publ", "fail_publishable", "{:.0%}"),
    ("dropped", "dropped_by_guards", "{:.0%}"),
    ("variant", "variant_rate", "{:.0%}"),
    ("rounds", "rounds", "{:.2f}"),
)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))


def cell(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    return fmt.format(value) if isinstance(value, int | float) else str(value)


def _block(columns: Sequence[tuple[str, str, str]], rows: Sequence[dict[str, Any]], arms: dict[str, dict]) -> list[str]:
    """One table: a line per λ row, then a line per baseline arm (control copy, template copy)."""
    widths = [max(len(title), 7) for title, _key, _fmt in columns]
    lines = ["  " + "  ".join(title.rjust(w) for (title, _k, _f), w in zip(columns, widths, strict=True))]
    for row in rows:
        lines.append(_line([cell(row.get(key), fmt) for _t, key, fmt in columns], widths))
    for name, scores in arms.items():
        if scores:
            cells = [name if key == "lambda" else cell(scores.get(key), fmt) for _t, key, fmt in columns]
            lines.append(_line(cells, widths))
    return lines


def format_table(report: dict[str, Any]) -> str:
    """The report as plain-text tables: per category the copy guards' figures over every sampled
    candidate, then the selected copy's scores, with the control and template copy last."""
    lines = []
    for category, data in report["categories"].items():
        lines.append(f"{category} ({len(data['products'])} products, predictor {data['predictor']})")
        template = data.get("template") or {}
        if any("guard_pass_rate" in row for row in data["rows"]):
            lines.append("  copy guards, share of sampled candidates; variant = share of products with one")
            guard_arms = {"template": {"guard_pass_rate": template.get("guard_pass_rate")}} if template else {}
            lines.extend(_block(GUARD_COLUMNS, data["rows"], guard_arms))
            lines.append("  selected copy (the best candidate per product and λ)")
        lines.extend(_block(TABLE_COLUMNS, data["rows"], {"control": data.get("control") or {}, "template": template}))
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
        "D pool = 1 − mean pairwise cosine of each product's candidates that passed every filter (the guards "
        "included; needs two); D top = of its top-K; D×prod = of the selected copies across products "
        "(comparable with the control and template rows); CTA = selected copy with a call to action, CTA mod = "
        "written by the model, +CTA = appended by post-processing; R = mean R_abs over every sample, a guard "
        "failure worthless; compl = raw samples passing the brand rules; ✗ = failing that guard; dropped = "
        "dropped by the reranker's guard filter (it checks only what passed the earlier filters)"
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
        subplot_titles=(
            "Creativity vs conversion (predicted CVR against D, by λ)",
            "Pool diversity D by λ (after the filters and guards)",
        ),
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
                y=[r.get("pool_diversity", r.get("diversity")) for r in data["rows"]],
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
