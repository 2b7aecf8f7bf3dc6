"""λ-weighted reranking, in the paper's order (pure: embeddings come in as arrays).

1. dedupe (after dropping empty or malformed samples): a candidate whose cosine similarity to
   an earlier kept candidate (or to the control copy) is above the threshold is dropped;
2. filters: brand guideline (forbidden words, length, CTA when required), relevance to the
   product below the threshold, and the copy guards of `catalog.guards` (every claim grounded in
   the product's data, on topic, fit to publish) when the product's facts are given;
3. predict conversion P_conv for each candidate;
4. rank the survivors by R = λ·D + (1 − λ)·P_conv, where D is the candidate's novelty;
5. keep the top K.

Scale: novelty spreads over ~0.3–0.8 while P_conv spreads over a few percentage points, so the
raw sum would rank by novelty at every λ and the λ sweep would do nothing. By default both
terms are min–max normalised over the surviving pool before they are weighted
(`reward_scale="minmax"`); `reward_scale="raw"` uses the paper's formula on raw values.
Either way the raw novelty and P_conv are stored with each candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from catalog.guards import FactIndex, guards_check
from catalog.rules import Guideline, check_copy
from generator import scorers
from generator.postprocess import prompt_echo
from generator.predictor import LogisticModel

REWARD_SCALES = ("minmax", "raw")


@dataclass(frozen=True)
class RawCandidate:
    text: str
    embedding: np.ndarray
    prompt_type: str = ""
    sentiment_target: str = ""
    n_tokens: int = 0
    cta_appended: bool = False
    cuts: tuple[str, ...] = ()  # sentences catalog.guards.trim cut from the sample, each with its reason


@dataclass(frozen=True, kw_only=True)
class ScoredCandidate(scorers.CandidateScores):
    """One candidate of a λ pool: what was generated, all its scores, and where it ranked."""

    position: int  # order of generation within the λ pool
    text: str
    prompt_type: str
    sentiment_target: str
    n_tokens: int
    rank: int | None = None  # 1 = best; None when dropped before ranking
    dropped_reason: str = ""
    cuts: tuple[str, ...] = ()

    @property
    def kept(self) -> bool:
        return not self.dropped_reason

    def features(self) -> dict[str, float]:
        """The predictor's inputs (readability rescaled to [0, 1])."""
        return scorers.predictor_features(self)


@dataclass(frozen=True)
class RerankConfig:
    lam: float
    top_k: int = 3
    dedupe_threshold: float = 0.92
    relevance_threshold: float = 0.15
    reward_scale: str = "minmax"
    closed_vocabulary: bool = False  # catalog.guards.closed_vocabulary: only the data's words and plain shop language

    def __post_init__(self) -> None:
        if not 0.0 <= self.lam <= 1.0:
            raise ValueError(f"λ must lie in [0, 1], got {self.lam}")
        if self.top_k < 1:
            raise ValueError("top_k must be at least 1")
        if self.reward_scale not in REWARD_SCALES:
            raise ValueError(f"reward_scale must be one of {REWARD_SCALES}")


@dataclass(frozen=True)
class RerankResult:
    candidates: list[ScoredCandidate]  # every candidate, in generation order
    pool_diversity: float  # D of all survivors of the filters
    top_diversity: float  # D of the kept top-K set
    dropped: dict[str, int] = field(default_factory=dict)
    weak: frozenset[int] = frozenset()  # positions that passed with advisory findings only (e.g. vacuous)

    @property
    def best_is_clean(self) -> bool:
        """A best exists and passed every guard without even an advisory finding."""
        best = self.best
        return best is not None and best.position not in self.weak

    @property
    def ranked(self) -> list[ScoredCandidate]:
        return sorted((c for c in self.candidates if c.rank is not None), key=lambda c: c.rank or 0)

    @property
    def top(self) -> list[ScoredCandidate]:
        return [c for c in self.ranked if c.kept]

    @property
    def best(self) -> ScoredCandidate | None:
        top = self.top
        return top[0] if top else None


def _minmax(values: Sequence[float]) -> list[float]:
    if not values:
        return []
    low, high = min(values), max(values)
    if high - low < 1e-12:
        return [0.5] * len(values)
    return [(v - low) / (high - low) for v in values]


def rerank_candidates(
    candidates: Sequence[RawCandidate],
    *,
    config: RerankConfig,
    product_embedding: np.ndarray,
    control_embedding: np.ndarray | None,
    keywords: Sequence[str],
    guideline: Guideline | None,
    predictor: LogisticModel,
    click_predictor: LogisticModel | None = None,
    facts: FactIndex | None = None,
) -> RerankResult:
    """Rank one λ pool. With `facts`, a candidate with an unsupported claim, off topic or unfit to
    publish is dropped (reason `guards: …` naming each finding) before prediction."""
    n = len(candidates)
    if n == 0:
        return RerankResult(candidates=[], pool_diversity=0.0, top_diversity=0.0)
    vectors = np.vstack([np.asarray(c.embedding, dtype=np.float64) for c in candidates])
    sims = scorers.cosine_matrix(vectors)
    control_sims = None
    if control_embedding is not None:
        control_sims = scorers.cosine_matrix(np.vstack([vectors, control_embedding]))[-1, :n]
    reasons: list[str] = [""] * n

    # 1. Dedupe, greedily in generation order: reranking must not see near-identical copies twice.
    kept_after_dedupe: list[int] = []
    for i, candidate in enumerate(candidates):
        if not candidate.text.strip():
            reasons[i] = "empty after cleaning"
            continue
        if prompt_echo(candidate.text):
            reasons[i] = "malformed: echoes the prompt's field labels"
            continue
        if control_sims is not None and control_sims[i] > config.dedupe_threshold:
            reasons[i] = f"near-duplicate of the control copy (cosine {control_sims[i]:.2f})"
            continue
        twin = next((j for j in kept_after_dedupe if sims[i, j] > config.dedupe_threshold), None)
        if twin is not None:
            reasons[i] = f"near-duplicate of candidate #{twin + 1} (cosine {sims[i, twin]:.2f})"
            continue
        kept_after_dedupe.append(i)

    # Novelty and diversity are measured against the deduplicated pool (others, plus the control
    # copy for novelty): a dropped duplicate scores low because its twin is in that pool.
    novelty: list[float] = []
    diversity: list[float] = []
    for i in range(n):
        others = [j for j in kept_after_dedupe if j != i]
        to_others = [float(sims[i, j]) for j in others]
        diversity.append(1.0 - float(np.mean(to_others)) if to_others else 0.0)
        with_control = to_others + ([float(control_sims[i])] if control_sims is not None else [])
        novelty.append(1.0 - float(np.mean(with_control)) if with_control else 1.0)

    # 2. Filters, then 3. conversion predicted for every candidate (dropped ones are shown too).
    scored: list[ScoredCandidate] = []
    weak: set[int] = set()  # passed the guards with advisory findings only (e.g. vacuous): ranked last
    for i, candidate in enumerate(candidates):
        text_scores = scorers.text_scores(candidate.text, keywords)
        rel = scorers.relevance(vectors[i], np.asarray(product_embedding, dtype=np.float64))
        if not reasons[i]:
            compliance = check_copy(candidate.text, guideline)
            if not compliance.ok:
                reasons[i] = "brand: " + "; ".join(compliance.violations)
            elif rel < config.relevance_threshold:
                reasons[i] = f"relevance {rel:.2f} below the threshold {config.relevance_threshold:.2f}"
            elif facts is not None:
                report = guards_check(
                    candidate.text,
                    facts,
                    similarity=rel,
                    min_similarity=config.relevance_threshold,
                    closed_vocabulary=config.closed_vocabulary,
                )
                if not report.passed:
                    reasons[i] = "guards: " + "; ".join(report.messages)
                elif not report.clean:
                    weak.add(i)
        features = scorers.copy_features(text_scores, rel)
        scored.append(
            ScoredCandidate(
                **text_scores.as_dict(),
                position=i,
                text=candidate.text,
                prompt_type=candidate.prompt_type,
                sentiment_target=candidate.sentiment_target,
                n_tokens=candidate.n_tokens,
                novelty=novelty[i],
                diversity=diversity[i],
                relevance=rel,
                p_conv=predictor.predict(features),
                p_click=click_predictor.predict(features) if click_predictor else None,
                cta_appended=candidate.cta_appended,
                dropped_reason=reasons[i],
                cuts=candidate.cuts,
            )
        )

    # 4. Rank the survivors by R = λ·D + (1 − λ)·P_conv.
    survivors = [c for c in scored if not c.dropped_reason]
    if config.reward_scale == "minmax":
        d_terms = _minmax([c.novelty for c in survivors])
        p_terms = _minmax([c.p_conv for c in survivors])
    else:
        d_terms = [c.novelty for c in survivors]
        p_terms = [c.p_conv for c in survivors]
    rewarded = [
        replace(c, reward=config.lam * d + (1.0 - config.lam) * p)
        for c, d, p in zip(survivors, d_terms, p_terms, strict=True)
    ]
    # Clean candidates first: one that only passed with an advisory finding is the fallback of its pool.
    rewarded.sort(key=lambda c: (c.position in weak, -(c.reward or 0.0), -c.p_conv, c.position))
    # 5. Keep the top K; the rest keep their rank and say why they were not kept.
    final: dict[int, ScoredCandidate] = {c.position: c for c in scored}
    for rank, c in enumerate(rewarded, start=1):
        reason = "" if rank <= config.top_k else f"outside the top {config.top_k} (rank {rank} of {len(rewarded)})"
        final[c.position] = replace(c, rank=rank, dropped_reason=reason)
    ordered = [final[i] for i in range(n)]

    pool_idx = [c.position for c in rewarded]
    top_idx = [c.position for c in rewarded[: config.top_k]]
    dropped: dict[str, int] = {}
    for c in ordered:
        if c.dropped_reason:
            kind = c.dropped_reason.split(" ")[0].rstrip(":")
            dropped[kind] = dropped.get(kind, 0) + 1
    return RerankResult(
        candidates=ordered,
        pool_diversity=scorers.set_diversity(vectors[pool_idx]) if pool_idx else 0.0,
        top_diversity=scorers.set_diversity(vectors[top_idx]) if top_idx else 0.0,
        dropped=dropped,
        weak=frozenset(weak),
    )
