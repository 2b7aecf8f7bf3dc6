"""The template arm: deterministic copy written only from the product's facts.

The paper's baseline ("template copy", D ≈ 0.30–0.35) and our novelty reference: one to three
plain sentences, each built from the title, brand, attributes or the shop's own description, so
that every claim in it is grounded by construction (the guards check it anyway in the tests).

    Meet the Organic Cotton Crew Tee from Northloom. It is made from organic cotton, with a
    regular fit, in white, black or heather grey. Order yours today.
"""

from __future__ import annotations

import re

from catalog.guards.facts import ProductFacts

CTA = "Order yours today."
_CTA_SENTENCE = re.compile(r"^(?:shop now|order today|order now|add to (?:cart|basket)|buy now)\.?$", re.IGNORECASE)


def _join(items: list[str], conj: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"


def _hours(hours: float) -> str:
    if hours >= 48 and hours % 24 == 0:
        return f"up to {hours / 24:g} days of battery life"
    return f"up to {hours:g} hours of battery life"


def _highlights(facts: ProductFacts) -> list[str]:
    """Attribute facts as noun phrases, in a fixed order; unknown keys are left out, not guessed."""
    a = facts.attributes
    out: list[str] = []
    if isinstance(a.get("battery_life_h"), (int, float)):
        out.append(_hours(float(a["battery_life_h"])))
    for key, fmt in (
        ("output_w", "{:g} W of output"),
        ("capacity_mah", "{:,} mAh of capacity"),
        ("storage_gb", "{:g} GB of storage"),
        ("weight_g", "a weight of {:g} g"),
    ):
        if isinstance(a.get(key), (int, float)) and not isinstance(a.get(key), bool):
            out.append(fmt.format(a[key]))
    for key, fmt in (("connectivity", "{} connectivity"), ("water_resistance", "{} water resistance")):
        if isinstance(a.get(key), str):
            out.append(fmt.format(a[key]))
    return out[:3]


def _first_sentence(description: str, title: str = "") -> str:
    """The description's first sentence that is not a CTA, not too long and does not restate the
    title (a description often opens with the title's words, which the guards reject as repetition)."""
    for sentence in re.split(r"(?<=[.!?])\s+", description.strip()):
        sentence = sentence.strip()
        if not sentence or _CTA_SENTENCE.match(sentence) or len(sentence.split()) > 30 or _repeats(title, sentence):
            continue
        return sentence if sentence[-1] in ".!?" else sentence + "."
    return ""


def _repeats(title: str, sentence: str, n: int = 3) -> bool:
    """Whether the sentence restates n words of the title in a row (the guards reject repetition)."""
    t = re.findall(r"[a-z0-9]+", title.lower())
    words = " " + " ".join(re.findall(r"[a-z0-9]+", sentence.lower())) + " "
    return any(f" {' '.join(t[i : i + n])} " in words for i in range(len(t) - n + 1))


def template_copy(facts: ProductFacts, *, cta: bool = True) -> str:
    """One to three grammatical sentences from the facts alone; the same facts give the same copy."""
    title = facts.title.strip()
    opener = f"Meet the {title} from {facts.brand.strip()}." if facts.brand.strip() else f"Meet the {title}."
    sentences = [opener]
    last = title.lower().split()[-1] if title else ""
    plural = last.endswith("s") and not last.endswith("ss")
    it, is_, offers = ("They", "are", "offer") if plural else ("It", "is", "offers")
    a = facts.attributes
    material = a.get("material")
    if facts.category.lower() == "apparel" and isinstance(material, str):
        detail = f"{it} {is_} made from {material}"
        if isinstance(a.get("fit"), str):
            detail += f", with a {a['fit']} fit"
        colors = a.get("colors")
        if isinstance(colors, (list, tuple)) and colors:
            detail += f", in {_join([str(c) for c in colors], 'or')}"
        sentences.append(detail + ".")
    else:
        highlights = _highlights(facts)
        if len(highlights) >= 2:
            sentences.append(f"{it} {offers} {_join(highlights)}.")
        else:
            first = _first_sentence(facts.description, title)
            if first:
                sentences.append(first)
    if cta:
        sentences.append(CTA)
    return " ".join(sentences)
