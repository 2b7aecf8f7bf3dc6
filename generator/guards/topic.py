"""On-topic guard: the copy is about this product.

Two checks, both pure:

- product types: a vocabulary of kinds of product per category (`lexicon.PRODUCT_TYPES`). A
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
from functools import lru_cache

from generator.guards import lexicon
from generator.guards.facts import FactIndex, fold
from generator.guards.types import TOPIC, Finding

_CONTENT = re.compile(r"[a-z][a-z'-]{2,}")


@lru_cache(maxsize=1)
def _type_pattern() -> tuple[re.Pattern[str], dict[str, int]]:
    form_group: dict[str, int] = {}
    group_id = 0
    for groups in lexicon.PRODUCT_TYPES.values():
        for group in groups:
            for form in group:
                form_group.setdefault(form, group_id)
            group_id += 1
    forms = sorted(form_group, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(f) for f in forms) + r")(?![\w-])", re.IGNORECASE)
    return pattern, form_group


def own_type_groups(index: FactIndex) -> frozenset[int]:
    pattern, form_group = _type_pattern()
    data = index.facts.text()
    return frozenset(form_group[m.group(1).lower()] for m in pattern.finditer(data))


def _stem(word: str) -> str:
    word = word.strip("'-").removesuffix("'s")
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _content_stems(text: str) -> list[str]:
    return [_stem(w) for w in _CONTENT.findall(fold(text)) if w not in lexicon.STOPWORDS]


def lexical_relevance(text: str, index: FactIndex) -> float:
    """Share of the copy's content words (stemmed) that occur in the product's text, in [0, 1]."""
    words = _content_stems(text)
    if not words:
        return 0.0
    product = set(_content_stems(index.facts.text() + " " + index.facts.category))
    return sum(w in product for w in words) / len(words)


def topic_check(
    text: str,
    index: FactIndex,
    *,
    similarity: float | None = None,
    min_similarity: float = 0.15,
    min_content_words: int = 4,
) -> tuple[Finding, ...]:
    findings: list[Finding] = []
    pattern, form_group = _type_pattern()
    own = own_type_groups(index)
    cues = lexicon.COMPANION_CUES.get(index.facts.category, ("your",))
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
    words = _content_stems(text)
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
