"""Conversion predictor: logistic regression P(x) = σ(θᵀx) on copy features (pure numpy).

Two targets share one feature vector:
- "cvr": orders per impression (the paper's CVR); its probability is the reranker's P_conv.
- "ctr": clicks per impression, reported next to it by the offline evaluation.

Before the platform has logged outcomes, `PRIOR` is used: hand-set coefficients whose intercept
puts ordinary copy near the paper's reported rates (CTR ≈ 10 %, CVR ≈ 4 %) and whose slopes
encode the paper's claims (keyword strength, CTA density and positive sentiment help) plus
readability, relevance to the product and a sensible length. A fit is a MAP estimate with a
Gaussian prior centred on those coefficients: with little data it stays near them, with a lot
the data wins. Rows are aggregated counts (impressions, successes), i.e. a binomial likelihood.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

FEATURE_NAMES: tuple[str, ...] = (
    "keyword_strength",  # [0, 1], share of the category keyword library used (saturating)
    "cta_present",  # 0/1
    "cta_density",  # calls to action per word, typically 0–0.15
    "sentiment",  # VADER compound, [−1, 1]
    "readability",  # Flesch reading ease / 100, [0, 1]
    "relevance",  # cosine similarity to the product description, [0, 1]
    "length_fit",  # 1 inside 12–45 words, decaying outside
    "specificity",  # [0, 1], figures such as "30 hours" (three saturate)
    "hype",  # [0, 1], exclamation marks and all-caps words (three saturate)
)
TARGETS = ("cvr", "ctr")

# Hand-set θ (documented in the README). At a "typical" candidate (keyword_strength 0.33,
# cta_present 1, cta_density 0.05, sentiment 0.5, readability 0.6, relevance 0.5,
# length_fit 1) these give CVR ≈ 4.2 % and CTR ≈ 10.5 %; copy with no CTA, no keyword and
# neutral tone sits near 1.9 % / 5.7 %.
PRIOR_COEFFICIENTS: dict[str, dict[str, float]] = {
    "cvr": {
        "intercept": -4.86,
        "keyword_strength": 0.6,
        "cta_present": 0.35,
        "cta_density": 2.0,
        "sentiment": 0.3,
        "readability": 0.4,
        "relevance": 0.8,
        "length_fit": 0.3,
        # The paper says nothing about figures or shouting: no prior belief, outcomes decide.
        "specificity": 0.0,
        "hype": 0.0,
    },
    "ctr": {
        "intercept": -3.6,
        "keyword_strength": 0.5,
        "cta_present": 0.25,
        "cta_density": 1.5,
        "sentiment": 0.35,
        "readability": 0.5,
        "relevance": 0.6,
        "length_fit": 0.2,
        "specificity": 0.0,
        "hype": 0.0,
    },
}
PRIOR_VERSION = "prior-v1"
# Ridge weight on the slopes towards the prior θ, worth about 30 pieces of copy. Measured by the
# loop-gain figure of bench/closed_loop.py (40 seeded replicates; the next round's picks reranked
# by a category's refit vs by the prior, true CVR of the hidden text model), in points, FMCG /
# Apparel / Electronics: strength 1 −0.012 / −0.033 / +0.091; 30 +0.004 / −0.028 / +0.114;
# 100 +0.003 / −0.016 / +0.079. Choosing it per fit by Laplace evidence was tried and was no
# better than 30, so it was not kept.
REFIT_PRIOR_STRENGTH = 30.0
# What no feature explains: each piece of copy's own effect on the logit scale. Copy-level lifts
# of ±20 % are common in copy tests; treating every impression as independent evidence about the
# features instead would let two weeks of one variant outweigh the prior many times over.
COPY_EFFECT_SD = 0.2
INTERCEPT_PRIOR_STRENGTH = 1.0


def sigmoid(z: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


@dataclass(frozen=True)
class LogisticModel:
    """θ by feature name; `version` is what a generation job records."""

    target: str
    coefficients: Mapping[str, float]
    version: str = PRIOR_VERSION
    feature_names: tuple[str, ...] = FEATURE_NAMES

    def theta(self) -> np.ndarray:
        slopes = [self.coefficients.get(n, 0.0) for n in self.feature_names]
        return np.array([self.coefficients.get("intercept", 0.0), *slopes])

    def predict(self, features: Mapping[str, float]) -> float:
        return float(sigmoid(self.theta() @ design_row(features, self.feature_names)))

    def predict_many(self, rows: Sequence[Mapping[str, float]]) -> list[float]:
        if not rows:
            return []
        x = np.vstack([design_row(r, self.feature_names) for r in rows])
        return [float(p) for p in sigmoid(x @ self.theta())]


def prior_model(target: str = "cvr") -> LogisticModel:
    if target not in PRIOR_COEFFICIENTS:
        raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")
    return LogisticModel(target=target, coefficients=dict(PRIOR_COEFFICIENTS[target]))


def design_row(features: Mapping[str, float], names: Sequence[str] = FEATURE_NAMES) -> np.ndarray:
    """[1, x₁, …, xₙ] with booleans as 0/1; a missing feature is an error, not a silent 0."""
    missing = [n for n in names if n not in features]
    if missing:
        raise KeyError(f"missing feature(s): {', '.join(missing)}")
    return np.array([1.0] + [float(features[n]) for n in names])


@dataclass(frozen=True)
class OutcomeRow:
    """One piece of copy with its logged totals: what a fit learns from."""

    features: Mapping[str, float]
    impressions: int
    orders: int
    clicks: int = 0

    def successes(self, target: str) -> int:
        return self.orders if target == "cvr" else self.clicks


@dataclass(frozen=True)
class FitResult:
    model: LogisticModel
    n_samples: int
    metrics: dict[str, float] = field(default_factory=dict)


class InsufficientData(ValueError):
    """Too few logged outcomes to fit anything."""


def fit_logistic(
    rows: Sequence[OutcomeRow],
    *,
    target: str = "cvr",
    prior: LogisticModel | None = None,
    prior_strength: float = 1.0,
    min_impressions: int = 100,
    max_iter: int = 50,
    version: str = "fit",
    copy_sd: float = COPY_EFFECT_SD,
) -> FitResult:
    """Penalized quasi-likelihood logistic regression on aggregated binomial rows, by IRLS.

    Solves Σᵢ wᵢ (kᵢ − nᵢpᵢ) xᵢ = S (θ − θ₀), the score equations of
    Σᵢ wᵢ [kᵢ log pᵢ + (nᵢ − kᵢ) log(1 − pᵢ)] − ½ Σⱼ sⱼ (θⱼ − θ₀ⱼ)² with the weights wᵢ held fixed
    at each step (S = diag(sⱼ); with `copy_sd` = 0 it is the plain binomial MAP), where nᵢ are
    impressions, kᵢ orders (or clicks), θ₀ the prior's coefficients, sⱼ = `prior_strength` for the
    slopes and at most INTERCEPT_PRIOR_STRENGTH for the intercept, and wᵢ = 1 / (1 + nᵢpᵢ(1 − pᵢ)·
    copy_sd²) the quasi-likelihood weight of a row whose copy has its own unexplained effect
    (`copy_sd` = 0 gives the plain binomial likelihood). The penalty keeps the Hessian invertible
    when features are collinear or few rows exist.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")
    prior = prior or prior_model(target)
    usable = [r for r in rows if r.impressions > 0]
    total = sum(r.impressions for r in usable)
    if len(usable) < 2 or total < min_impressions:
        raise InsufficientData(
            f"{len(usable)} copy rows with {total} impressions; need at least 2 rows and {min_impressions} impressions"
        )
    names = prior.feature_names
    x = np.vstack([design_row(r.features, names) for r in usable])
    n = np.array([float(r.impressions) for r in usable])
    k = np.array([float(min(r.successes(target), r.impressions)) for r in usable])
    theta0 = prior.theta()
    theta = theta0.copy()
    # Slopes are pulled towards the prior; the intercept (the overall rate) barely: every refit
    # should learn the platform's own base rate, whatever the paper's was.
    strengths = np.full(len(theta), float(prior_strength))
    strengths[0] = min(float(prior_strength), INTERCEPT_PRIOR_STRENGTH)
    penalty = np.diag(strengths)
    for _ in range(max_iter):
        p = sigmoid(x @ theta)
        variance = n * p * (1 - p)
        # Quasi-likelihood weight per row: beyond binomial noise, each piece of copy has its own
        # effect (on the logit scale, sd `copy_sd`) that no feature explains, so a row is worth at
        # most 1/copy_sd² however many impressions it had.
        weight = 1.0 / (1.0 + variance * copy_sd**2)
        gradient = x.T @ (weight * (k - n * p)) - strengths * (theta - theta0)
        hessian = (x * (weight * variance)[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        # Bounded steps: the quasi-likelihood weights change with θ, and an unbounded Newton step
        # from a far start can overshoot into σ's flat tails and never come back.
        largest = float(np.max(np.abs(step)))
        if largest > 1.0:
            step = step / largest
        theta = theta + step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    p = np.clip(sigmoid(x @ theta), 1e-12, 1 - 1e-12)
    base = float(k.sum() / n.sum())
    base_clipped = min(max(base, 1e-12), 1 - 1e-12)
    log_loss = float(-(k * np.log(p) + (n - k) * np.log(1 - p)).sum() / n.sum())
    base_log_loss = float(-(k * math.log(base_clipped) + (n - k) * math.log(1 - base_clipped)).sum() / n.sum())
    coefficients = {"intercept": float(theta[0])} | {name: float(v) for name, v in zip(names, theta[1:], strict=True)}
    return FitResult(
        model=LogisticModel(target=target, coefficients=coefficients, version=version, feature_names=names),
        n_samples=len(usable),
        metrics={
            "log_loss": log_loss,
            "base_rate_log_loss": base_log_loss,
            "base_rate": base,
            "impressions": float(n.sum()),
            "successes": float(k.sum()),
            "prior_strength": prior_strength,
        },
    )


def binomial_auc(scores: Sequence[float], impressions: Sequence[float], successes: Sequence[float]) -> float | None:
    """ROC AUC over the impressions of aggregated rows: each row is kᵢ positives and nᵢ − kᵢ
    negatives sharing the score pᵢ (ties count one half). None without positives or negatives."""
    s = np.asarray(scores, dtype=float)
    pos = np.asarray(successes, dtype=float)
    neg = np.asarray(impressions, dtype=float) - pos
    total_pos, total_neg = float(pos.sum()), float(neg.sum())
    if total_pos <= 0 or total_neg <= 0:
        return None
    order = np.argsort(s, kind="mergesort")
    s, pos, neg = s[order], pos[order], neg[order]
    wins = 0.0
    below = 0.0  # negatives with a strictly lower score
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        group_pos, group_neg = pos[i : j + 1].sum(), neg[i : j + 1].sum()
        wins += group_pos * (below + 0.5 * group_neg)
        below += group_neg
        i = j + 1
    return float(wins / (total_pos * total_neg))


def evaluate(model: LogisticModel, rows: Sequence[OutcomeRow]) -> dict[str, float | None]:
    """Log-loss per impression and AUC of `model` on `rows` (e.g. a recent holdout)."""
    usable = [r for r in rows if r.impressions > 0]
    if not usable:
        return {"auc": None, "log_loss": None, "impressions": 0.0, "rows": 0.0}
    p = np.clip(np.array(model.predict_many([r.features for r in usable])), 1e-12, 1 - 1e-12)
    n = np.array([float(r.impressions) for r in usable])
    k = np.array([float(min(r.successes(model.target), r.impressions)) for r in usable])
    return {
        "auc": binomial_auc(p, n, k),
        "log_loss": float(-(k * np.log(p) + (n - k) * np.log(1 - p)).sum() / n.sum()),
        "impressions": float(n.sum()),
        "rows": float(len(usable)),
    }
