"""On-topic guard: the copy is about this product.

Two checks, both pure:

- product types: a vocabulary of kinds of product per category (`product_types.PRODUCT_TYPES`). A
  mention of a kind the product's own data never names ("burger" for lentil crisps, "laptops"
  for a speaker) is a finding, unless the copy treats it as the shopper's own thing ("with your
  morning coffee", "to your laptop"; apparel may also pair: "with jeans", "under a jacket");
- the seller instead of the product ("a small business with a mission", "our customer service");
- words of eating and drinking ("delicious", "breakfast") on a product that is not food or drink,
  unless the product's data uses them ("mint flavour" toothpaste; "your breakfast" on
  washing-up liquid is off topic too);
- sentences about nothing: a sentence of five or more content words that shares none with the
  product's data ("Your staff must be happy too.") is filler a copy editor would cut; a call to
  action ("Order yours today.") is exempt;
- beyond the data: more than `BEYOND_DATA_MAX` distinct content words that are neither in the
  product's data nor generic (function words, everyday shop words, sentiment-bearing puffery,
  number words, calls to action). On the hand-labelled publishable copy the most is 5; the
  135M model's unpublishable picks have 6 to 17 ("neck collar … versatile handshake … bespoke
  fit" for a beanie). The finding names the first of them;
- relevance: the share of the copy's content words found in the product's text. Copy of four
  or more content words that shares none is a finding. The caller may pass an embedding
  similarity (cosine of copy and product description, e.g. all-MiniLM-L6-v2 as the reranker
  computes it); below `min_similarity` it is a finding too. The guard itself loads no model.
"""

from __future__ import annotations

import re
from functools import lru_cache

from catalog.guards import english, product_types
from catalog.guards.facts import FactIndex, find_standards
from catalog.guards.figures import find_figures
from catalog.guards.types import TOPIC, Finding
from catalog.guards.vocabulary import content_stems, generic_stems, type_pattern, type_stems

BEYOND_DATA_MAX = 5  # distinct content words beyond the data and generic shop language
FILLER_MIN_WORDS = 5  # shorter sentences ("Pour a bowl with your morning coffee.") are usage, not filler
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_CALL_TO_ACTION = re.compile(english.CALL_TO_ACTION, re.IGNORECASE)
_COMPANY = re.compile("|".join(english.COMPANY_TALK), re.IGNORECASE)
_TASTE = re.compile(r"(?<![\w-])(?:" + "|".join(english.TASTE_WORDS) + r")(?![\w-])", re.IGNORECASE)


@lru_cache(maxsize=1)
def _food_groups() -> frozenset[int]:
    _, form_group = type_pattern()
    return frozenset(form_group[group[0]] for group in product_types.FOOD_GROUPS)


def is_food(index: FactIndex) -> bool:
    """Whether the product is eaten or drunk: an FMCG product whose data names a food kind, or
    (naming no kind) uses a word of eating or drinking."""
    if index.facts.category.strip().lower() != "fmcg":
        return False
    if index.type_groups:
        return bool(index.type_groups & _food_groups())
    return _TASTE.search(index.text) is not None


def _owned_by_shopper(text: str, start: int, cues: tuple[str, ...]) -> bool:
    before = re.findall(r"[a-z']+", text[max(0, start - 40) : start].lower())[-3:]
    return any(cue in before for cue in cues)


def lexical_relevance(text: str, index: FactIndex) -> float:
    """Share of the copy's content words (stemmed) that occur in the product's text, in [0, 1]."""
    words = content_stems(text)
    if not words:
        return 0.0
    return sum(w in index.content_stems for w in words) / len(words)


def beyond_data_words(text: str, index: FactIndex) -> list[str]:
    """The copy's distinct content words (stemmed) that are in neither the data nor generic language."""
    generic = generic_stems()
    seen: list[str] = []
    for stem in content_stems(text):
        if stem not in index.content_stems and stem not in generic and stem not in seen:
            seen.append(stem)
    return seen


def _filler_sentences(text: str, index: FactIndex) -> list[Finding]:
    for sentence in _SENTENCE.findall(text):
        stems = content_stems(sentence)
        if len(stems) < FILLER_MIN_WORDS or _CALL_TO_ACTION.search(sentence):
            continue
        if not any(stem in index.content_stems for stem in stems):
            quoted = sentence.strip()
            return [Finding(TOPIC, "filler_sentence", f'off topic: "{quoted}" says nothing about the product', quoted)]
    return []


# A title's trailing size or pack ("… Ground Coffee 250 g", "… Bodysuit 3-Pack"): copy names the product without it.
_TITLE_SIZE = re.compile(
    r"(?:\s+\d[\d.,]*(?:\s*x\s*\d[\d.,]*)?\s*[a-z]{0,5}|[\s-]+\d+-?pack|\s+twin pack)$", re.IGNORECASE
)


def without_name(text: str, index: FactIndex) -> str:
    """The copy with the product's title (with or without its trailing size or pack) and brand taken out."""
    title = index.facts.title.strip()
    for name in (title, _TITLE_SIZE.sub("", title), index.facts.brand.strip()):
        if name:
            text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
    return text


def data_words_beyond_name(text: str, index: FactIndex) -> list[str]:
    """What the copy says of the product beyond naming it: its content words (stemmed) that are in
    the product's data but not in its title or brand, generic shop language or kind-of-product
    words, and its figures and standards (the publishability guard's "says nothing" rule)."""
    rest = without_name(text, index)
    generic, kinds = generic_stems(), type_stems()
    found = [s for s in content_stems(rest) if s in index.content_stems and s not in generic and s not in kinds]
    return found + [std.surface for std in find_standards(rest)] + [fig.surface for fig in find_figures(rest)]


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
        if _owned_by_shopper(text, m.start(), cues):
            continue
        seen.add(group)
        findings.append(
            Finding(
                TOPIC, "off_topic_product", f'off topic: mentions "{m.group(1)}", which this product is not', m.group(1)
            )
        )
    for m in _COMPANY.finditer(text):
        message = f'off topic: talks about a seller, not the product: "{m.group(0)}"'
        findings.append(Finding(TOPIC, "company_talk", message, m.group(0)))
        break
    if not is_food(index):
        for m in _TASTE.finditer(text):
            word = m.group(0)
            if re.search(rf"\b{re.escape(word.lower()[:4])}", index.text):
                continue  # the product's own data uses the word ("mint flavour")
            message = f'off topic: "{word}" describes food or drink, and this product is not'
            findings.append(Finding(TOPIC, "not_food", message, word))
            break
    words = content_stems(text)
    if len(words) >= min_content_words and lexical_relevance(text, index) == 0.0:
        findings.append(Finding(TOPIC, "unrelated_text", "off topic: the copy shares no words with the product data"))
    else:
        findings.extend(_filler_sentences(text, index))
        beyond = beyond_data_words(text, index)
        if len(beyond) > BEYOND_DATA_MAX:
            shown = ", ".join(f'"{w}"' for w in beyond[:4])
            message = f"off topic: {len(beyond)} terms the product data does not support ({shown} …)"
            findings.append(Finding(TOPIC, "beyond_data", message, beyond[0]))
    if similarity is not None and similarity < min_similarity:
        findings.append(
            Finding(
                TOPIC,
                "low_similarity",
                f"off topic: similarity to the product {similarity:.2f} is below {min_similarity:.2f}",
            )
        )
    return tuple(findings)
