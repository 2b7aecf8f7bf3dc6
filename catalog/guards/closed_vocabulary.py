"""Closed vocabulary: every content word of machine-written copy comes from the product's data or from
plain shop language.

The other grounding rules know the kinds of claim in advance (figures, materials, standards, abilities,
makers, uses…), and each reading of a small model's copy on new products found a kind they did not
know ("crafted by the finest leather artisans", "a powerhouse gaming device", "breakfast replacement").
This check needs no list of claim kinds: a word that is neither in the product's title, description,
attributes or brand (compared by stem; a hyphenated word by its parts) nor in the closed list of words
that claim nothing (`vocabulary.closed_stems`: function words, calls to action, number words, sentiment words that
describe no property, and `english.PLAIN_SHOP_WORDS`) is a finding that quotes it.

It is strict on purpose, and it is meant for generated copy only (`guards_check(…,
closed_vocabulary=True)`, what the generator's trim and reranker use): a copywriter's "Drop it in the
pool" for an IPX7 speaker is true, and the hand-written copy in the review screens keeps the
reviewer-facing guards. Figures and standard names are not words here; the grounding guard checks them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from catalog.guards import english
from catalog.guards.facts import FactIndex
from catalog.guards.text import fold, normalise, split_sentences
from catalog.guards.types import GROUNDING, PUBLISHABLE, Finding
from catalog.guards.vocabulary import closed_stems, closed_words, stem

_WORD = re.compile(r"(?:[^\W\d_]|')+")  # letters of any script, and apostrophes; digits and hyphens split words


def unsupported_terms(text: str, index: FactIndex) -> list[str]:
    """The copy's distinct words (lower case, hyphen parts apart) whose stem is neither in the product's
    data nor in the closed vocabulary; a word of one or two letters must be one of `english.SHORT_WORDS`
    or the data's own ("kg"), and a word in another script the data's own."""
    closed = closed_stems()
    short = _short_words(index)
    found: list[str] = []
    for raw in _WORD.findall(fold(text)):
        word = raw.strip("'")
        if not word or word in english.STOPWORDS or word in found:
            continue
        if word.isascii() and len(word) < 3:
            if word not in short:
                found.append(word)
        elif not _known(word, index, closed):
            found.append(word)
    found += [c for c in compounds(text) if c not in _data_compounds(index.facts.text()) and c not in found]
    if _CAN_NOUN.search(normalise(text)) and not _CAN_NOUN.search(normalise(index.text)) and "can" not in found:
        found.append("can")
    # A word glued to a figure is a unit ("5kg", "1080p"); a longer one is a slip ("100greater").
    for m in _GLUED.finditer(normalise(text)):
        if m.group(1) not in _data_words(index.text) and m.group(0) not in found:
            found.append(m.group(0))
    return found


_GLUED = re.compile(r"\d([^\W\d_]{4,})")
# "can" is a closed-list modal verb, and a packaging noun after an article or a measure, or before "of"
# ("now in a 100g can" of a chocolate bar): the noun is the data's to say.
_CAN_NOUN = re.compile(
    r"(?:\b(?:a|an|the|per|each|every|its)|\d\s?(?:ml|cl|l|g|kg|oz|x)?)\s+cans?\b|\bcans? of (?!course)"
)


# Two or more words joined by hyphens ("hand-woven", "top-of-the-prickets"); figures in a compound
# ("30-hour", "650-fill") are the grounding guard's, so only the run of words counts.
_COMPOUND = re.compile(r"[^\W_]+(?:-[^\W_]+)+")


def compounds(text: str) -> list[str]:
    """The compounds of words in the copy (lower case), each once: the longest run of two or more
    alphabetic parts of every hyphenated token, unless it is one of `english.PLAIN_COMPOUNDS`."""
    out: list[str] = []
    for token in _COMPOUND.findall(normalise(text)):
        runs = re.split(r"-?\b\w*\d\w*\b-?", token)  # parts holding a digit split the compound
        for run in runs:
            parts = [p for p in run.split("-") if p]
            word = "-".join(parts)
            if len(parts) >= 2 and word not in english.PLAIN_COMPOUNDS and word not in out:
                out.append(word)
    return out


@lru_cache(maxsize=256)
def _data_compounds(text: str) -> frozenset[str]:
    """Every run of two or more hyphen-joined parts of the data's compounds ("wi-fi", "dual-band")."""
    found: set[str] = set()
    for token in compounds(text):
        parts = token.split("-")
        found.update("-".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 2, len(parts) + 1))
    return frozenset(found)


def _short_words(index: FactIndex) -> frozenset[str]:
    return english.SHORT_WORDS | {w for w in _data_words(index.text) if len(w) < 3}


# Other lemmas a word may have ("soles" of "sole", "batteries" of "battery", "padded" of "pad"): the shared
# `stem` only strips suffixes, so "soles" and "sole" stem apart.
_LEMMA_RULES = (("ies", "y"), ("es", "e"), ("es", ""), ("s", ""), ("ed", "e"), ("ing", "e"), ("d", ""), ("ly", ""))


def word_forms(word: str) -> set[str]:
    """The word and its other lemmas by `_LEMMA_RULES`."""
    forms = {word}
    for suffix, repl in _LEMMA_RULES:
        if suffix == "s" and word.endswith("ss"):
            continue  # "handless" is no plural of "handles", nor "glass" of "glas"
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.add(word[: -len(suffix)] + repl)
    return forms


def allowed_compounds(index: FactIndex) -> frozenset[str]:
    """Hyphenated words copy for this product may use: the data's own and `english.PLAIN_COMPOUNDS`."""
    return _data_compounds(index.facts.text()) | english.PLAIN_COMPOUNDS


def data_words(index: FactIndex) -> frozenset[str]:
    """The words of the product's data, lower case, as the guard reads them."""
    return _data_words(index.text)


@lru_cache(maxsize=256)
def _data_words(text: str) -> frozenset[str]:
    """The data's words as the guard reads them (`FactIndex.content_stems` holds ASCII words only)."""
    return frozenset(w.strip("'").removesuffix("'s") for w in _WORD.findall(text))


_VOWEL = re.compile("[aeiouy]")  # a stem without one is a code or an abbreviation ("xxl", "mah", "usb")


@lru_cache(maxsize=256)
def _names(description: str, values: str) -> frozenset[str]:
    """The data's names: words its description and attribute values write only with a capital, and not
    only as a sentence's first word ("Koroneiki" olives, "Greek"). The title is Title Case throughout."""
    capitalised: set[str] = set()
    lower: set[str] = set()
    texts = [(sentence, 1) for sentence in split_sentences(description)] + [(v, 0) for v in values.split("\n")]
    for text, first in texts:  # a value's first word counts: "Koroneiki" is all of one
        for i, word in enumerate(_WORD.findall(text)):
            if word.islower():
                lower.add(word)
            elif word[0].isupper() and i >= first:
                capitalised.add(word.lower())
    return frozenset(capitalised - lower - english.STOPWORDS)


def _inflects_name(word: str, index: FactIndex) -> bool:
    """ "koroneikiing" of Koroneiki: a name of the data takes no -ing, -ed or -er."""
    facts = index.facts
    values = "\n".join(str(v) for v in facts.attributes.values() if isinstance(v, str))
    names = _names(facts.description, values)
    for suffix in ("ing", "ed", "er", "ers", "ings"):
        base = word.removesuffix(suffix)
        if base != word and (base in names or base + "e" in names):
            return True
    return False


def _known(word: str, index: FactIndex, closed: frozenset[str]) -> bool:
    if word.removesuffix("'s") in _data_words(index.text):
        return True
    if _inflects_name(word, index):
        return False
    stems = {stem(form) for form in word_forms(word)}
    if stems & closed or any(_VOWEL.search(s) for s in stems & index.content_stems):
        return True
    if stems & index.content_stems and word.removesuffix("s") in _data_words(index.text):
        return True  # a code's plural ("usbs"); not "xxled" of the sizes' "XXL"
    parts = [p for p in word.split("-") if p]
    return len(parts) > 1 and all(len(p) < 3 or _known(p, index, closed) for p in parts)


# Two or more capitalised words inside a sentence: a name ("a gift from Smiles Greeting Cardboard").
# A unit or an acronym ("65 W GaN", "USB-C") is no word of a name: each starts with a capital and a small letter.
_CAPITALISED = re.compile(r"(?<![\w'-])[A-Z][a-z][\w-]*(?:'s)?(?:\s+[A-Z][a-z][\w-]*(?:'s)?)+")


def brand_words(brand: str) -> frozenset[str]:
    """The brand's words as the guards read them (lower case, folded): "Cacaova", "Pipwave"."""
    return frozenset(fold(w).strip() for w in re.findall(r"[^\W\d_]+", brand.lower()))


_QUOTED = re.compile(r"[\"“]([^\W\d_][^\"“”]{0,60}?)[\"”]")


def invented_names(text: str, index: FactIndex) -> list[str]:
    """Runs of two or more capitalised words after a sentence's first word that are not a phrase of
    the product's data ("Smiles Greeting Cardboard", "the Best Buy Shop"); the
    brand before the title ("Stitchmoor Leather Card Holder") and a possessive ("Keyforge's") split.
    Also any words in double quotes that are not a phrase of the data ('the "Everyday" set')."""
    brand = brand_words(index.facts.brand)
    known = fold(index.facts.text())
    found: list[str] = []
    for sentence in split_sentences(text):
        first = re.match(r"\S+", sentence)
        for m in _CAPITALISED.finditer(sentence, first.end() if first else 0):
            for part in re.split(r"(?<='s)\s+", m.group(0)):
                words = part.removesuffix("'s").split()
                while words and fold(words[0]).strip() in brand:
                    words = words[1:]
                name = " ".join(words)
                if len(words) >= 2 and fold(name) not in known and name not in found:
                    found.append(name)
    for m in _QUOTED.finditer(text):  # 'your next pick from the "Everyday" set': quotes make a name
        name = m.group(1).strip()
        if fold(name).strip() not in known and name not in found:
            found.append(name)
    return found


# What a generated text never needs: an aside in round brackets ("(Escape) Cleanloop (Escape)") and words
# joined by a full stop like a web address ("cleanloops.comedienne"), both read in eighth-set picks.
_ASIDE = re.compile(r"\([^()]*\)?|\)")
_DOTTED = re.compile(r"[^\W\d_]{2,}\.[^\W\d_]{2,}")


def closed_vocabulary_check(text: str, index: FactIndex) -> tuple[Finding, ...]:
    """One finding per word beyond the product's data and plain shop language, and per name beyond it;
    and, since the decoder writes neither, an aside in brackets or a dotted word is unpublishable."""
    return (
        *(
            Finding(GROUNDING, "unsupported_term", f'unsupported term: "{word}" is not in the product data', word)
            for word in unsupported_terms(text, index)
        ),
        *(
            Finding(GROUNDING, "unsupported_name", f'unsupported name: "{name}" is not in the product data', name)
            for name in invented_names(text, index)
        ),
        *(
            Finding(PUBLISHABLE, "aside", f'not publishable: an aside in brackets: "{m.group(0)}"', m.group(0))
            for m in _ASIDE.finditer(text)
        ),
        *(
            Finding(PUBLISHABLE, "url", f'not publishable: a web address: "{m.group(0)}"', m.group(0))
            for m in _DOTTED.finditer(text)
        ),
    )


@lru_cache(maxsize=1)
def _closed_words() -> frozenset[str]:
    """`vocabulary.closed_words` that the guard reads back as such, and the short words."""
    closed = closed_stems()
    # fold() spells some words otherwise ("grey" → "gray"): keep a word only as the guard will read it
    kept = {w for w in closed_words() if len(w) >= 3 and _WORD.fullmatch(w) and stem(fold(w).strip()) in closed}
    return frozenset(kept) | english.SHORT_WORDS


def _plural(word: str) -> str:
    """The plural of a data word, or the word when it already ends in a single s ("handles", not
    "handless")."""
    if word.endswith(("ss", "x", "z", "ch", "sh")):
        return word + "es"
    return word if word.endswith("s") else word + "s"


def allowed_words(index: FactIndex) -> frozenset[str]:
    """Words (lower case, as written) that copy for this product may use: the closed vocabulary's,
    and the data's own with their plural and -ed/-ing forms. What closed-vocabulary decoding
    (`generator.constrained_words`) lets the sampler write; each passes `unsupported_terms`."""
    closed = closed_stems()
    data: set[str] = set()
    for word in _WORD.findall(index.text):
        word = word.strip("'")
        if len(word) < 3:
            data.add(word)
            continue
        base = word.removesuffix("e")
        data.update({word, _plural(word)} | ({base + "ed", base + "ing"} if _VOWEL.search(word.lower()) else set()))
    return _closed_words() | frozenset(w for w in data if len(w) < 3 or _known(w, index, closed))
