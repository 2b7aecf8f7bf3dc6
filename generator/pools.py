"""One product's pool while the pipeline's rounds run: its prompts, facts, decoding constraint and
candidates so far, and the steps that turn the model's samples into reranker input.

Pure of the database; the pipeline (`generate_for_products`) owns the rounds and the model calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from catalog.guards import GROUNDING, PUBLISHABLE, FactIndex, ProductFacts, fact_index, guards_check
from catalog.guards.closed_vocabulary import allowed_compounds, allowed_words, data_words
from catalog.guards.trim import guards_trim
from catalog.guards.vocabulary import ordinary_words
from catalog.rules import Guideline
from generator import prompts as prompt_lib
from generator.constrained import DecodingConstraint
from generator.constrained_words import FIRST_PERSON, WordSet, word_set_for
from generator.openers import opener_for
from generator.params import GenerationParams
from generator.postprocess import clean_generation, ensure_cta
from generator.prompt_examples import builtin_examples
from generator.prompts import FewShotExample, ProductContext
from generator.rerank import RawCandidate

if TYPE_CHECKING:
    from generator.backend import Generation
    from generator.pipeline import ProductOutcome

MIN_OWN_WORDS = 3  # a sample needs this many words of the model's own beyond its opener


@dataclass(frozen=True)
class ProductInput:
    """One product of a catalog job: what its prompts and guards need, decoupled from the ORM."""

    key: str  # the caller's id for the product (the SKU): outcomes and callbacks carry it back
    product: ProductContext
    guideline: Guideline | None = None
    control_text: str = ""
    examples: tuple[FewShotExample, ...] = ()


def _facts(source: ProductContext | FewShotExample, price: float | None = None) -> ProductFacts:
    """The facts a claim may come from: the source's title, brand, description and attributes."""
    return ProductFacts(
        sku="",
        title=source.title,
        brand=source.brand,
        category=source.category,
        description=source.description,
        attributes=dict(source.attributes),
        price=price,
    )


def product_facts(product: ProductContext) -> ProductFacts:
    """The facts a claim may come from: the product's title, brand, description, attributes and price."""
    return _facts(product, price=None if product.price in (None, "") else float(product.price))


def example_is_grounded(example: FewShotExample) -> bool:
    """Whether a few-shot example's copy stays within its own facts (not its price) and is fit
    to publish, without even an advisory finding (an example should say something)."""
    return guards_check(example.text, _facts(example), guards=(GROUNDING, PUBLISHABLE)).clean


@dataclass
class Pool:
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


def pool_prepare(pool: Pool, *, lam: float, params: GenerationParams) -> None:
    product, guideline = pool.item.product, pool.item.guideline
    pool.facts = fact_index(product_facts(product), other_brands=product.other_brands)
    # A keyword the product cannot back ("fast charging" for a kitchen scale, "limited edition")
    # would ask the model for exactly the claim the grounding guard then refuses.
    pool.keywords = grounded_keywords(prompt_lib.category_keywords(product.category, product.keywords), pool.facts)
    words = closed_word_set(pool.facts) if params.closed_vocabulary else None
    pool.constraint = DecodingConstraint.for_product(fact_texts(product), words=words)
    pool.cta_required = bool(guideline and guideline.cta_required)
    pool.max_words = prompt_lib.max_words_for(guideline.max_length if guideline else 0)
    examples = list(pool.item.examples) or builtin_examples(product.category)
    if params.facts_in_prompt:
        # An example whose copy goes beyond its own facts would teach exactly what the guards refuse.
        examples = [e for e in examples if example_is_grounded(e)] or builtin_examples(product.category)
    pool.examples = examples
    pool.specs = pool_prompts(pool, lam=lam, params=params)


def closed_word_set(facts: FactIndex) -> WordSet:
    """What closed-vocabulary decoding lets a product's copy say: the guard's allowed words, less the
    first person."""
    return word_set_for(
        allowed_words(facts) - FIRST_PERSON, data_words(facts), ordinary_words(), allowed_compounds(facts)
    )


def pool_prompts(pool: Pool, *, lam: float, params: GenerationParams) -> list[prompt_lib.PromptSpec]:
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


def fact_texts(product: ProductContext) -> list[str]:
    """Where the product's numbers come from (not its price: the shop shows that itself)."""
    return [product.title, product.description] + [f"{k} {v}" for k, v in product.attributes.items()]


@dataclass(frozen=True)
class CleanedSamples:
    texts: list[str]
    appended: list[bool]  # a stock call to action was added
    cuts: list[tuple[str, ...]]  # sentences the guards' trim cut, with reasons


def samples_cleaned(
    specs: Sequence[prompt_lib.PromptSpec],
    generations: Sequence[Generation],
    *,
    params: GenerationParams,
    seed: int,
    facts: FactIndex | None = None,
) -> CleanedSamples:
    """Each sample cleaned; with `facts` and `params.trim_sentences`, the fewest sentences cut that
    make a failing sample pass the guards (`catalog.guards.trim`); then a stock CTA added where its
    prompt asked for one and it has none (after the cut: a cut sentence may have been the CTA)."""
    cleaned = CleanedSamples(texts=[], appended=[], cuts=[])
    for i, (spec, g) in enumerate(zip(specs, generations, strict=True)):
        # An opener the model did not go on from is not copy ("The Steel Water Bottle").
        own_words = len(clean_generation(g.text).split())
        text = clean_generation(spec.opener + g.text) if own_words >= MIN_OWN_WORDS else ""
        cuts: tuple[str, ...] = ()
        if text and facts is not None and params.trim_sentences:
            trimmed = guards_trim(text, facts, closed_vocabulary=params.closed_vocabulary)
            if trimmed is not None:
                text, cuts = trimmed.text, tuple(trimmed.describe())
        added = False
        if spec.asks_for_cta and params.append_cta:
            text, added = ensure_cta(text, index=seed + i)
        cleaned.texts.append(text)
        cleaned.appended.append(added)
        cleaned.cuts.append(cuts)
    return cleaned


def raw_candidates(
    specs: Sequence[prompt_lib.PromptSpec],
    generations: Sequence[Generation],
    cleaned: CleanedSamples,
    vectors: np.ndarray,
) -> list[RawCandidate]:
    return [
        RawCandidate(
            text=text,
            embedding=vectors[i],
            prompt_type=spec.prompt_type,
            sentiment_target=spec.sentiment_target,
            n_tokens=g.n_tokens,
            cta_appended=cleaned.appended[i],
            cuts=cleaned.cuts[i],
        )
        for i, (text, spec, g) in enumerate(zip(cleaned.texts, specs, generations, strict=True))
    ]


def reference_texts(item: ProductInput) -> list[str]:
    """What relevance and novelty are measured against: the product, and its control copy if any."""
    return [item.product.reference_text] + ([item.control_text] if item.control_text.strip() else [])
