"""What a fact of the product's data belongs to: the product or one of its parts (materials), and the
attribute each figure is of, for the misattributed-claim rules of the grounding guard."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from catalog.guards import english, lexicon
from catalog.guards.figures import COUNT, find_figures
from catalog.guards.text import KEY_UNITS, key_unit, normalise

if TYPE_CHECKING:
    from catalog.guards.facts import ProductFacts


# --- what a fact belongs to: the product or one of its parts, for misattributed claims ------

_PART_ALT = "|".join(re.escape(p) for p in sorted(lexicon.PARTS, key=len, reverse=True))
_ATTRIBUTED = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(m) for m in sorted((*lexicon.MATERIALS, "recycled"), key=len, reverse=True))
    + r")(?![\w-])"
)  # fmt: skip
# A material followed within two words (no connective between) by a part: "stainless steel platform".
_PART_AFTER = re.compile(
    rf"^(?:[ -](?!(?:with|and|or|a|an|the|in|on|for|to|of|from|by|at)\b)[a-z]+){{0,2}}?[ -]({_PART_ALT})s?\b"
)
_MADE = (
    r"(?:made|crafted|produced|manufactured|knitted|knit|woven|formulated|created|built|constructed|spun|moulded|"
    r"molded)(?: entirely| only| wholly| mainly)? (?:from|of|with|in|using|out of)"
)
# "… made from 100% recycled " before a material: who is made of it is the part named first, if any.
_MADE_BEFORE = re.compile(rf"(?:\b({_PART_ALT})s? (?:is |are )?)?\b{_MADE} (?:\d+ ?% )?(?:[a-z0-9-]+ ){{0,2}}$")


@dataclass(frozen=True)
class MaterialMention:
    material: str  # lower case, as listed in lexicon.MATERIALS, or "recycled"
    start: int  # the span that attributes it: "made from … plastic" or "steel platform"
    end: int
    part: str | None  # the part it is said of; None for the product itself
    made: bool  # said with "made from/of …" (an explicit attribution)


def material_mentions(text: str) -> list[MaterialMention]:
    """Each material (and "recycled") in `text` with what it is said of: a part named right after
    it ("recycled plastic bottle") or before "made from" ("a bottle made from recycled plastic"),
    else the product."""
    lowered = normalise(text)
    out: list[MaterialMention] = []
    for m in _ATTRIBUTED.finditer(lowered):
        after = _PART_AFTER.match(lowered[m.end() :])
        if after:
            out.append(MaterialMention(m.group(1), m.start(), m.end() + after.end(), after.group(1), False))
            continue
        made = _MADE_BEFORE.search(lowered[: m.start()])
        start = made.start() if made else m.start()
        out.append(MaterialMention(m.group(1), start, m.end(), made.group(1) if made else None, made is not None))
    return out


def _material_attribution(facts: ProductFacts) -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """Which parts the data says each material of (`{"plastic": {"bottle"}}`), and which materials
    it says of the product as a whole (title, `material` attribute, unattached mentions)."""
    parts: dict[str, set[str]] = {}
    whole: set[str] = set()
    sources: list[tuple[str, str | None]] = [(facts.title, None), (facts.description, None)]
    for key, value in facts.attributes.items():
        words = key.lower().replace("-", "_").split("_")
        part = next((w.removesuffix("s") for w in reversed(words) if w.removesuffix("s") in lexicon.PARTS), None)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, str):
                sources.append((item, part))
    for text, default in sources:
        for mention in material_mentions(text):
            part = default or mention.part
            if part:
                parts.setdefault(mention.material, set()).add(part)
            else:
                whole.add(mention.material)
    return {k: frozenset(v) for k, v in parts.items()}, frozenset(whole)


@dataclass(frozen=True)
class FigureLabel:
    """A figure of the data with the words of what it counts or measures: capacity 5 kg, four
    gigabit Ethernet ports."""

    words: frozenset[str]
    dim: str
    value: float
    surface: str
    name: str  # the words in their order, for messages


_LABEL_STOP = re.compile(r"[\d,;:.!?]|\b(?:and|with|plus|or)\b")


def label_after(text: str) -> tuple[list[str], str]:
    """What a figure is of, from the text right after it: up to three words before the next
    figure, comma or connective ("32 hours of battery life" -> battery, life), and that text."""
    after = _LABEL_STOP.split(normalise(text), maxsplit=1)[0]
    return [w for w in re.findall(r"[a-z]+", after) if w not in english.STOPWORDS][:3], after


def _figure_labels(facts: ProductFacts) -> tuple[FigureLabel, ...]:
    """The data's figures by what they are of: attributes (`capacity_kg: 5` -> capacity 5000 g,
    `lan_ports: 4` -> lan ports 4) and the description's counts with the words after them ("four
    gigabit Ethernet ports")."""
    labels: list[FigureLabel] = []
    for key, value in facts.attributes.items():
        parts = key.lower().split("_")
        unit = key_unit(key)
        # the words before the unit name the attribute: calcium_mg_per_100ml -> {calcium}
        cut = max((i for i, p in enumerate(parts) if p in KEY_UNITS), default=len(parts))
        named = [p for p in parts[:cut] if p.isalpha() and p not in english.STOPWORDS]
        if not named:
            continue
        words, name = frozenset(named), " ".join(named)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, bool) or item is None:
                continue
            if isinstance(item, (int, float)):
                if unit:
                    dim, factor = lexicon.UNITS[unit]
                    labels.append(FigureLabel(words, dim, float(item) * factor, f"{item:g} {unit}", name))
                elif not isinstance(value, (list, tuple)):
                    labels.append(FigureLabel(words, COUNT, float(item), f"{item:g}", name))
            elif isinstance(item, str):
                for fig in find_figures(item, data=True):
                    if fig.dim != COUNT:
                        labels.append(FigureLabel(words, fig.dim, fig.value, fig.surface, name))
    for fig in find_figures(facts.description, data=True):
        if fig.dim == COUNT:
            named, _ = label_after(facts.description[fig.end :])
            if named:
                labels.append(FigureLabel(frozenset(named), COUNT, fig.value, fig.surface, " ".join(named)))
    return tuple(labels)
