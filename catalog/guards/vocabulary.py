"""Word lists the guards derive once: ordinary English (not names), generic shop language, product-type
words, and the content-word stems that copy and data are compared by."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from catalog.guards import english, lexicon, product_types
from catalog.guards.text import fold


@lru_cache(maxsize=1)
def _vader_valences() -> dict[str, float]:
    """VADER's lexicon: each alphabetic word, lower case, with its mean valence; empty without the package."""
    try:
        import vaderSentiment

        lex = Path(vaderSentiment.__file__).with_name("vader_lexicon.txt")
        lines = lex.read_text(encoding="utf-8").splitlines()
    except (ImportError, OSError):
        return {}
    valences: dict[str, float] = {}
    for line in lines:
        token, _, rest = line.partition("\t")
        if not token.isalpha():
            continue
        try:
            valences[token.lower()] = float(rest.split("\t", 1)[0])
        except ValueError:
            valences[token.lower()] = 0.0
    return valences


@lru_cache(maxsize=1)
def vader_words() -> frozenset[str]:
    """VADER's lexicon (sentiment-bearing English words), lower case; empty without the package."""
    return frozenset(_vader_valences())


@lru_cache(maxsize=1)
def vader_positive_words() -> frozenset[str]:
    """VADER's words of positive mean valence ("lovely", "great"), lower case; empty without the package.
    Negative ones ("mindless", "pricking", "greed") have no place in copy that sells."""
    return frozenset(w for w, valence in _vader_valences().items() if valence > 0)


@lru_cache(maxsize=1)
def ordinary_words() -> frozenset[str]:
    """Words that are ordinary English, not names: the lexicons, VADER's lexicon, the seed corpus."""
    words: set[str] = set(english.STOPWORDS) | set(english.COMMON_WORDS) | set(lexicon.NUMBER_WORDS)
    for phrase in (
        *lexicon.MATERIALS, *lexicon.COLOURS, *lexicon.FEATURES, *lexicon.CERTIFICATIONS, *english.FIELD_NAMES,
        *(form for groups in product_types.PRODUCT_TYPES.values() for group in groups for form in group),
    ):  # fmt: skip
        words.update(re.split(r"[\s-]+", phrase.lower()))
    words |= vader_words()
    # The generator's seed corpus is shop copy: its lower-case words are ordinary words, not names.
    seed = Path(__file__).resolve().parents[2] / "generator" / "data" / "seed_corpus.jsonl"
    try:
        for line in seed.read_text(encoding="utf-8").splitlines():
            text = json.loads(line).get("text", "") if line.strip() else ""
            words.update(w for w in re.findall(r"(?<![.!?]\s)\b[a-z][a-z'-]+\b", text))
    except (OSError, ValueError):
        pass
    brands = {k.lower() for k in lexicon.KNOWN_BRANDS}
    return frozenset(w for w in words if w not in brands)


@lru_cache(maxsize=1)
def generic_stems() -> frozenset[str]:
    """Stems of words any product's copy may use without its data saying them: function words,
    everyday shop words, sentiment-bearing words (puffery: VADER's lexicon), number words (the
    grounding guard checks those) and calls to action."""
    words: set[str] = set(english.STOPWORDS) | set(english.COMMON_WORDS) | set(lexicon.NUMBER_WORDS)
    words |= set(english.CTA_WORDS) | vader_words()
    return frozenset(stem(w) for w in words if w.isalpha())


@lru_cache(maxsize=1)
def closed_words() -> frozenset[str]:
    """The closed vocabulary of generated copy (`catalog.guards.closed_vocabulary`), as written: words
    that claim nothing about a product. Narrower than `generic_stems`, which admits everyday words that
    do describe one ("quiet", "lightweight", "commute")."""
    words: set[str] = set(english.STOPWORDS) | set(lexicon.NUMBER_WORDS) | set(english.CTA_WORDS)
    words |= set(english.PLAIN_SHOP_WORDS)
    properties = {stem(w) for w in english.PROPERTY_SENTIMENT_WORDS}  # by stem: "protecting" goes with "protect"
    words |= {w for w in vader_positive_words() if stem(w) not in properties}
    claims = {stem(w) for w in english.CLAIM_WORDS}  # by stem too: "smarted" would bring "smart" back
    refused = english.CLAIM_WORDS | english.CHAT_SLANG
    return frozenset(
        w for w in words if w not in refused and stem(w) not in claims and not w.startswith(english.PROFANE_STARTS)
    )


@lru_cache(maxsize=1)
def closed_stems() -> frozenset[str]:
    """Stems of `closed_words`, which the guard compares copy by."""
    return frozenset(stem(w) for w in closed_words() if w.isalpha())


def is_ordinary(word: str) -> bool:
    word = word.lower().removesuffix("'s").removesuffix("’s")
    vocab = ordinary_words()
    if word in vocab:
        return True
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"),
                         ("ly", ""), ("er", ""), ("est", ""), ("y", ""), ("d", "")):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and word[: -len(suffix)] + repl in vocab:
            return True
    return all(part in vocab for part in word.split("-")) if "-" in word else False


# --- product types and content words, for the on-topic guard -------------------------------

_CONTENT = re.compile(r"[a-z][a-z'-]{2,}")


@lru_cache(maxsize=1)
def type_pattern() -> tuple[re.Pattern[str], dict[str, int]]:
    form_group: dict[str, int] = {}
    group_id = 0
    for groups in product_types.PRODUCT_TYPES.values():
        for group in groups:
            for form in group:
                form_group.setdefault(form, group_id)
            group_id += 1
    forms = sorted(form_group, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(f) for f in forms) + r")(?![\w-])", re.IGNORECASE)
    return pattern, form_group


@lru_cache(maxsize=1)
def type_stems() -> frozenset[str]:
    """Stems of every product-type word ("beanie", "scale"): naming the kind is no fact about it."""
    _, form_group = type_pattern()
    return frozenset(stem(w) for form in form_group for w in re.split(r"[\s-]+", form))


def own_type_groups(text: str) -> frozenset[int]:
    pattern, form_group = type_pattern()
    return frozenset(form_group[m.group(1).lower()] for m in pattern.finditer(text))


def stem(word: str) -> str:
    word = word.strip("'-").removesuffix("'s")
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> list[str]:
    return [stem(w) for w in _CONTENT.findall(fold(text)) if w not in english.STOPWORDS]
