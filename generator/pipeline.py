"""The generation pipeline, without the database: one product (`generate_for_product`) or many
at one λ (`generate_for_products`, a catalog arm); the first is the second for a set of one.

prompts → LLM samples (one batch per round) → cleaning → embeddings → rerank (dedupe, filters
and copy guards, P_conv, R = λ·D + (1 − λ)·P_conv, top-K), per product. When no candidate of a
product passes the filters, another batch is sampled for it, up to `max_rounds` batches in all
(the candidate budget is `candidates × max_rounds`); a product whose whole budget fails gets no
copy, and the job says so. Each round's batch holds the prompts of every product still open, so a
catalog arm samples in large batches whose system and few-shot turns are prefilled once
(`backend.generate(share_prefix=True)`).

Used by the Celery job (through `jobs`), by the offline evaluation (which may run from the demo
CSV with no database) and by the bench.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from catalog.guards import GROUNDING, PUBLISHABLE, FactIndex, ProductFacts, fact_index, guards_check
from catalog.rules import Guideline
from generator import prompts as prompt_lib
from generator.constrained import DecodingConstraint
from generator.openers import opener_for
from generator.postprocess import clean_generation, ensure_cta
from generator.predictor import LogisticModel, prior_model
from generator.prompts import FewShotExample, ProductContext
from generator.rerank import RawCandidate, RerankConfig, RerankResult, ScoredCandidate, rerank_candidates

if TYPE_CHECKING:
    from generator.backend import Generation

# Sampling temperature grows with λ: the creativity weight also loosens the sampler, so that
# high-λ pools contain genuinely different copy for the reranker to reward. Small models turn
# to nonsense above ~0.9, which the relevance filter then removes.
TEMPERATURE_AT_ZERO = 0.45
TEMPERATURE_SPAN = 0.45


MIN_OWN_WORDS = 3  # a sample needs this many words of the model's own beyond its opener


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


@dataclass(frozen=True)
class ProductInput:
    """One product of a catalog job: what its prompts and guards need, decoupled from the ORM."""

    key: str  # the caller's id for the product (the SKU): outcomes and callbacks carry it back
    product: ProductContext
    guideline: Guideline | None = None
    control_text: str = ""
    examples: tuple[FewShotExample, ...] = ()


@dataclass
class ProductOutcome:
    """One product's pool at one λ. `generate_seconds` is its share (by rows) of the batches it
    was sampled in; `error` is set, and `result` is None, when preparing or scoring it failed."""

    key: str
    lam: float
    temperature: float
    result: RerankResult | None = None
    rounds: int = 0
    generated_tokens: int = 0
    generate_seconds: float = 0.0
    score_seconds: float = 0.0
    error: str = ""

    @property
    def best(self) -> ScoredCandidate | None:
        return self.result.best if self.result else None


@dataclass
class BatchResult:
    model_version: str
    prompt_version: str
    outcomes: list[ProductOutcome] = field(default_factory=list)  # in the order of the items
    load_seconds: float = 0.0


def generate_for_products(
    *,
    items: Sequence[ProductInput],
    lam: float,
    params: GenerationParams,
    predictor: LogisticModel | None = None,
    click_predictor: LogisticModel | None = None,
    model_name: str | None = None,
    device: str | None = None,
    adapter: str | None = None,
    on_product_done: Callable[[str, ProductOutcome], None] | None = None,
    isolate_errors: bool = True,
) -> BatchResult:
    """Copy at one λ for many products, batched across products.

    Each round samples `params.candidates` prompts for every product still without a selected
    copy, in one `backend.generate` call (`params.batch_size` rows per forward pass) and one
    `embed` call, then reranks each product's pool (all its rounds so far). A product whose
    rerank selects a best is final and leaves the next round; so is every product after
    `params.max_rounds` rounds. `on_product_done(key, outcome)` is called as soon as a product is
    final, so the caller can store it before the rest finish. An error while preparing or
    scoring one product is recorded on its outcome and the others go on (`isolate_errors=False`:
    it is raised instead); an error of the model or the embedder fails the whole call.
    """
    from generator import backend
    from generator.embeddings import embed

    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise ValueError("product keys must be distinct: outcomes are reported by key")
    predictor = predictor or prior_model("cvr")
    loaded = _load(model_name, device, adapter)
    batch = BatchResult(
        model_version=loaded.version, prompt_version=_prompt_version(params), load_seconds=loaded.load_seconds
    )
    temperature = temperature_for(lam)
    config = RerankConfig(
        lam=lam,
        top_k=params.top_k,
        dedupe_threshold=params.dedupe_threshold,
        relevance_threshold=params.relevance_threshold,
        reward_scale=params.reward_scale,
    )
    pools = [_Pool(item=item, outcome=ProductOutcome(key=item.key, lam=lam, temperature=temperature)) for item in items]
    batch.outcomes = [pool.outcome for pool in pools]

    def finish(pool: _Pool) -> None:
        if on_product_done:
            on_product_done(pool.item.key, pool.outcome)

    def guarded(pool: _Pool, step: Callable[[], None]) -> bool:
        """Run one product's step; with isolate_errors a failure ends that product only."""
        try:
            step()
            return True
        except Exception as exc:
            if not isolate_errors:
                raise
            pool.outcome.error = f"{type(exc).__name__}: {exc}"
            pool.outcome.result = None
            finish(pool)
            return False

    active = [pool for pool in pools if guarded(pool, lambda pool=pool: _prepare_pool(pool, lam=lam, params=params))]
    # Every product's reference text and control copy, embedded in one call.
    references = [_reference_texts(pool.item) for pool in active]
    reference_vectors = embed([text for texts in references for text in texts])
    row = 0
    for pool, texts in zip(active, references, strict=True):
        pool.product_embedding = reference_vectors[row]
        pool.control_embedding = reference_vectors[row + 1] if len(texts) > 1 else None
        row += len(texts)

    rounds = max(1, params.max_rounds)
    for round_index in range(rounds):
        if not active:
            break
        seed = round_seed(params.seed, lam, round_index)
        specs = [spec for pool in active for spec in pool.specs]
        started = time.perf_counter()
        generations = backend.generate(
            loaded,
            [spec.messages for spec in specs],
            max_new_tokens=params.max_new_tokens,
            temperature=temperature,
            top_p=params.top_p,
            seed=seed,
            batch_size=params.batch_size,
            share_prefix=params.share_prefix,
            constraints=[pool.constraint for pool in active for _ in pool.specs] if params.grounded_decoding else None,
            openers=[spec.opener for spec in specs],
        )
        slices: list[tuple[_Pool, int, int]] = []
        texts: list[str] = []
        appended: list[bool] = []
        for pool in active:
            start = len(texts)
            pool_texts, pool_appended = _cleaned(
                pool.specs, generations[start : start + len(pool.specs)], params=params, seed=seed
            )
            texts += pool_texts
            appended += pool_appended
            slices.append((pool, start, len(texts)))
        vectors = embed(texts)
        per_row = (time.perf_counter() - started) / len(specs)
        still_open: list[_Pool] = []
        for pool, start, end in slices:
            outcome = pool.outcome
            rows = slice(start, end)
            sampled = generations[rows]
            pool.raw.extend(_raw_candidates(pool.specs, sampled, texts[rows], appended[rows], vectors[rows]))
            outcome.rounds += 1
            outcome.generated_tokens += sum(g.n_tokens for g in sampled)
            outcome.generate_seconds += per_row * (end - start)
            scored_at = time.perf_counter()

            def score(pool: _Pool = pool) -> None:
                pool.outcome.result = rerank_candidates(
                    pool.raw,
                    config=config,
                    product_embedding=pool.product_embedding,
                    control_embedding=pool.control_embedding,
                    keywords=pool.keywords,
                    guideline=pool.item.guideline,
                    predictor=predictor,
                    click_predictor=click_predictor,
                    facts=pool.facts,
                )

            ok = guarded(pool, score)
            outcome.score_seconds += time.perf_counter() - scored_at
            if not ok:
                continue
            if outcome.best is not None or round_index == rounds - 1:
                finish(pool)
            else:
                still_open.append(pool)
        active = still_open
    return batch


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
    """Candidates for each λ, scored and reranked: the catalog path for a set of one, λ by λ.
    Errors propagate (a one-product job fails as a whole). `progress` receives the done share."""
    item = ProductInput(
        key="", product=product, guideline=guideline, control_text=control_text, examples=tuple(examples)
    )
    result: PipelineResult | None = None
    for index, lam in enumerate(lambdas):
        batch = generate_for_products(
            items=[item],
            lam=lam,
            params=params,
            predictor=predictor,
            click_predictor=click_predictor,
            model_name=model_name,
            device=device,
            adapter=adapter,
            on_product_done=None,
            isolate_errors=False,
        )
        if result is None:
            result = PipelineResult(
                model_version=batch.model_version, prompt_version=batch.prompt_version, load_seconds=batch.load_seconds
            )
        outcome = batch.outcomes[0]
        assert outcome.result is not None  # isolate_errors=False: a failure raised instead
        result.outcomes.append(
            LambdaOutcome(
                lam=lam,
                temperature=outcome.temperature,
                result=outcome.result,
                rounds=outcome.rounds,
                generated_tokens=outcome.generated_tokens,
                generate_seconds=outcome.generate_seconds,
                score_seconds=outcome.score_seconds,
            )
        )
        if progress:
            progress((index + 1) / len(lambdas))
    if result is None:  # no λ asked for: still say which model and prompts would have been used
        loaded = _load(model_name, device, adapter)
        result = PipelineResult(
            model_version=loaded.version, prompt_version=_prompt_version(params), load_seconds=loaded.load_seconds
        )
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


def round_seed(seed: int, lam: float, round_index: int) -> int:
    """The sampling seed of one round at one λ: distinct per λ and round, otherwise pools would
    share their random draws; derived from λ's value, not its position, so an arm samples the same
    way whichever other arms run with it."""
    return seed * 1000 + round(lam * 1000) * 101 + round_index * 7919


def _prompt_version(params: GenerationParams) -> str:
    return prompt_lib.PROMPT_VERSION if params.facts_in_prompt else prompt_lib.PROMPT_VERSION_WITHOUT_FACTS


def _load(model_name: str | None, device: str | None, adapter: str | None):
    from generator import backend

    return backend.load_model(model_name, device=device, adapter=adapter)


@dataclass
class _Pool:
    """One product's state while its rounds run."""

    item: ProductInput
    outcome: ProductOutcome
    keywords: tuple[str, ...] = ()
    cta_required: bool = False
    max_words: int = 40
    examples: list[FewShotExample] = field(default_factory=list)
    facts: FactIndex | None = None
    product_embedding: np.ndarray | None = None
    control_embedding: np.ndarray | None = None
    raw: list[RawCandidate] = field(default_factory=list)
    specs: list[prompt_lib.PromptSpec] = field(default_factory=list)  # the same prompts every round
    constraint: DecodingConstraint = field(default_factory=DecodingConstraint)


def _prepare_pool(pool: _Pool, *, lam: float, params: GenerationParams) -> None:
    product, guideline = pool.item.product, pool.item.guideline
    pool.facts = fact_index(product_facts(product), other_brands=product.other_brands)
    # A keyword the product cannot back ("fast charging" for a kitchen scale, "limited edition")
    # would ask the model for exactly the claim the grounding guard then refuses.
    pool.keywords = grounded_keywords(prompt_lib.category_keywords(product.category, product.keywords), pool.facts)
    pool.constraint = DecodingConstraint.for_product(_fact_texts(product))
    pool.cta_required = bool(guideline and guideline.cta_required)
    pool.max_words = prompt_lib.max_words_for(guideline.max_length if guideline else 0)
    examples = list(pool.item.examples) or prompt_lib.builtin_examples(product.category)
    if params.facts_in_prompt:
        # An example whose copy goes beyond its own facts would teach exactly what the guards refuse.
        examples = [e for e in examples if example_is_grounded(e)] or prompt_lib.builtin_examples(product.category)
    pool.examples = examples
    pool.specs = _round_prompts(pool, lam=lam, params=params)


def _round_prompts(pool: _Pool, *, lam: float, params: GenerationParams) -> list[prompt_lib.PromptSpec]:
    specs = prompt_lib.build_prompts(
        product=pool.item.product,
        lam=lam,
        count=params.candidates,
        persona=params.persona,
        cta_required=pool.cta_required,
        examples=pool.examples,
        max_words=pool.max_words,
        directives=params.directives,
        facts_in_prompt=params.facts_in_prompt,
        keywords=pool.keywords,
    )
    if not params.openers:
        return specs
    product = pool.item.product
    return [
        replace(spec, opener=opener_for(title=product.title, brand=product.brand, index=i, lam=lam))
        for i, spec in enumerate(specs)
    ]


def grounded_keywords(keywords: Sequence[str], facts: FactIndex) -> tuple[str, ...]:
    """The keywords whose every claim the product's data supports."""
    return tuple(k for k in keywords if guards_check(k, facts, guards=(GROUNDING,)).passed)


def _fact_texts(product: ProductContext) -> list[str]:
    """Where the product's numbers come from (not its price: the shop shows that itself)."""
    return [product.title, product.description] + [f"{k} {v}" for k, v in product.attributes.items()]


def _cleaned(
    specs: Sequence[prompt_lib.PromptSpec], generations: Sequence[Generation], *, params: GenerationParams, seed: int
) -> tuple[list[str], list[bool]]:
    """Each sample cleaned, with a stock CTA added where its prompt asked for one and it has none."""
    texts: list[str] = []
    appended: list[bool] = []
    for i, (spec, g) in enumerate(zip(specs, generations, strict=True)):
        # An opener the model did not go on from is not copy ("The Steel Water Bottle").
        own_words = len(clean_generation(g.text).split())
        text = clean_generation(spec.opener + g.text) if own_words >= MIN_OWN_WORDS else ""
        added = False
        if spec.asks_for_cta and params.append_cta:
            text, added = ensure_cta(text, index=seed + i)
        texts.append(text)
        appended.append(added)
    return texts, appended


def _raw_candidates(
    specs: Sequence[prompt_lib.PromptSpec],
    generations: Sequence[Generation],
    texts: Sequence[str],
    appended: Sequence[bool],
    vectors: np.ndarray,
) -> list[RawCandidate]:
    return [
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


def _reference_texts(item: ProductInput) -> list[str]:
    """What relevance and novelty are measured against: the product, and its control copy if any."""
    return [item.product.reference_text] + ([item.control_text] if item.control_text.strip() else [])
