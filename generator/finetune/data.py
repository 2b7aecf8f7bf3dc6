"""Training data for fine-tuning: examples and RL prompts, their tags and weights, batches.

Pure: plain values in and out (`dataset` gathers them from the database). Examples are
prompted exactly as the generator prompts, so the adapter learns the prompts it will see.

Only copy a shop could publish is trained on (`fit_to_train`): copy with its product's facts
must pass every copy guard against them; the seed corpus's rows have no product facts (only a
short product name), so a row is kept only when it makes no checkable claim at all (it passes
the grounding guard with empty facts) and is publishable. Otherwise SFT would teach the very
figures, materials and offers that the reranker's guards then drop.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.guards import GROUNDING, PUBLISHABLE, ProductFacts, fact_index, guards_check
from catalog.rules import Guideline, cta_matches
from generator.corpus import SEED_CORPUS, seed_corpus_rows
from generator.prompts import SENTIMENT_TARGETS, ProductContext

# Seed-corpus sentiment tags → the generator's sentiment-modulation phrase and polarity direction.
SENTIMENT_TAGS: dict[str, tuple[str, float]] = {
    "enthusiastic": ("enthusiastic", 1.0),
    "positive": ("warm and upbeat", 1.0),
    "neutral": ("calm and reassuring", 0.0),
    "negative": ("calm and reassuring", -1.0),
}
assert all(phrase in SENTIMENT_TARGETS for phrase, _ in SENTIMENT_TAGS.values())

_SENTENCE = re.compile(r"[^.!?]*[.!?]+|[^.!?]+$")


@dataclass(frozen=True)
class TrainingExample:
    messages: tuple[dict[str, str], ...]
    target: str
    weight: float = 1.0
    sentiment: str = "neutral"
    cta: bool = False
    source: str = "seed"


@dataclass(frozen=True)
class RLPrompt:
    messages: tuple[dict[str, str], ...]
    product: ProductContext
    keywords: tuple[str, ...] = ()
    guideline: Guideline | None = None


def sentiment_phrase(tag: str) -> tuple[str, float]:
    return SENTIMENT_TAGS.get(tag.strip().lower(), SENTIMENT_TAGS["neutral"])


def sentiment_tag_for(polarity: float) -> str:
    """A tag for copy that has none (approved platform copy), from its VADER polarity."""
    if polarity >= 0.5:
        return "enthusiastic"
    if polarity >= 0.05:
        return "positive"
    if polarity <= -0.05:
        return "negative"
    return "neutral"


def cta_char_span(text: str, *, cta_tagged: bool) -> tuple[int, int] | None:
    """Characters of the call-to-action sentence: the one with the last CTA match, else the last one."""
    sentences = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    if not sentences:
        return None
    matches = cta_matches(text)
    if matches:
        last = text.lower().rfind(matches[-1].lower())
        for start, end in sentences:
            if start <= last < end:
                return start, end
    return sentences[-1] if cta_tagged else None


def outcome_weight(
    *, impressions: int, clicks: int, orders: int, mean_ctr: float, mean_cvr: float, prior_impressions: float = 500.0
) -> float:
    """a_i for approved copy: smoothed CTR and CVR relative to the category mean, clipped to [0.25, 4]."""
    if impressions <= 0 or mean_ctr <= 0 or mean_cvr <= 0:
        return 1.0
    ctr = (clicks + prior_impressions * mean_ctr) / (impressions + prior_impressions)
    cvr = (orders + prior_impressions * mean_cvr) / (impressions + prior_impressions)
    return float(min(4.0, max(0.25, 0.5 * ctr / mean_ctr + 0.5 * cvr / mean_cvr)))


def training_example(
    *,
    product: ProductContext,
    text: str,
    lam: float,
    sentiment: str,
    cta: bool,
    weight: float = 1.0,
    source: str = "seed",
    index: int = 0,
) -> TrainingExample:
    """One example, prompted exactly as the generator prompts (no few-shot turns, to keep it short).

    The sentiment tag becomes the prompt's sentiment instruction; CTA-tagged copy alternates
    between the generator's CTA prompt and its sentiment-plus-CTA prompt, so both are covered.
    """
    from generator.prompts import PROMPT_TYPE_CTA, PROMPT_TYPE_SENTIMENT, build_messages

    phrase, _direction = sentiment_phrase(sentiment)
    prompt_type = PROMPT_TYPE_CTA if cta and index % 2 == 0 else PROMPT_TYPE_SENTIMENT
    messages = build_messages(
        product=product,
        lam=lam,
        prompt_type=prompt_type,
        sentiment_target=phrase,
        cta_required=cta,
        keyword_offset=index,
    )
    return TrainingExample(
        messages=messages, target=text.strip(), weight=weight, sentiment=sentiment, cta=cta, source=source
    )


NO_FACTS = ProductFacts(sku="", title="")


def fit_to_train(text: str, facts: ProductFacts | None, *, other_brands: Sequence[str] = ()) -> bool:
    """Whether copy may be a training target: with its product's facts, it passes every copy guard
    against them; without (`None`), it passes grounding with empty facts (no checkable claim: no
    figure, standard, material, certification, feature or name) and is publishable."""
    if facts is None:
        return guards_check(text, fact_index(NO_FACTS), guards=(GROUNDING, PUBLISHABLE)).clean
    return guards_check(text, fact_index(facts, other_brands=tuple(other_brands))).clean


def corpus_examples(
    path: Path = SEED_CORPUS, *, category: str, lam: float, keywords: Sequence[str] = ()
) -> list[TrainingExample]:
    """The seed corpus's lines of one category that are fit to train on without product facts
    (`fit_to_train`), as training examples (weight 1)."""
    examples: list[TrainingExample] = []
    for row in seed_corpus_rows(category=category, path=path):
        if not fit_to_train(str(row["text"]), None):
            continue
        product = ProductContext(
            title=str(row.get("product") or "a product"),
            category=str(row.get("category")),
            keywords=tuple(keywords),
            tone=str(row.get("tone") or ""),
        )
        examples.append(
            training_example(
                product=product,
                text=str(row["text"]),
                lam=lam,
                sentiment=str(row.get("sentiment") or "neutral"),
                cta=str(row.get("cta_type") or "none").lower() != "none",
                index=len(examples),
            )
        )
    return examples


def batch_for_step(items: Sequence[Any], *, size: int, seed: int, step: int) -> list[Any]:
    """The step's batch: depends only on (seed, step), so a resumed run sees the same data."""
    rng = random.Random(seed * 1_000_003 + step)
    if len(items) <= size:
        return list(items)
    return rng.sample(list(items), k=size)
