"""The reranker's reward on an absolute scale: what RL optimises and what the evaluation gate compares.

The reranker ranks one pool by R = λ·D + (1 − λ)·P_conv with both terms min–max scaled *within
the pool* (see `generator.rerank`). That is right for ranking, but a pool-relative score cannot
say whether one model writes better pools than another: every pool spans [0, 1]. So policy
optimisation and the base-vs-tuned comparison use the same terms with *fixed* bounds:

    R_abs = λ·D + (1 − λ)·P̃_conv − w_brand·(1 − compliant)

- D: the candidate's novelty from the reranker (1 − mean cosine to the other candidates of its
  pool and to the control copy), already in [0, 1];
- P̃_conv = (P_conv − P_floor) / (P_ceiling − P_floor), clipped to [0, 1], where floor and ceiling
  are what the active predictor gives for the worst and the best feature values (so the scale
  follows the predictor, prior or fitted);
- compliant: the candidate survived the reranker's filters (not empty or malformed, not a
  near-duplicate, within the brand rules and relevant to the product);
- w_brand = 0.5 by default: a non-compliant candidate can never outscore a compliant one with
  the same D and P_conv.

Pure: no Django, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from generator.predictor import LogisticModel, sigmoid
from generator.rerank import RerankResult, ScoredCandidate

COMPLIANCE_WEIGHT = 0.5

# Range of each predictor feature (see generator.predictor.FEATURE_NAMES).
FEATURE_RANGES: dict[str, tuple[float, float]] = {
    "keyword_strength": (0.0, 1.0),
    "cta_present": (0.0, 1.0),
    "cta_density": (0.0, 0.15),
    "sentiment": (-1.0, 1.0),
    "readability": (0.0, 1.0),
    "relevance": (0.0, 1.0),
    "length_fit": (0.0, 1.0),
    "specificity": (0.0, 1.0),
    "hype": (0.0, 1.0),
}


def conversion_bounds(predictor: LogisticModel) -> tuple[float, float]:
    """(floor, ceiling) of P_conv over the feature ranges: each slope at its worst and best end."""
    low = high = float(predictor.coefficients.get("intercept", 0.0))
    for name in predictor.feature_names:
        theta = float(predictor.coefficients.get(name, 0.0))
        lo, hi = FEATURE_RANGES.get(name, (0.0, 1.0))
        low += min(theta * lo, theta * hi)
        high += max(theta * lo, theta * hi)
    return float(sigmoid(low)), float(sigmoid(high))


def candidate_reward(
    candidate: ScoredCandidate,
    *,
    lam: float,
    bounds: tuple[float, float],
    compliance_weight: float = COMPLIANCE_WEIGHT,
) -> float:
    floor, ceiling = bounds
    p_scaled = (candidate.p_conv - floor) / (ceiling - floor) if ceiling > floor else 0.0
    p_scaled = min(1.0, max(0.0, p_scaled))
    compliant = candidate.rank is not None
    return lam * candidate.novelty + (1.0 - lam) * p_scaled - (0.0 if compliant else compliance_weight)


def pool_rewards(
    result: RerankResult,
    *,
    lam: float,
    predictor: LogisticModel,
    compliance_weight: float = COMPLIANCE_WEIGHT,
) -> list[float]:
    """R_abs of every candidate of a reranked pool, in generation order."""
    bounds = conversion_bounds(predictor)
    return [candidate_reward(c, lam=lam, bounds=bounds, compliance_weight=compliance_weight) for c in result.candidates]


def mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0
