"""Fit-to-publish guard: copy a shop could put on a product page as it is.

Checks, each a finding of its own: whole sentences (ends with a full stop, question or
exclamation mark; no trailing ellipsis; no run-on sentence over `MAX_SENTENCE_WORDS` words; no
keyword strings of seven or more words without a single function word), no lists of field labels
("Battery Life: … Weight: …") or bullets, no repeated phrases (a four-word sequence twice, a word
three times in a row), no placeholders or chat artefacts ("[Your Email Address]", "(laughs)",
"lol", "As an AI"), no URLs, e-mail addresses, handles or phone numbers, nothing disparaging
the product ("overpriced", "unflattering", "cheap-looking"; a negated word such as "never
itchy" is fine), no price claims ("affordable", "budget-friendly"), no offers the shop did not
make (free shipping, discounts, "% off", coupons, "for 3 months" next to an offer, a price other
than the product's), English, the catalog's language (few non-ASCII letters, enough English function words),
no strings of quoted labels ('"Family size," "Fresh," "Everyday."'),
and something said: copy that spends `VACUOUS_MIN_WORDS` or more content words outside calls to
action, yet once the product's title and brand are taken out uses no word, figure or standard of
its data ("With the Digital Kitchen Scale, you'll find everything you need to make shopping fun
and exciting."), is on topic and true but vacuous (needs the product's data; a short plain line
such as "Meet the … from …. Order yours today." is not judged, nor copy for a product whose data
has nothing beyond its name).
"""

from __future__ import annotations

import re

from catalog.guards import english
from catalog.guards.facts import FactIndex
from catalog.guards.text import split_sentences
from catalog.guards.topic import data_words_beyond_name, without_name
from catalog.guards.types import PUBLISHABLE, Finding
from catalog.guards.vocabulary import content_stems

MAX_SENTENCE_WORDS = 50
VACUOUS_MIN_WORDS = 4  # content words outside calls to action before copy can be padded
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+[\"'”’)]*|$)")
_WORDS = re.compile(r"[A-Za-zÀ-ÿ0-9]+(?:['’][A-Za-z]+)?")
_DISPARAGING = re.compile(r"\b(?:" + "|".join(english.DISPARAGING) + r")\b", re.IGNORECASE)
_OFFERS = re.compile("|".join(english.OFFERS), re.IGNORECASE)
_PRICE_CLAIM = re.compile("|".join(english.PRICE_CLAIMS), re.IGNORECASE)
_OFFER_DURATION = re.compile(r"\bfor (?:\d+|a|one|two|three|six|twelve) (?:months?|years?)\b", re.IGNORECASE)
_OFFER_CUE = re.compile(english.OFFER_CUES, re.IGNORECASE)
_CALL_TO_ACTION = re.compile(english.CALL_TO_ACTION, re.IGNORECASE)
_CHAT = re.compile("|".join(english.CHAT_ARTEFACTS), re.IGNORECASE | re.MULTILINE)
_PLACEHOLDER = re.compile("|".join(english.PLACEHOLDERS), re.IGNORECASE)
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+|\b[\w-]+\.(?:com|net|org|io|shop|store|co\.uk|example)\b", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z_]\w{2,}|(?<![\w&])#[A-Za-z]\w+")
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d ()-]{8,}\d\b")
_LABEL = re.compile(r"(?:^|(?<=[.;!?\n•|]))\s*([A-Z][A-Za-z-]*(?: [A-Za-z-]+){0,2})\s?:\s*\S")
# Two or more short quoted phrases in a row ('"Family size," "Fresh," "Everyday."'): badges or labels the model
# made up, not sentences.
_QUOTES = str.maketrans({"“": '"', "”": '"'})
_QUOTED_LABELS = re.compile(r'"[^"\n]{1,30}"[,.;]?\s*"[^"\n]{1,30}"')
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+\S", re.MULTILINE)
_GLUED = re.compile(r"\b\d+/[A-Z][a-z]{3,}")  # "24/Comfortable": a figure glued to a word, a broken list
# A one-word sentence that is an abstract noun ("Versatility.") is a list the model broke off; one-word
# adjectives and verbs are ad style ("Effortless.", "Go.").
_ABSTRACT_NOUN = re.compile(r"^[a-z]{4,}(?:ity|ness|tion|sion|ment|ance|ence)$")
_PRICE = re.compile(r"[$£€]\s?(\d+(?:[.,]\d{2})?)|\b(\d+(?:\.\d{2})?)\s?(?:dollars|pounds|euros|USD|GBP|EUR)\b")


def _finding(code: str, message: str, claim: str = "") -> Finding:
    return Finding(PUBLISHABLE, code, message, claim)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


TITLE_CASE_WORDS = 4  # capitalised ordinary words inside sentences before copy reads as a headline


def _title_cased_words(text: str, index: FactIndex | None) -> list[str]:
    """Capitalised words that neither open a sentence nor come from the product's data."""
    found = []
    for m in re.finditer(r"(?<=[\w,;)\-–] )([A-Z][a-z']+)\b", text):
        word = m.group(1)
        if index is not None and word.lower().removesuffix("'s") in index.tokens:
            continue
        if word not in ("I", "I'm", "I've"):
            found.append(word)
    return found


def _says_nothing(text: str, index: FactIndex) -> list[Finding]:
    if not (index.facts.description.strip() or index.facts.attributes):
        return []  # data with nothing beyond a name (seed-corpus rows): nothing the copy could say
    rest = without_name(text, index)
    spent = [w for s in _sentences(rest) if not _CALL_TO_ACTION.search(s) for w in content_stems(s)]
    if len(spent) < VACUOUS_MIN_WORDS or data_words_beyond_name(text, index):
        return []
    return [_finding("vacuous", "not publishable: says nothing about the product beyond its name")]


_DOUBLED = re.compile(
    r"(?<![\w.-])(\d[\d.,]*\s?[a-z%]{1,3}|\w[\w.%-]*\w|\w{2,})(?:,\s*|\s+)(?:and\s+)?\1(?![\w%-]|\.\d)", re.IGNORECASE
)


# A figure left counting nothing at a sentence's end ("It has a 1.", "This gilet is made of 2.", "you get 9.");
# "a pack of 6." and "sizes 6 to 11." count something.
_DANGLING_FIGURE = re.compile(
    r"\b(?:a|an|the|with|made of|made from|made with|get|gets|has|have|it's)\s+\d+(?:[.,]\d+)?\s*[.!?]*$", re.I
)


def publishable_check(text: str, index: FactIndex | None = None) -> tuple[Finding, ...]:
    findings: list[Finding] = []
    stripped = text.strip()
    if not stripped:
        return (_finding("empty", "not publishable: the copy is empty"),)

    for pattern, code, what in (
        (_PLACEHOLDER, "placeholder", "a placeholder"),
        (_CHAT, "chat_artefact", "a chat artefact"),
        (_URL, "url", "a web address"),
        (_EMAIL, "email", "an e-mail address"),
        (_HANDLE, "handle", "a social handle or hashtag"),
        (_PHONE, "phone_number", "a phone number"),
    ):
        for m in pattern.finditer(stripped):
            findings.append(_finding(code, f'not publishable: {what} "{m.group(0).strip()}"', m.group(0).strip()))
            break

    words = _WORDS.findall(stripped)
    lowered = [w.lower() for w in words]
    for m in _DISPARAGING.finditer(stripped):
        before = re.findall(r"[a-z']+", stripped[max(0, m.start() - 25) : m.start()].lower())[-2:]
        if not any(w in english.NEGATIONS for w in before) or m.group(0).lower().startswith(("not ", "nothing")):
            findings.append(
                _finding("disparaging", f'not publishable: disparages the product: "{m.group(0)}"', m.group(0))
            )
    for m in _OFFERS.finditer(stripped):
        findings.append(
            _finding("offer", f'not publishable: an offer the shop did not make: "{m.group(0)}"', m.group(0))
        )
    for m in _PRICE_CLAIM.finditer(stripped):
        if index is None or m.group(0).lower() not in index.text:
            message = f'not publishable: a price claim the shop did not make: "{m.group(0)}"'
            findings.append(_finding("price_claim", message, m.group(0)))
            break
    for sentence in _sentences(stripped):
        if _OFFER_CUE.search(sentence):
            for m in _OFFER_DURATION.finditer(sentence):
                findings.append(_finding("offer", f'not publishable: an offer term: "{m.group(0)}"', m.group(0)))
    price = index.facts.price if index is not None else None
    for m in _PRICE.finditer(stripped):
        value = float((m.group(1) or m.group(2)).replace(",", "."))
        if price is None or abs(value - price) > 0.005:
            findings.append(
                _finding("price", f'not publishable: a price the shop did not set: "{m.group(0)}"', m.group(0))
            )

    quoted = _QUOTED_LABELS.search(stripped.translate(_QUOTES))
    if quoted:
        message = f"not publishable: a string of quoted labels ({quoted.group(0).strip()})"
        findings.append(_finding("quoted_labels", message, quoted.group(0).strip()))

    labels = [m.group(1) for m in _LABEL.finditer(stripped)]
    known = [lab for lab in labels if lab.lower() in english.FIELD_NAMES]
    # "Weight 1 kg; bean 100% Arabica; origin Colombia": the attributes' keys as labels, without colons
    keys = {k.lower().split("_")[0] for k in index.facts.attributes} if index is not None else set()
    keyed = [seg.split()[0] for seg in re.split(r"[;\n]", stripped) if len(seg.split()) >= 2]
    keyed = [word for word in keyed if word.lower().strip(".,") in keys]
    if len(keyed) >= 2:
        labels.extend(keyed)
    if len(labels) >= 2 or known or len(_BULLET.findall(text)) >= 2 or stripped.count("|") >= 2:
        shown = (known or labels or ["bullets"])[0]
        findings.append(_finding("field_list", f'not publishable: reads as a list of fields ("{shown}: …")', shown))

    for n in (4,):
        grams = [" ".join(lowered[i : i + n]) for i in range(len(lowered) - n + 1)]
        repeated = next((g for i, g in enumerate(grams) if g in grams[i + 1 :]), None)
        if repeated:
            findings.append(_finding("repetition", f'not publishable: repeats "{repeated}"', repeated))
    # The same sentence twice ("100% organic cotton. 100% organic cotton."), however short.
    said = [re.sub(r"\W+", " ", s.lower()).strip() for s in split_sentences(stripped)]
    twice = next((s for i, s in enumerate(said) if s and s in said[i + 1 :]), None)
    if twice and not any(f.code == "repetition" for f in findings):
        findings.append(_finding("repetition", f'not publishable: repeats the sentence "{twice}"', twice))
    # A word or figure said twice in a row ("This 1.5L, 1.5L, all-in-one…", "the the").
    doubled = _DOUBLED.search(stripped)
    if doubled and not any(f.code == "repetition" for f in findings):
        findings.append(_finding("repetition", f'not publishable: repeats "{doubled.group(1)}"', doubled.group(0)))
    for i in range(len(lowered) - 2):
        if lowered[i] == lowered[i + 1] == lowered[i + 2]:
            findings.append(_finding("repetition", f'not publishable: repeats "{words[i]}"', words[i]))
            break

    if stripped[-1] not in ".!?" and not re.search(r"[.!?][\"'”’)]+$", stripped):
        findings.append(_finding("unfinished", "not publishable: the copy does not end with a full sentence"))
    if "..." in stripped or "…" in stripped:
        findings.append(_finding("unfinished", "not publishable: trailing or elided text (…)"))
    for sentence in _sentences(stripped):
        sentence_words = [w.lower() for w in _WORDS.findall(sentence)]
        if len(sentence_words) > MAX_SENTENCE_WORDS:
            findings.append(_finding("run_on", f"not publishable: a run-on sentence of {len(sentence_words)} words"))
        alpha = [w for w in sentence_words if w.isalpha()]
        if len(alpha) >= 7 and not any(w in english.STOPWORDS for w in alpha):
            findings.append(_finding("not_a_sentence", "not publishable: a string of keywords, not a sentence"))
    for sentence in split_sentences(stripped):
        glued = _GLUED.search(sentence) or _DANGLING_FIGURE.search(sentence)
        one_word = [w.lower() for w in _WORDS.findall(sentence)]
        if glued or (len(one_word) == 1 and _ABSTRACT_NOUN.match(one_word[0])):
            shown = sentence.strip()
            findings.append(_finding("fragment", f'not publishable: a fragment, not a sentence: "{shown}"', shown))

    shouted = _title_cased_words(stripped, index)
    if len(shouted) >= TITLE_CASE_WORDS:
        findings.append(
            _finding("title_case", f'not publishable: reads as Title Case ("{" ".join(shouted[:4])} …")', shouted[0])
        )

    if index is not None:
        findings.extend(_says_nothing(stripped, index))

    letters = [c for c in stripped if c.isalpha()]
    non_ascii = sum(not c.isascii() for c in letters)
    alpha_words = [w for w in lowered if w.isalpha()]
    in_english = sum(w in english.STOPWORDS for w in alpha_words)
    foreign = sum(w in english.FOREIGN_STOPWORDS and w not in english.STOPWORDS for w in alpha_words)
    if (letters and non_ascii / len(letters) > 0.15) or (len(alpha_words) >= 5 and foreign > in_english):
        findings.append(_finding("not_english", "not publishable: not in English, the catalog's language"))
    return tuple(findings)
