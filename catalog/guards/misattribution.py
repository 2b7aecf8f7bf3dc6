"""Misattributed facts: a fact the product's data states of one part or attribute, said in the copy of
another or of the whole product (a part's material, a figure under another attribute, a share put on
another quality). Claims of kind `misattributed` for the grounding guard."""

from __future__ import annotations

import re

from catalog.guards.attribution import label_after, material_mentions
from catalog.guards.facts import FactIndex
from catalog.guards.figures import COUNT, PRICE, find_figures
from catalog.guards.text import normalise
from catalog.guards.types import Claim

_SENTENCE_SPAN = re.compile(r"[^.!?]+[.!?]*")
_LABEL_BEFORE = re.compile(r"([a-z]+(?: [a-z]+)?) (?:of|is|:) (?:up to |about |just |only |a )?$")


def _same_value(known: float, value: float) -> bool:
    return abs(known - value) <= 1e-6 + 0.005 * abs(known)


def _misattributed_figures(text: str, index: FactIndex) -> list[Claim]:
    """A figure the data has, attached in the copy to what another of its figures is of ("5 kg
    precision" for capacity 5 kg and precision 1 g; "32 hours of battery life" when 32 hours is
    the case's; "two gigabit wireless connections" when two is the bands and four the gigabit
    ports). A measure is matched by all its attribute's words, a count by any of them."""
    claims: list[Claim] = []
    lowered = normalise(text)
    for sentence in _SENTENCE_SPAN.finditer(lowered):
        words = set(re.findall(r"[a-z]+", sentence.group(0)))
        for fig in find_figures(text[sentence.start() : sentence.end()]):
            count = fig.dim == COUNT
            value = fig.raw if count else fig.value
            if fig.dim == PRICE or fig.low is not None:
                continue
            if not (
                index.has_number(value) or index.has_measure(COUNT, value)
                if count
                else index.has_measure(fig.dim, value)
            ):
                continue  # an unsupported figure is the figure claim's finding
            start, end = sentence.start() + fig.start, sentence.start() + fig.end
            window, after = label_after(lowered[end : sentence.end()])
            before = _LABEL_BEFORE.search(lowered[sentence.start() : start])
            window += before.group(1).split() if before else []
            named = [
                lab
                for lab in index.figure_labels
                if lab.dim == fig.dim and (lab.words & set(window) if count else lab.words <= set(window))
            ]
            if not named or any(_same_value(lab.value, value) for lab in named):
                continue
            named_words = set().union(*(lab.words for lab in named))
            if any(
                _same_value(lab.value, value) and (lab.words - named_words) & words
                for lab in index.figure_labels
                if lab.dim == fig.dim
            ):
                continue  # the figure's own attribute is named in the sentence too ("… with the case")
            lab = named[0]
            span_end = end + len(after.rstrip(" .!?"))
            claim_start, claim_end = (sentence.start() + before.start(), end) if before else (start, span_end)
            detail = f"{lab.name} {lab.surface}"
            claims.append(
                Claim("misattributed", text[claim_start:claim_end].strip(), claim_start, claim_end, False, detail)
            )
    return claims


_SHARE = re.compile(r"\b(\d+(?:\.\d+)?) ?% ([a-z]+)")
_SHARE_FILLER = frozenset({"of", "more", "less", "off", "the", "a", "an", "and", "or", "in", "from", "with", "pure"})


def _misattributed_shares(text: str, index: FactIndex) -> list[Claim]:
    """A share the data has, put on another quality: "100% sustainable materials" when the data's 100 % is
    of recycled plastic. The word after the share must be one of the words around that share in the data."""
    claims: list[Claim] = []
    data = index.text
    for m in _SHARE.finditer(normalise(text)):
        number, word = m.group(1), m.group(2)
        if word in _SHARE_FILLER:
            continue
        around: list[str] = []
        for d in re.finditer(rf"(?<![\d.]){re.escape(number)} ?%", data):
            around += re.findall(r"[a-z]+", data[max(0, d.start() - 30) : d.end() + 40])
        if not around:
            continue  # a share the data lacks is the figure claim's finding
        if any(w[:5] == word[:5] for w in around):
            continue
        said = " ".join(re.findall(r"[a-z]+", data[data.find(number) :])[:2]) if number in data else ""
        detail = f"{number}% {said}".strip()
        claims.append(Claim("misattributed", text[m.start() : m.end()], m.start(), m.end(), False, detail))
    return claims


# "materials, including 100% organic cotton": a whole presented as one of several.
_WHOLE_AS_PART = re.compile(
    r"\b(?:including|such as|a blend of|a mix of|a mixture of|among them|along with|as well as)\s+"
    r"(100 ?% [a-z][a-z -]{2,40}?)(?=\s*(?:[,.;!?]|$|\band\b|\bwith\b|\bfor\b))"
)


def _whole_as_part(text: str, index: FactIndex) -> list[Claim]:
    """The data's one 100 % share, introduced as one of several things: the copy then implies other
    materials the product does not have. Data with more than one 100 % share (a shell and a lining)
    has several parts, so "such as 100% cotton" may be fair there; a share the data lacks is the
    figure claim's finding."""
    # The data's 100 % shares by the word that follows ("recycled", "organic"): one share said twice
    # (in the description and an attribute) is still one.
    data_shares = {m.group(1) for m in re.finditer(r"(?<![\d.])100 ?% ([a-z]+)", index.text)}
    if len(data_shares) != 1:
        return []
    (data_share,) = data_shares
    claims: list[Claim] = []
    lowered = normalise(text)
    for m in _WHOLE_AS_PART.finditer(lowered):
        share = m.group(1).strip()
        if data_share not in re.findall(r"[a-z]+", share.split("%", 1)[1]):
            continue
        detail = f"{share} is all of it, not one of several"
        claims.append(Claim("misattributed", text[m.start() : m.end()], m.start(), m.end(), False, detail))
    return claims


def misattributed_claims(text: str, index: FactIndex) -> list[Claim]:
    """Facts of the data said of the wrong thing: a part's material said of the product ("made from
    recycled plastic" when the bottle is) or of another part, and a figure under another attribute."""
    claims: list[Claim] = []
    for mention in material_mentions(text):
        if claims and claims[-1].start == mention.start:
            claims.pop()  # "made from recycled plastic": one claim, the longest span
        parts = index.material_parts.get(mention.material)
        if not parts or mention.material in index.whole_materials:
            continue  # an unknown material is the material claim's; one of the whole product is fine
        if mention.part in parts or (mention.part is None and not mention.made):
            continue  # said of its own part, or said of nothing in particular
        detail = "said of the " + " and the ".join(sorted(parts))
        claims.append(
            Claim("misattributed", text[mention.start : mention.end], mention.start, mention.end, False, detail)
        )
    return (
        claims + _misattributed_figures(text, index) + _misattributed_shares(text, index) + _whole_as_part(text, index)
    )
