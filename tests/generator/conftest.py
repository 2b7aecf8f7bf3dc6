"""Generator fixtures: a stub pipeline (fast, deterministic) for service/API tests."""

from __future__ import annotations

import numpy as np
import pytest

from generator.pipeline import LambdaOutcome, PipelineResult
from generator.predictor import prior_model
from generator.rerank import RawCandidate, RerankConfig, ScoredCandidate, rerank_candidates


def _vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=16)
    v[0] += 6.0  # all candidates lean towards the "product" direction, so they pass relevance
    return v / np.linalg.norm(v)


STUB_TEXTS = (
    "Thirty hours of music on one charge: Pulse keeps up with your day. Shop now.",
    "Wireless earbuds with long battery life and a pocket-sized case. Order yours today.",
    "Cheap earbuds that still sound fine. Add it to your cart.",  # forbidden word in the test brand
    "Crisp sound and fast charging for every commute and every workout. Grab yours today.",
)


def stub_generate_for_product(
    *,
    product,
    lambdas,
    params,
    guideline=None,
    control_text="",
    examples=(),
    predictor=None,
    click_predictor=None,
    progress=None,
    **_kwargs,
) -> PipelineResult:
    result = PipelineResult(model_version="stub-model", prompt_version="copy-test")
    product_vector = np.zeros(16)
    product_vector[0] = 1.0
    for index, lam in enumerate(lambdas):
        raw = [
            RawCandidate(text=STUB_TEXTS[i % len(STUB_TEXTS)], embedding=_vector(100 * index + i), prompt_type="cta")
            for i in range(params.candidates)
        ]
        reranked = rerank_candidates(
            raw,
            config=RerankConfig(lam=lam, top_k=params.top_k, dedupe_threshold=0.999, relevance_threshold=0.1),
            product_embedding=product_vector,
            control_embedding=None,
            keywords=["battery life"],
            guideline=guideline,
            predictor=predictor or prior_model("cvr"),
            click_predictor=click_predictor,
        )
        result.outcomes.append(
            LambdaOutcome(
                lam=lam,
                temperature=0.5,
                result=reranked,
                rounds=1,
                generated_tokens=10,
                generate_seconds=0.1,
                score_seconds=0.01,
            )
        )
        if progress:
            progress((index + 1) / len(lambdas))
    return result


def scored_candidate(
    text: str = "x", *, novelty: float = 0.6, p_conv: float = 0.06, rank: int | None = 1, reason: str = ""
) -> ScoredCandidate:
    """A reranked candidate with fixed middling scores; what rewards read (its novelty, p_conv,
    whether it was kept, and why not) is set per test."""
    return ScoredCandidate(
        position=0,
        text=text,
        prompt_type="cta",
        sentiment_target="",
        n_tokens=1,
        novelty=novelty,
        diversity=novelty,
        sentiment=0.0,
        cta_present=True,
        cta_density=0.1,
        readability=60.0,
        keyword_strength=0.3,
        relevance=0.5,
        length_chars=len(text),
        words=len(text.split()),
        length_fit=1.0,
        p_conv=p_conv,
        rank=rank,
        dropped_reason=reason,
    )


@pytest.fixture
def stub_pipeline():
    """The stub to pass as `generate=` to generation_job_run / generation_run_sync."""
    return stub_generate_for_product


@pytest.fixture
def draft_experiment(make_experiment):
    return make_experiment("pulse-gen")
