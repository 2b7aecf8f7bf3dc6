"""The generation pipeline for one product, without the database.

prompts → LLM samples (one batch per λ) → cleaning → embeddings → rerank (dedupe, filters and
copy guards, P_conv, R = λ·D + (1 − λ)·P_conv, top-K). When no candidate of a λ passes the
filters, another batch is sampled, up to `max_rounds` batches in all (the candidate budget is
`candidates × max_rounds`); a λ whose whole budget fails gets no copy, and the job says so.

Used by the Celery job (through `jobs`), by the offline evaluation (which may run from the demo
CSV with no database) and by the bench.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from catalog.guards import GROUNDING, PUBLISHABLE, ProductFacts, fact_index, guards_check
from catalog.rules import Guideline
from generator import prompts as prompt_lib
from generator.postprocess import clean_generation, ensure_cta
from generator.predictor import LogisticModel, prior_model
from generator.prompts import FewShotExample, ProductContext
from generator.rerank import RawCandidate, RerankConfig, RerankResult, rerank_candidates

# Sampling temperature grows with λ: the creativity weight also loosens the sampler, so that
# high-λ pools contain genuinely different copy for the reranker to reward. Small models turn
# to nonsense above ~0.9, which the relevance filter then removes.
TEMPERATURE_AT_ZERO = 0.45
TEMPERATURE_SPAN = 0.45


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
        )


@dataclass
class LambdaOutcome:
    lam: float
    temperature: float
    result: RerankResult
    rounds: int
    generated_tokens: int
    generate_seconds: float
    score_seconds: float


@dataclass
class PipelineResult:
    model_version: str
    prompt_version: str
    outcomes: list[LambdaOutcome] = field(default_factory=list)
    load_seconds: float = 0.0

    @property
    def timings(self) -> dict[str, float]:
        generate = sum(o.generate_seconds for o in self.outcomes)
        tokens = sum(o.generated_tokens for o in self.outcomes)
        return {
            "load_s": round(self.load_seconds, 3),
            "generate_s": round(generate, 3),
            "score_s": round(sum(o.score_seconds for o in self.outcomes), 3),
            "tokens": tokens,
            "tokens_per_s": round(tokens / generate, 1) if generate else 0.0,
        }


def generate_for_product(
    *,
    product: ProductContext,
    lambdas: Sequence[float],
    params: GenerationParams,
    guideline: Guideline | None = None,
    control_text: str = "",
    examples: Sequence[FewShotExample] = (),
    predictor: LogisticModel | None = None,
    click_predictor: LogisticModel | None = None,
    model_name: str | None = None,
    device: str | None = None,
    adapter: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> PipelineResult:
    """Candidates for each λ, scored and reranked. `progress` receives the done share in [0, 1]."""
    from generator import backend
    from generator.embeddings import embed

    predictor = predictor or prior_model("cvr")
    loaded = backend.load_model(model_name, device=device, adapter=adapter)
    prompt_version = prompt_lib.PROMPT_VERSION if params.facts_in_prompt else prompt_lib.PROMPT_VERSION_WITHOUT_FACTS
    result = PipelineResult(model_version=loaded.version, prompt_version=prompt_version)
    result.load_seconds = loaded.load_seconds
    keywords = prompt_lib.category_keywords(product.category, product.keywords)
    cta_required = bool(guideline and guideline.cta_required)
    max_words = prompt_lib.max_words_for(guideline.max_length if guideline else 0)
    examples = list(examples) or prompt_lib.builtin_examples(product.category)
    if params.facts_in_prompt:
        # An example whose copy goes beyond its own facts would teach exactly what the guards refuse.
        examples = [e for e in examples if example_is_grounded(e)] or prompt_lib.builtin_examples(product.category)
    reference = embed([product.reference_text] + ([control_text] if control_text.strip() else []))
    product_embedding = reference[0]
    control_embedding = reference[1] if len(reference) > 1 else None
    facts = fact_index(product_facts(product), other_brands=product.other_brands)
    for index, lam in enumerate(lambdas):
        temperature = temperature_for(lam)
        config = RerankConfig(
            lam=lam,
            top_k=params.top_k,
            dedupe_threshold=params.dedupe_threshold,
            relevance_threshold=params.relevance_threshold,
            reward_scale=params.reward_scale,
        )
        raw: list[RawCandidate] = []
        tokens, generate_seconds, score_seconds, rounds = 0, 0.0, 0.0, 0
        while rounds < max(1, params.max_rounds):
            started = time.perf_counter()
            batch, batch_tokens = _sample_round(
                loaded,
                product=product,
                lam=lam,
                params=params,
                cta_required=cta_required,
                examples=examples,
                max_words=max_words,
                temperature=temperature,
                # Distinct seeds per λ and round: otherwise pools would share their random draws.
                seed=params.seed * 1000 + index * 101 + rounds * 7919,
            )
            generated = time.perf_counter()
            raw.extend(batch)
            tokens += batch_tokens
            rounds += 1
            reranked = rerank_candidates(
                raw,
                config=config,
                product_embedding=product_embedding,
                control_embedding=control_embedding,
                keywords=keywords,
                guideline=guideline,
                predictor=predictor,
                click_predictor=click_predictor,
                facts=facts,
            )
            generate_seconds += generated - started
            score_seconds += time.perf_counter() - generated
            if reranked.best is not None:
                break
        result.outcomes.append(
            LambdaOutcome(
                lam=lam,
                temperature=temperature,
                result=reranked,
                rounds=rounds,
                generated_tokens=tokens,
                generate_seconds=generate_seconds,
                score_seconds=score_seconds,
            )
        )
        if progress:
            progress((index + 1) / len(lambdas))
    return result


def product_facts(product: ProductContext) -> ProductFacts:
    """The facts a claim may come from: the product's title, brand, description and attributes."""
    return ProductFacts(
        sku="",
        title=product.title,
        brand=product.brand,
        category=product.category,
        description=product.description,
        attributes=dict(product.attributes),
        price=None if product.price in (None, "") else float(product.price),
    )


def example_is_grounded(example: FewShotExample) -> bool:
    """Whether a few-shot example's copy stays within its own facts and is fit to publish."""
    facts = ProductFacts(
        sku="",
        title=example.title,
        brand=example.brand,
        category=example.category,
        description=example.description,
        attributes=dict(example.attributes),
    )
    return guards_check(example.text, facts, guards=(GROUNDING, PUBLISHABLE)).passed


def _sample_round(
    loaded,
    *,
    product: ProductContext,
    lam: float,
    params: GenerationParams,
    cta_required: bool,
    examples: Sequence[FewShotExample],
    max_words: int,
    temperature: float,
    seed: int,
) -> tuple[list[RawCandidate], int]:
    """One batch of `params.candidates` samples for a λ, cleaned and embedded."""
    from generator import backend
    from generator.embeddings import embed

    specs = prompt_lib.build_prompts(
        product=product,
        lam=lam,
        count=params.candidates,
        persona=params.persona,
        cta_required=cta_required,
        examples=examples,
        max_words=max_words,
        directives=params.directives,
        facts_in_prompt=params.facts_in_prompt,
    )
    generations = backend.generate(
        loaded,
        [spec.messages for spec in specs],
        max_new_tokens=params.max_new_tokens,
        temperature=temperature,
        top_p=params.top_p,
        seed=seed,
        batch_size=params.batch_size,
    )
    texts: list[str] = []
    appended: list[bool] = []
    for i, (spec, g) in enumerate(zip(specs, generations, strict=True)):
        text = clean_generation(g.text)
        added = False
        if spec.asks_for_cta and params.append_cta:
            text, added = ensure_cta(text, index=seed + i)
        texts.append(text)
        appended.append(added)
    vectors = embed(texts)
    candidates = [
        RawCandidate(
            text=text,
            embedding=vectors[i],
            prompt_type=spec.prompt_type,
            sentiment_target=spec.sentiment_target,
            n_tokens=g.n_tokens,
            cta_appended=appended[i],
        )
        for i, (text, spec, g) in enumerate(zip(texts, specs, generations, strict=True))
    ]
    return candidates, sum(g.n_tokens for g in generations)
