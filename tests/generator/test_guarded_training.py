"""Fine-tuning learns what the copy guards want: the RL reward and the evaluation gate count copy
that fails a guard as worthless, and SFT trains only on copy that passes the guards."""

from __future__ import annotations

import json

import numpy as np
import pytest

from catalog.guards import ProductFacts, fact_index
from generator.finetune import data as finetune_data
from generator.finetune.data import RLPrompt, corpus_examples, fit_to_train
from generator.finetune.reward import fails_guards, guarded_pool_rewards, guarded_reward
from generator.predictor import prior_model
from generator.prompts import ProductContext
from generator.rerank import RerankResult
from generator.reward import candidate_reward, conversion_bounds
from tests.generator.conftest import scored_candidate

PULSE = ProductFacts(
    sku="ELEC-T01",
    title="Voltora Pulse wireless earbuds",
    brand="Voltora",
    category="Electronics",
    description="Wireless earbuds with 30 hours of battery life and a compact charging case.",
    attributes={"battery_life_h": 30, "connectivity": "Bluetooth 5.3"},
)
GROUNDED = "Thirty hours of music on one charge: Pulse keeps up with your day. Shop now."
UNSUPPORTED = "Fifty hours of music on one charge with IPX7 protection. Shop now."


# --- the reward --------------------------------------------------------------------------------


def test_a_guard_failure_is_worthless_whatever_its_novelty_or_conversion():
    bounds = conversion_bounds(prior_model("cvr"))
    brilliant = scored_candidate(
        UNSUPPORTED, novelty=0.95, p_conv=0.2, rank=None, reason='guards: unsupported claim: "IPX7"'
    )
    dull = scored_candidate(
        GROUNDED, novelty=0.05, p_conv=0.001, rank=None, reason="relevance 0.10 below the threshold 0.15"
    )
    assert guarded_reward(brilliant, lam=0.6, bounds=bounds, failed=True) == -0.5
    assert guarded_reward(brilliant, lam=0.6, bounds=bounds, failed=True, compliance_weight=0.3) == -0.3
    # Any copy that passes the guards, even dropped by another filter, scores at least the penalty.
    assert guarded_reward(dull, lam=0.6, bounds=bounds, failed=False) >= -0.5
    kept = scored_candidate(GROUNDED)
    assert guarded_reward(kept, lam=0.6, bounds=bounds, failed=False) == candidate_reward(kept, lam=0.6, bounds=bounds)


def test_pool_rewards_recompute_the_guards_given_the_facts():
    facts = fact_index(PULSE)
    # Ranked by a reranker run without facts: only the recomputed guards see the unsupported claims.
    pool = RerankResult(
        candidates=[scored_candidate(GROUNDED), scored_candidate(UNSUPPORTED, novelty=0.9)],
        pool_diversity=0.4,
        top_diversity=0.4,
    )
    without, passed_without = guarded_pool_rewards(pool, lam=0.6, predictor=prior_model("cvr"))
    rewards, passed = guarded_pool_rewards(pool, lam=0.6, predictor=prior_model("cvr"), facts=facts)
    assert passed_without == [True, True] and without[1] > without[0]
    assert passed == [True, False] and rewards[0] == without[0] and rewards[1] == -0.5
    flagged = scored_candidate(GROUNDED, rank=None, reason='guards: unsupported claim: "17 hours"')
    assert fails_guards(flagged, None)  # the reranker's reason counts even without facts


def test_rl_group_rewards_drop_samples_that_fail_a_guard(monkeypatch):
    from generator import embeddings
    from generator.finetune import rl

    def fake_embed(texts):
        rows = []
        for i, _text in enumerate(texts):
            v = np.random.default_rng(i).normal(size=16)
            v[0] += 8.0  # near the product: every sample passes relevance
            rows.append(v / np.linalg.norm(v))
        return np.vstack(rows)

    monkeypatch.setattr(embeddings, "embed", fake_embed)
    product = ProductContext(
        title=PULSE.title,
        brand=PULSE.brand,
        category="Electronics",
        description=PULSE.description,
        attributes=dict(PULSE.attributes),
    )
    prompt = RLPrompt(messages=(), product=product, keywords=("battery life",))
    rewards = rl.group_rewards(prompt, [GROUNDED, UNSUPPORTED], lam=0.4, predictor=prior_model("cvr"))
    assert rewards[1] == -0.5 and rewards[0] >= 0.0


# --- the SFT data ------------------------------------------------------------------------------


def test_fit_to_train_checks_copy_against_its_own_facts_or_wants_no_claim_without():
    assert fit_to_train(GROUNDED, PULSE)
    assert not fit_to_train(UNSUPPORTED, PULSE)
    # Without product facts, only copy with no checkable claim is kept, and it must be publishable.
    assert fit_to_train("Your commute, your soundtrack, every morning. Grab yours today.", None)
    assert not fit_to_train("Your commute, your soundtrack, all day long. Grab yours today.", None)  # a duration
    assert not fit_to_train(GROUNDED, None)  # "Thirty hours" cannot be checked against anything
    assert not fit_to_train("Lowest price of the season, this week only. Order now.", None)


def test_seed_corpus_examples_keep_only_rows_without_checkable_claims(tmp_path):
    rows = [
        {"category": "FMCG", "product": "crisps 6 x 30 g", "sentiment": "positive", "cta_type": "direct",
         "text": "Six bags of crunchy crisps for the cupboard. Add to cart."},
        {"category": "FMCG", "product": "crisps", "sentiment": "positive", "cta_type": "direct",
         "text": "Crunchy, salty and gone in minutes. Add to cart."},
        {"category": "FMCG", "product": "crisps", "sentiment": "neutral", "cta_type": "none",
         "text": "A snack for the afternoon, at its lowest price this week only."},
    ]  # fmt: skip
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    examples = corpus_examples(path, category="FMCG", lam=0.75)
    assert [e.target for e in examples] == ["Crunchy, salty and gone in minutes. Add to cart."]


def test_the_shipped_seed_corpus_still_trains_every_category():
    for category in ("FMCG", "Apparel", "Electronics"):
        kept = corpus_examples(category=category, lam=0.5)
        assert kept and all(fit_to_train(e.target, None) for e in kept)


@pytest.mark.django_db
def test_finetune_examples_drop_approved_copy_with_an_unsupported_claim(make_experiment):
    from catalog.models import Category
    from generator.finetune.dataset import finetune_examples

    variants = [
        {"key": "control", "is_control": True, "copy": PULSE.description, "weight": 1, "approved": True},
        {"key": "llm-l040", "lambda_value": 0.4, "weight": 1, "approved": True, "copy": GROUNDED},
        {"key": "llm-l060", "lambda_value": 0.6, "weight": 1, "approved": True, "copy": UNSUPPORTED},
    ]
    make_experiment("pulse-sft", variants=variants)
    examples = finetune_examples(category=Category.objects.get(name="Electronics"))
    platform = [e.target for e in examples if e.source != "seed"]
    assert platform == [GROUNDED]
    seed = [e for e in examples if e.source == "seed"]
    assert len(seed) == len(corpus_examples(category="Electronics", lam=0.4))
    assert all(finetune_data.fit_to_train(e.target, None) for e in seed)
