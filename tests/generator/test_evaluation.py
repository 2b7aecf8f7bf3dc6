import json
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.services import DEMO_CATALOG, DEMO_GUIDELINES
from generator.evaluation import sweep
from generator.evaluation.products import products_from_csv
from generator.evaluation.report import format_table, write_report
from generator.evaluation.sweep import PAPER, elbow
from generator.predictor import prior_model

ROOT = Path(__file__).resolve().parents[2]


def test_products_from_csv_are_held_out_deterministically_with_brand_rules():
    chosen = products_from_csv(
        path=DEMO_CATALOG,
        guidelines_path=DEMO_GUIDELINES,
        categories=["FMCG", "apparel"],
        per_category=2,
        keywords={"FMCG": ["fresh"]},
    )
    again = products_from_csv(
        path=DEMO_CATALOG, guidelines_path=DEMO_GUIDELINES, categories=["FMCG", "apparel"], per_category=2
    )
    assert set(chosen) == {"FMCG", "Apparel"}
    assert [p.sku for p in chosen["FMCG"]] == [p.sku for p in again["FMCG"]]
    item = chosen["FMCG"][0]
    assert len(chosen["FMCG"]) == 2 and item.control and item.context.title and item.context.attributes
    assert item.context.keywords == ("fresh",)
    assert item.guideline is not None and item.guideline.max_length > 0


def test_elbow_finds_the_knee_of_a_concave_decreasing_curve():
    lambdas = [0.2, 0.4, 0.6, 0.8]
    knee = elbow(lambdas, [0.40, 0.50, 0.60, 0.70], [0.050, 0.049, 0.046, 0.030])
    assert knee["lambda"] == 0.6 and knee["diversity"] == 0.6
    assert elbow(lambdas[:2], [0.4, 0.5], [0.05, 0.04])["lambda"] is None
    assert elbow(lambdas, [0.4, None, 0.6, 0.7], [0.05, 0.04, 0.03, None])["lambda"] is None


def _report():
    rows = [
        {
            "lambda": lam,
            "products": 2,
            "diversity": d,
            "diversity_across_products": d + 0.1,
            "sentiment": 0.5,
            "readability": 70.0,
            "cta_rate": 1.0,
            "cta_appended_rate": 0.5,
            "keyword_strength": 0.3,
            "relevance": 0.5,
            "predicted_ctr": 0.1,
            "predicted_cvr": c,
            "compliance_rate": 0.9,
        }
        for lam, d, c in [(0.2, 0.4, 0.05), (0.4, 0.5, 0.049), (0.6, 0.6, 0.046), (0.8, 0.7, 0.03)]
    ]
    return {
        "lambdas": [0.2, 0.4, 0.6, 0.8],
        "paper": PAPER,
        "model": "stub",
        "categories": {
            "FMCG": {
                "products": ["A", "B"],
                "rows": rows,
                "predictor": "prior-v1",
                "control": {"diversity_across_products": 0.3, "predicted_cvr": 0.03, "cta_rate": 0.5},
                "elbow": elbow(
                    [0.2, 0.4, 0.6, 0.8], [r["diversity"] for r in rows], [r["predicted_cvr"] for r in rows]
                ),
            }
        },
    }


def test_table_and_report_files(tmp_path):
    report = _report()
    table = format_table(report)
    assert "FMCG" in table and "control" in table and "elbow: λ = 0.60" in table and "0.58–0.64" in table
    json_path, html_path = write_report(report, tmp_path / "out")
    assert json.loads(json_path.read_text())["categories"]["FMCG"]["elbow"]["lambda"] == 0.6
    html = html_path.read_text()
    assert "plotly" in html.lower() and "Creativity vs conversion" in html and "<pre" in html
    assert 'src="https://cdn.plot.ly' not in html  # plotly.js is inlined: viewable offline


def test_control_scores_use_the_same_scorers():
    import numpy as np

    products = products_from_csv(
        path=DEMO_CATALOG, guidelines_path=DEMO_GUIDELINES, categories=["Electronics"], per_category=3
    )["Electronics"]
    cvr, ctr = prior_model("cvr"), prior_model("ctr")
    scores = sweep.control_scores(products, cvr=cvr, ctr=ctr, embed=lambda texts: np.eye(len(texts), 4))
    assert scores["diversity_across_products"] == 1.0
    assert 0 < scores["predicted_cvr"] < scores["predicted_ctr"] < 1 and 0 <= scores["compliance_rate"] <= 1


def test_web_and_ingest_imports_do_not_load_torch():
    code = (
        "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'abplatform.settings'); "
        "django.setup(); import generator.api, generator.tasks, generator.admin, generator.admin_actions, "
        "generator.jobs, generator.predictor_versions, generator.urls, generator.views, generator.web_urls; "
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


HELD_OUT = ROOT / "tests" / "generator" / "data" / "heldout_products.csv"


def test_held_out_csv_is_the_guard_eval_sets_held_out_products_verbatim():
    chosen = products_from_csv(path=HELD_OUT, guidelines_path=None, categories=None, per_category=10)
    assert {c: len(p) for c, p in chosen.items()} == {"Apparel": 3, "Electronics": 3, "FMCG": 3}
    source = json.loads((ROOT / "tests" / "catalog" / "data" / "guard_eval_products.json").read_text())
    held_out = {p["sku"]: p for p in source["products"] if p["held_out"]}
    for items in chosen.values():
        for item in items:
            row = held_out[item.sku]
            assert (item.context.title, item.context.brand, item.context.description) == (
                row["title"],
                row["brand"],
                row["description"],
            )
            assert item.context.attributes == row["attributes"]


def test_every_held_out_set_loads_with_all_three_categories_and_its_own_skus():
    """Each held-out set is read once unseen; a SKU in two sets would make the second reading a rerun."""
    seen: dict[str, str] = {}
    paths = sorted(HELD_OUT.parent.glob("heldout_products*.csv"))
    assert len(paths) >= 13
    for path in paths:
        chosen = products_from_csv(path=path, guidelines_path=None, categories=None, per_category=99)
        assert set(chosen) == {"Apparel", "Electronics", "FMCG"}, path.name
        for items in chosen.values():
            for item in items:
                assert item.context.title and item.context.attributes, (path.name, item.sku)
                assert seen.setdefault(item.sku, path.name) == path.name, (item.sku, seen[item.sku], path.name)


def _fake_embed(texts):
    import numpy as np

    rows = []
    for text in texts:
        v = np.random.default_rng(sum(map(ord, text)) % 10_000).normal(size=16)
        v[0] += 6.0
        rows.append(v / np.linalg.norm(v))
    return np.vstack(rows) if rows else np.zeros((0, 16))


def test_guard_tally_recomputes_every_guard_on_every_candidate():
    from catalog.guards import fact_index
    from tests.generator.conftest import scored_candidate as _scored
    from tests.generator.test_guarded_training import GROUNDED, PULSE, UNSUPPORTED

    pool = [
        _scored(GROUNDED),
        _scored(UNSUPPORTED, rank=None, reason='guards: unsupported claim: "Fifty hours"'),
        # dropped by the brand rule first, so the reranker never guard-checked it
        _scored("Fresh lentil soup for cold evenings, ready in minutes. Shop now.", rank=None, reason="brand: x"),
        _scored("Best price ever!!! [insert name]", rank=None, reason="brand: y"),
    ]
    tally = sweep.guard_tally(pool, fact_index(PULSE), relevance_threshold=0.15)
    assert tally == {
        "candidates": 4,
        "guard_pass": 1,
        "dropped_by_guards": 1,
        "passed_after_cut": 0,
        "fail_grounding": 2,  # "Best price ever" is a ranking too
        "fail_topic": 2,
        "fail_publishable": 2,  # the soup line also says nothing of the earbuds' data (vacuous)
    }


def test_evaluate_reports_guards_variants_selected_copy_and_the_template_arm(monkeypatch):
    from generator import embeddings
    from generator.pipeline import GenerationParams
    from tests.generator.conftest import STUB_TEXTS, stub_generate_for_product

    monkeypatch.setattr(embeddings, "embed", _fake_embed)
    products = products_from_csv(path=HELD_OUT, guidelines_path=None, categories=["Electronics"], per_category=2)
    report = sweep.evaluate(
        products, lambdas=[0.4, 0.6], params=GenerationParams(candidates=4, top_k=2), generate=stub_generate_for_product
    )
    data = report["categories"]["Electronics"]
    row = data["rows"][1]
    assert row["lambda"] == 0.6 and row["candidates_sampled"] == 8 and row["variant_rate"] == 1.0
    for key in ("guard_pass_rate", "fail_grounding", "fail_topic", "fail_publishable", "dropped_by_guards"):
        assert 0.0 <= row[key] <= 1.0
    # The stub's texts are about earbuds: off topic for a kitchen scale and a router.
    assert row["fail_topic"] > 0 and row["guard_pass_rate"] < 1.0
    assert row["cta_rate"] == pytest.approx(row["cta_model_rate"] + row["cta_appended_rate"])
    assert row["pool_diversity"] is not None and row["predicted_cvr"] > 0
    picks = data["selected"]["0.60"]
    assert [p["sku"] for p in picks] == data["products"] and all(p["text"] in STUB_TEXTS for p in picks)
    rejected = data["rejected"]["0.60"]
    assert rejected and all(r["findings"] and r["text"] in STUB_TEXTS for r in rejected)
    # The template arm: deterministic copy of the same products, grounded by construction.
    assert [t["sku"] for t in data["template_texts"]] == data["products"]
    assert data["template"]["guard_pass_rate"] == 1.0 and data["template"]["diversity_across_products"] is not None
    table = format_table(report)
    assert "template" in table and "✗ground" in table and "variant" in table and "CTA mod" in table
