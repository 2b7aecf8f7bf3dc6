"""The sweep's report: a plain-text table, and DIR/evaluation.json + DIR/evaluation.html."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generator.evaluation.sweep import PAPER

# Every figure a table shows: its key in the report's rows, its column title and its format.
FIGURES = {
    "lambda": ("λ", "{:.2f}"),
    "mean_reward": ("R", "{:.3f}"),
    "pool_diversity": ("D pool", "{:.3f}"),
    "diversity": ("D top", "{:.3f}"),
    "diversity_across_products": ("D×prod", "{:.3f}"),
    "sentiment": ("sent", "{:+.2f}"),
    "readability": ("read", "{:.0f}"),
    "cta_rate": ("CTA", "{:.0%}"),
    "cta_model_rate": ("CTA mod", "{:.0%}"),
    "cta_appended_rate": ("+CTA", "{:.0%}"),
    "keyword_strength": ("kw", "{:.2f}"),
    "relevance": ("rel", "{:.2f}"),
    "predicted_ctr": ("pCTR", "{:.1%}"),
    "predicted_cvr": ("pCVR", "{:.2%}"),
    "compliance_rate": ("compl", "{:.0%}"),
    "candidates_sampled": ("sampled", "{:d}"),
    "guard_pass_rate": ("pass", "{:.0%}"),
    "fail_grounding": ("✗ground", "{:.0%}"),
    "fail_topic": ("✗topic", "{:.0%}"),
    "fail_publishable": ("✗publ", "{:.0%}"),
    "dropped_by_guards": ("dropped", "{:.0%}"),
    "passed_after_cut": ("cut+pass", "{:.0%}"),
    "variant_rate": ("variant", "{:.0%}"),
    "rounds": ("rounds", "{:.2f}"),
}


def columns(*keys: str) -> tuple[tuple[str, str, str], ...]:
    """The (title, key, format) of these figures, in this order."""
    return tuple((FIGURES[key][0], key, FIGURES[key][1]) for key in keys)


TABLE_COLUMNS = columns(
    "lambda",
    "mean_reward",
    "pool_diversity",
    "diversity",
    "diversity_across_products",
    "sentiment",
    "readability",
    "cta_rate",
    "cta_model_rate",
    "cta_appended_rate",
    "keyword_strength",
    "relevance",
    "predicted_ctr",
    "predicted_cvr",
    "compliance_rate",
)
GUARD_COLUMNS = columns(
    "lambda",
    "candidates_sampled",
    "guard_pass_rate",
    "fail_grounding",
    "fail_topic",
    "fail_publishable",
    "dropped_by_guards",
    "passed_after_cut",
    "variant_rate",
    "rounds",
)


def _widths(columns: Sequence[tuple[str, str, str]], min_width: int) -> list[int]:
    return [max(len(title), min_width) for title, _key, _fmt in columns]


def _line(cells: Sequence[str], widths: Sequence[int], indent: str = "  ") -> str:
    return indent + "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))


def cell(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    return fmt.format(value) if isinstance(value, int | float) else str(value)


def table_lines(
    columns: Sequence[tuple[str, str, str]], rows: Sequence[dict[str, Any]], *, min_width: int = 7, indent: str = "  "
) -> list[str]:
    """A right-aligned table: the titles, then a line per row (a missing figure as —, text as it is)."""
    widths = _widths(columns, min_width)
    lines = [_line([title for title, _key, _fmt in columns], widths, indent)]
    lines.extend(_line([cell(row.get(key), fmt) for _t, key, fmt in columns], widths, indent) for row in rows)
    return lines


def _block(columns: Sequence[tuple[str, str, str]], rows: Sequence[dict[str, Any]], arms: dict[str, dict]) -> list[str]:
    """One table: a line per λ row, then a line per baseline arm (control copy, template copy)."""
    lines = table_lines(columns, rows)
    widths = _widths(columns, 7)
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
