"""The generation pipeline, without the database: one product (`generate_for_product`) or many
at one λ (`generate_for_products`, a catalog arm); the first is the second for a set of one.

prompts → LLM samples (one batch per round) → cleaning → embeddings → rerank (dedupe, filters
and copy guards, P_conv, R = λ·D + (1 − λ)·P_conv, top-K), per product. When no candidate of a
product passes the filters, or the best passed with only an advisory finding (vacuous copy),
another batch is sampled for it, up to `max_rounds` batches in all
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
from dataclasses import dataclass, field
from typing import Any

from catalog.rules import Guideline
from generator import prompts as prompt_lib
from generator.params import GenerationParams, temperature_for
from generator.pools import (
    CleanedSamples,
    Pool,
    ProductInput,
    example_is_grounded,
    pool_prepare,
    product_facts,
    raw_candidates,
    reference_texts,
    samples_cleaned,
)
from generator.predictor import LogisticModel, prior_model
from generator.prompts import FewShotExample, ProductContext
from generator.rerank import RerankConfig, RerankResult, ScoredCandidate, rerank_candidates

# Callers import these from the pipeline, where they were first defined.
__all__ = [
    "BatchResult",
    "GenerationParams",
    "LambdaOutcome",
    "PipelineResult",
    "ProductInput",
    "ProductOutcome",
    "example_is_grounded",
    "generate_for_product",
    "generate_for_products",
    "product_facts",
    "round_seed",
    "run_measures",
]


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


# What a pool's run at one λ measured, under the same names in LambdaOutcome and ProductOutcome.
_RUN_MEASURES = ("temperature", "result", "rounds", "generated_tokens", "generate_seconds", "score_seconds")


def run_measures(outcome: LambdaOutcome | ProductOutcome) -> dict[str, Any]:
    """The run's measures of `outcome`, to build the other kind of outcome from."""
    return {name: getattr(outcome, name) for name in _RUN_MEASURES}


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
    rerank selects a clean best (no guard finding, advisory ones included) is final and leaves
    the next round; so is every product after
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
        closed_vocabulary=params.closed_vocabulary,
    )
    pools = [Pool(item=item, outcome=ProductOutcome(key=item.key, lam=lam, temperature=temperature)) for item in items]
    batch.outcomes = [pool.outcome for pool in pools]

    def finish(pool: Pool) -> None:
        if on_product_done:
            on_product_done(pool.item.key, pool.outcome)

    def guarded(pool: Pool, step: Callable[[], None]) -> bool:
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

    active = [pool for pool in pools if guarded(pool, lambda pool=pool: pool_prepare(pool, lam=lam, params=params))]
    # Every product's reference text and control copy, embedded in one call.
    references = [reference_texts(pool.item) for pool in active]
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
        slices: list[tuple[Pool, int, int, CleanedSamples]] = []
        texts: list[str] = []
        for pool in active:
            start = len(texts)
            cleaned = samples_cleaned(
                pool.specs, generations[start : start + len(pool.specs)], params=params, seed=seed, facts=pool.facts
            )
            texts += cleaned.texts
            slices.append((pool, start, len(texts), cleaned))
        vectors = embed(texts)
        per_row = (time.perf_counter() - started) / len(specs)
        still_open: list[Pool] = []
        for pool, start, end, cleaned in slices:
            outcome = pool.outcome
            rows = slice(start, end)
            sampled = generations[rows]
            pool.raw.extend(raw_candidates(pool.specs, sampled, cleaned, vectors[rows]))
            outcome.rounds += 1
            outcome.generated_tokens += sum(g.n_tokens for g in sampled)
            outcome.generate_seconds += per_row * (end - start)
            scored_at = time.perf_counter()

            def score(pool: Pool = pool) -> None:
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
            # A pool whose best only passed with an advisory finding (vacuous copy) samples again while
            # rounds remain: a clean candidate of a later round outranks it.
            if (outcome.result is not None and outcome.result.best_is_clean) or round_index == rounds - 1:
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
        result.outcomes.append(LambdaOutcome(lam=lam, **run_measures(outcome)))
        if progress:
            progress((index + 1) / len(lambdas))
    if result is None:  # no λ asked for: still say which model and prompts would have been used
        loaded = _load(model_name, device, adapter)
        result = PipelineResult(
            model_version=loaded.version, prompt_version=_prompt_version(params), load_seconds=loaded.load_seconds
        )
    return result


def round_seed(seed: int, lam: float, round_index: int) -> int:
    """The sampling seed of one round at one λ: distinct per λ and round, otherwise pools would
    share their random draws; derived from λ's value, not its position, so an arm samples the same
    way whichever other arms run with it."""
    return seed * 1000 + round(lam * 1000) * 101 + round_index * 7919


def _prompt_version(params: GenerationParams) -> str:
    if not params.facts_in_prompt:
        return prompt_lib.PROMPT_VERSION_WITHOUT_FACTS
    return (
        prompt_lib.PROMPT_VERSION
        if params.openers or params.grounded_decoding
        else prompt_lib.PROMPT_VERSION_FACTS_ONLY
    )


def _load(model_name: str | None, device: str | None, adapter: str | None):
    from generator import backend

    return backend.load_model(model_name, device=device, adapter=adapter)
