"""On-topic guard: the copy is about this product.

Two checks, both pure:

- product types: a vocabulary of kinds of product per category (`product_types.PRODUCT_TYPES`). A
  mention of a kind the product's own data never names ("burger" for lentil crisps, "laptops"
  for a speaker) is a finding, unless the copy treats it as the shopper's own thing ("with your
  morning coffee", "to your laptop"; apparel may also pair: "with jeans", "under a jacket");
- relevance: the share of the copy's content words found in the product's text. Copy of four
  or more content words that shares none is a finding. The caller may pass an embedding
  similarity (cosine of copy and product description, e.g. all-MiniLM-L6-v2 as the reranker
  computes it); below `min_similarity` it is a finding too. The guard itself loads no model.
"""

from __future__ import annotations

import re

from catalog.guards import product_types
from catalog.guards.facts import FactIndex, content_stems, type_pattern
from catalog.guards.types import TOPIC, Finding


def lexical_relevance(text: str, index: FactIndex) -> float:
    """Share of the copy's content words (stemmed) that occur in the product's text, in [0, 1]."""
    words = content_stems(text)
    if not words:
        return 0.0
    return sum(w in index.content_stems for w in words) / len(words)


def topic_check(
    text: str,
    index: FactIndex,
    *,
    similarity: float | None = None,
    min_similarity: float = 0.15,
    min_content_words: int = 4,
) -> tuple[Finding, ...]:
    findings: list[Finding] = []
    pattern, form_group = type_pattern()
    own = index.type_groups
    cues = product_types.COMPANION_CUES.get(index.facts.category, ("your",))
    seen: set[int] = set()
    for m in pattern.finditer(text):
        group = form_group[m.group(1).lower()]
        if group in own or group in seen:
            continue
        before = re.findall(r"[a-z']+", text[max(0, m.start() - 40) : m.start()].lower())[-3:]
        if any(cue in before for cue in cues):
            continue
        seen.add(group)
        findings.append(
            Finding(
                TOPIC, "off_topic_product", f'off topic: mentions "{m.group(1)}", which this product is not', m.group(1)
            )
        )
    words = content_stems(text)
    if len(words) >= min_content_words and lexical_relevance(text, index) == 0.0:
        findings.append(Finding(TOPIC, "unrelated_text", "off topic: the copy shares no words with the product data"))
    if similarity is not None and similarity < min_similarity:
        findings.append(
            Finding(
                TOPIC,
                "low_similarity",
                f"off topic: similarity to the product {similarity:.2f} is below {min_similarity:.2f}",
            )
        )
    return tuple(findings)
