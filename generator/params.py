"""What one generation run samples with: `GenerationParams` and the temperature schedule over λ.

Pure module (no Django at import, no torch); the pipeline, jobs, evaluations and the bench share it.
"""

from __future__ import annotations

from dataclasses import dataclass

# Sampling temperature grows with λ: the creativity weight also loosens the sampler, so that
# high-λ pools contain genuinely different copy for the reranker to reward. Small models turn
# to nonsense above ~0.9, which the relevance filter then removes.
TEMPERATURE_AT_ZERO = 0.3  # 0.45 until copy-v4: cooler sampling passed the copy guards more often (9 → 15 of 112)
TEMPERATURE_SPAN = 0.4


def temperature_for(lam: float) -> float:
    return round(TEMPERATURE_AT_ZERO + TEMPERATURE_SPAN * lam, 3)


@dataclass(frozen=True)
class GenerationParams:
    candidates: int = 8
    top_k: int = 3
    max_new_tokens: int = 48
    seed: int = 0
    top_p: float = 0.95
    batch_size: int = 16
    dedupe_threshold: float = 0.92
    relevance_threshold: float = 0.15
    reward_scale: str = "minmax"
    persona: str = ""
    append_cta: bool = True  # add a stock CTA when a prompt asked for one and the model wrote none
    directives: tuple[str, ...] = ()  # learned from outcomes: prompts.learned_directives
    max_rounds: int = 3  # batches of `candidates` sampled per λ at most, while none passes the filters
    facts_in_prompt: bool = True  # prompt v3: the product's facts as the only facts (False: v2, for comparison)
    share_prefix: bool = True  # backend.generate: prefill prompts' shared system + few-shot turns once per batch
    grounded_decoding: bool = True  # generator.constrained: only the product's own numbers can be sampled
    openers: bool = True  # generator.openers: answers start with the product's name for the model to continue
    trim_sentences: bool = True  # catalog.guards.trim: cut up to two sentences whose claims fail a guard
    # catalog.guards.closed_vocabulary: every content word from the product's data or plain shop language
    closed_vocabulary: bool = True

    def as_dict(self) -> dict[str, object]:
        return {
            "candidates": self.candidates,
            "top_k": self.top_k,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
            "top_p": self.top_p,
            "batch_size": self.batch_size,
            "dedupe_threshold": self.dedupe_threshold,
            "relevance_threshold": self.relevance_threshold,
            "reward_scale": self.reward_scale,
            "persona": self.persona,
            "append_cta": self.append_cta,
            "directives": list(self.directives),
            "max_rounds": self.max_rounds,
            "facts_in_prompt": self.facts_in_prompt,
            "share_prefix": self.share_prefix,
            "grounded_decoding": self.grounded_decoding,
            "openers": self.openers,
            "trim_sentences": self.trim_sentences,
            "closed_vocabulary": self.closed_vocabulary,
            "temperature": f"{TEMPERATURE_AT_ZERO} + {TEMPERATURE_SPAN}·λ",
        }

    @classmethod
    def from_settings(
        cls,
        *,
        candidates: int,
        top_k: int,
        seed: int,
        max_new_tokens: int | None = None,
        directives: tuple[str, ...] = (),
    ) -> GenerationParams:
        """A run's settings with the deployment's thresholds and, unless given, token budget
        (GENERATOR_* settings): what jobs, evaluations and the evaluation gate generate with."""
        from django.conf import settings

        return cls(
            directives=directives,
            candidates=candidates,
            top_k=top_k,
            max_new_tokens=max_new_tokens or settings.GENERATOR_MAX_NEW_TOKENS,
            seed=seed,
            dedupe_threshold=settings.GENERATOR_DEDUPE_THRESHOLD,
            relevance_threshold=settings.GENERATOR_RELEVANCE_THRESHOLD,
            max_rounds=settings.GENERATOR_MAX_ROUNDS,
            closed_vocabulary=settings.GENERATOR_CLOSED_VOCABULARY,
        )
