"""The reward fine-tuning optimises and the evaluation gate compares: `generator.reward`'s R_abs,
with copy that fails a guard counted as worthless.

    R_abs = λ·D + (1 − λ)·P̃_conv − w_brand·(1 − compliant)     (passes the copy guards)
    R_abs = −w_brand                                         (fails a copy guard)

A candidate that fails a copy guard (`catalog.guards`: an unsupported claim, off topic, not fit
to publish) can never be published, so it gets no credit for novelty or predicted conversion,
only the non-compliance penalty (w_brand = 0.5 by default). It therefore scores below every
candidate that passes the guards (R_abs ≥ −w_brand there, ≥ 0 when it also survives the other
filters), and all guard failures score alike: RL's group baseline learns "pass the guards"
rather than "fail the guards in a more novel way".

A failure is the reranker's `guards: …` reason or, given the product's facts, the guards
recomputed on every candidate: the reranker stops at a candidate's first failed filter, so a
near-duplicate or an off-brand sample is never guard-checked there.

Pure: no Django, no torch.
"""

from __future__ import annotations

from catalog.guards import FactIndex, guards_check
from generator.predictor import LogisticModel
from generator.rerank import RerankResult, ScoredCandidate
from generator.reward import COMPLIANCE_WEIGHT, candidate_reward, conversion_bounds


def fails_guards(candidate: ScoredCandidate, facts: FactIndex | None, *, relevance_threshold: float = 0.15) -> bool:
    """Whether the candidate fails a copy guard (the reranker's reason, or the guards given `facts`)."""
    if candidate.dropped_reason.startswith("guards:"):
        return True
    if facts is None:
        return False
    report = guards_check(candidate.text, facts, similarity=candidate.relevance, min_similarity=relevance_threshold)
    return not report.clean  # vacuous copy earns nothing either: the policy should learn to say something


def guarded_reward(
    candidate: ScoredCandidate,
    *,
    lam: float,
    bounds: tuple[float, float],
    failed: bool,
    compliance_weight: float = COMPLIANCE_WEIGHT,
) -> float:
    """R_abs of one candidate; `failed`: it fails a copy guard (then −compliance_weight)."""
    if failed:
        return -compliance_weight
    return candidate_reward(candidate, lam=lam, bounds=bounds, compliance_weight=compliance_weight)


def guarded_pool_rewards(
    result: RerankResult,
    *,
    lam: float,
    predictor: LogisticModel,
    facts: FactIndex | None = None,
    compliance_weight: float = COMPLIANCE_WEIGHT,
    relevance_threshold: float = 0.15,
) -> tuple[list[float], list[bool]]:
    """(R_abs of every candidate of a reranked pool, whether each passes the guards), in generation order."""
    bounds = conversion_bounds(predictor)
    rewards: list[float] = []
    passed: list[bool] = []
    for c in result.candidates:
        failed = fails_guards(c, facts, relevance_threshold=relevance_threshold)
        rewards.append(guarded_reward(c, lam=lam, bounds=bounds, failed=failed, compliance_weight=compliance_weight))
        passed.append(not failed)
    return rewards, passed
