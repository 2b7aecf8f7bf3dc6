import itertools

import numpy as np
import pytest

from catalog.guards import ProductFacts, fact_index
from catalog.rules import Guideline
from generator.predictor import LogisticModel, prior_model
from generator.rerank import RawCandidate, RerankConfig, rerank_candidates

PRODUCT = np.array([1.0, 0.0, 0.0, 0.0])
KEYWORDS = ["battery life", "wireless"]


def vec(*values: float) -> np.ndarray:
    v = np.array(values, dtype=float)
    return v / np.linalg.norm(v)


def cand(text: str, *values: float) -> RawCandidate:
    return RawCandidate(text=text, embedding=vec(*values), prompt_type="cta")


def run(candidates, lam=0.5, top_k=3, guideline=None, control=None, predictor=None, facts=None, **config):
    return rerank_candidates(
        candidates,
        config=RerankConfig(lam=lam, top_k=top_k, **config),
        product_embedding=PRODUCT,
        control_embedding=control,
        keywords=KEYWORDS,
        guideline=guideline,
        predictor=predictor or prior_model("cvr"),
        click_predictor=prior_model("ctr"),
        facts=facts,
    )


# A predictor that only rewards keyword strength, so conversion order is easy to set up.
KEYWORD_ONLY = LogisticModel(
    target="cvr",
    coefficients={
        "intercept": -3.0,
        "keyword_strength": 3.0,
        "cta_present": 0.0,
        "cta_density": 0.0,
        "sentiment": 0.0,
        "readability": 0.0,
        "relevance": 0.0,
        "length_fit": 0.0,
    },
)


def test_near_duplicates_are_dropped_before_anything_else():
    result = run(
        [
            cand("Wireless earbuds with great battery life for every day.", 1, 0.2, 0, 0),
            cand("Wireless earbuds with great battery life for everyday use.", 1, 0.21, 0, 0),
            cand("Music all day on a single charge, wherever you go.", 1, 0, 0.8, 0),
        ],
        dedupe_threshold=0.95,
    )
    first, twin, other = result.candidates
    assert twin.dropped_reason.startswith("near-duplicate of candidate #1")
    assert twin.rank is None and twin.reward is None
    assert first.rank is not None and other.rank is not None
    assert result.dropped == {"near-duplicate": 1}


def test_duplicate_of_the_control_copy_is_dropped():
    result = run(
        [cand("Wireless earbuds with long battery life and a compact case.", 1, 0.3, 0, 0)], control=vec(1, 0.3, 0, 0)
    )
    assert result.candidates[0].dropped_reason.startswith("near-duplicate of the control copy")


def test_brand_rules_and_relevance_filter_with_reasons():
    guideline = Guideline(forbidden_words=("cheap",), max_length=80, cta_required=True)
    result = run(
        [
            cand("Cheap wireless earbuds with battery life to spare. Shop now.", 1, 0.1, 0, 0),
            cand("Wireless earbuds. " * 10 + "Shop now.", 1, 0, 0.1, 0),
            cand("Wireless earbuds with battery life to spare all week.", 1, 0, 0, 0.1),
            cand("Totally unrelated words about the ocean. Shop now.", 0.05, 0, 0, 1),
            cand("Wireless earbuds with battery life for long flights. Order yours today.", 1, 0.15, 0.1, 0),
        ],
        guideline=guideline,
        relevance_threshold=0.2,
        dedupe_threshold=0.9999,
    )
    reasons = [c.dropped_reason for c in result.candidates]
    assert "forbidden word 'cheap'" in reasons[0]
    assert "over the brand's limit of 80" in reasons[1]
    assert "requires a call to action" in reasons[2]
    assert reasons[3].startswith("relevance 0.05 below the threshold 0.20")
    assert reasons[4] == "" and result.best is result.candidates[4]
    assert result.best.rank == 1
    # Every candidate keeps its scores, dropped or not.
    assert all(0 <= c.p_conv <= 1 and c.p_click is not None for c in result.candidates)


def test_prompt_echo_is_dropped_as_malformed():
    text = "Northwind | Spring 2023 | Product Brand: Northwind | Product Category: Beauty. Shop now."
    result = run([cand(text, 1, 0, 0, 0), cand("Wireless earbuds with battery life. Shop now.", 1, 0.3, 0, 0)])
    assert result.candidates[0].dropped_reason.startswith("malformed")
    assert result.candidates[1].rank == 1


def test_empty_text_is_dropped():
    result = run([RawCandidate(text="  ", embedding=vec(1, 0, 0, 0)), cand("Wireless battery life.", 1, 0.1, 0, 0)])
    assert result.candidates[0].dropped_reason == "empty after cleaning"


def _tradeoff_pool():
    # A: on-keyword (high P_conv) but similar to B; C: off-keyword, but far from everything (novel).
    return [
        cand("Wireless earbuds with battery life for the whole day.", 1, 0.3, 0, 0),
        cand("Wireless earbuds with battery life for the whole week.", 1, 0.45, 0, 0),
        cand("Your commute turns into a private concert hall.", 1, 0, 0.9, 0.9),
    ]


def test_lambda_trades_novelty_against_conversion():
    creative = run(_tradeoff_pool(), lam=0.9, predictor=KEYWORD_ONLY, dedupe_threshold=0.999)
    converting = run(_tradeoff_pool(), lam=0.1, predictor=KEYWORD_ONLY, dedupe_threshold=0.999)
    assert creative.best.text.startswith("Your commute")
    assert converting.best.text.startswith("Wireless earbuds")
    c = creative.candidates
    assert c[2].novelty > c[0].novelty and c[0].p_conv > c[2].p_conv


def test_reward_formula_and_rank_order():
    result = run(_tradeoff_pool(), lam=0.6, predictor=KEYWORD_ONLY, dedupe_threshold=0.999, reward_scale="raw")
    for c in result.candidates:
        assert c.reward == pytest.approx(0.6 * c.novelty + 0.4 * c.p_conv)
    ranked = result.ranked
    assert [c.rank for c in ranked] == [1, 2, 3]
    assert all(a.reward >= b.reward for a, b in itertools.pairwise(ranked))
    minmax = run(_tradeoff_pool(), lam=0.6, predictor=KEYWORD_ONLY, dedupe_threshold=0.999)
    assert max(c.reward for c in minmax.candidates) <= 1.0 and min(c.reward for c in minmax.candidates) >= 0.0


def test_top_k_keeps_k_and_marks_the_rest():
    result = run(_tradeoff_pool(), lam=0.5, top_k=1, dedupe_threshold=0.999)
    assert len(result.top) == 1 and result.top[0].rank == 1
    outside = [c for c in result.candidates if c.rank and c.rank > 1]
    assert len(outside) == 2
    assert all(c.dropped_reason.startswith("outside the top 1") for c in outside)
    assert result.top_diversity == 0.0 and result.pool_diversity > 0


def test_diversity_share_and_set_diversity_agree():
    result = run(_tradeoff_pool(), lam=0.5, dedupe_threshold=0.999)
    assert np.mean([c.diversity for c in result.candidates]) == pytest.approx(result.pool_diversity)


def test_config_validation():
    with pytest.raises(ValueError):
        RerankConfig(lam=1.5)
    with pytest.raises(ValueError):
        RerankConfig(lam=0.5, top_k=0)
    with pytest.raises(ValueError):
        RerankConfig(lam=0.5, reward_scale="log")
    assert run([]).candidates == []


def test_the_shown_scores_are_the_candidate_models_columns():
    from generator.models import Candidate
    from generator.scorers import SHOWN_SCORES, STORED_SCORES

    columns = {f.name for f in Candidate._meta.get_fields()}
    assert set(STORED_SCORES) <= columns
    assert len({shown for shown, _column in SHOWN_SCORES}) == len(SHOWN_SCORES)


HEADPHONES = fact_index(
    ProductFacts(
        sku="ELEC-001",
        title="Hushwave ANC Over-Ear Headphones",
        brand="Hushwave",
        category="Electronics",
        description="Active noise cancelling headphones with up to 30 hours of battery life.",
        attributes={"battery_hours": 30, "bluetooth": "5.3", "weight_g": 250},
    ),
    other_brands=("Sony",),
)


def test_guards_drop_invented_claims_before_ranking_and_name_them():
    """The issue's case: the invented figures outranked the true ones; with the product's facts
    the ungrounded candidates never reach the ranking, whatever their predicted conversion."""
    invented = cand("Battery life: 17 hours of charge. Biocompatible Nocturnal Lux. Shop now.", 1, 0.5, 0, 0)
    other_brand = cand("Sony-grade sound with 30 hours of battery life. Shop now.", 1, 0, 0.5, 0)
    true_copy = cand("Thirty hours of battery life and Bluetooth 5.3 keep the music going. Shop now.", 1, 0, 0, 0.5)
    result = run([invented, other_brand, true_copy], lam=0.4, top_k=3, predictor=KEYWORD_ONLY, facts=HEADPHONES)
    first, second, _third = result.candidates
    assert first.dropped_reason.startswith("guards: ") and '"17 hours"' in first.dropped_reason
    assert second.dropped_reason.startswith("guards: ") and "Sony" in second.dropped_reason
    assert first.rank is None and second.rank is None
    assert result.best is not None and result.best.text == true_copy.text
    assert result.dropped.get("guards") == 2


def test_without_facts_the_guards_do_not_run():
    invented = cand("Battery life: 17 hours of charge. Shop now.", 1, 0.1, 0, 0)
    assert run([invented]).best is not None


def test_vacuous_copy_passes_but_ranks_after_every_clean_candidate():
    """Copy that only says nothing (an advisory finding) is the pool's fallback: kept, never preferred."""
    from catalog.guards import guards_check

    vacuous = cand(
        "With the Hushwave ANC Over-Ear Headphones, you'll find everything you need to make every day fun and "
        "exciting. Shop now.",
        1,
        0.6,
        0,
        0,
    )
    true_copy = cand("Thirty hours of battery life and Bluetooth 5.3 keep the music going. Shop now.", 1, 0, 0, 0.6)
    report = guards_check(vacuous.text, HEADPHONES)
    assert report.passed and not report.clean and {f.code for f in report.findings} == {"vacuous"}
    for lam in (0.0, 0.4, 1.0):
        result = run([vacuous, true_copy], lam=lam, top_k=2, facts=HEADPHONES)
        weak, clean = result.candidates
        assert clean.rank == 1 and weak.rank == 2 and not weak.dropped_reason, lam
    alone = run([vacuous], lam=0.4, top_k=1, facts=HEADPHONES)
    assert alone.best is not None and alone.best.text == vacuous.text  # the fallback, for a reviewer to judge
