"""The product's own facts, and an index of them built once per product.

`ProductFacts` is the plain record a guard needs (no ORM); `FactIndex` holds what the copy's
claims are checked against, normalised the same way the claims are: figures in base units,
standards by family and version, materials and fibre shares, colours, size ranges, words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.guards import lexicon
from catalog.guards.attribution import FigureLabel, _figure_labels, _material_attribution
from catalog.guards.figures import COUNT, find_figures
from catalog.guards.text import KEY_UNITS, fold, key_unit, word_tokens
from catalog.guards.vocabulary import content_stems, own_type_groups


@dataclass(frozen=True)
class ProductFacts:
    """What the shop says about one product: the only source a claim may come from."""

    sku: str
    title: str
    brand: str = ""
    category: str = ""
    description: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    price: float | None = None

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> ProductFacts:
        """From a catalog row (CSV or JSON); `attributes` may be a JSON string."""
        attributes = row.get("attributes") or {}
        if isinstance(attributes, str):
            attributes = json.loads(attributes) if attributes.strip() else {}
        price = row.get("price")
        return cls(
            sku=str(row.get("sku", "")),
            title=str(row.get("title", "")),
            brand=str(row.get("brand", "") or ""),
            category=str(row.get("category", "") or ""),
            description=str(row.get("description", "") or ""),
            attributes=dict(attributes),
            price=None if price in (None, "") else float(price),
        )

    def attribute_text(self) -> str:
        """The attributes as sentences of words: keys as words, true flags as phrases, values as text."""
        parts: list[str] = []
        for key, value in self.attributes.items():
            words = key.replace("_", " ")
            if value is True:
                parts.append(f"{words}.")
            elif value is False or value is None:
                continue
            elif isinstance(value, (list, tuple)):
                parts.append(f"{words}: {', '.join(str(v) for v in value)}.")
            else:
                parts.append(f"{words}: {value}.")
                if key.rsplit("_", 1)[-1].lower() not in KEY_UNITS:
                    # {"bluetooth": "5.3"} supports "Bluetooth 5.3": the key names what the value is.
                    parts.append(f"{words} {value}.")
        return " ".join(parts)

    def text(self) -> str:
        return " ".join(p for p in (self.title, self.brand, self.description, self.attribute_text()) if p)


@dataclass(frozen=True)
class Standard:
    family: str  # "bluetooth", "wifi", "ip", "hdmi", "usb", "usb-c", "resolution", …
    version: str  # "5.3", "x7", "2.1", "4k"; "" when unversioned
    surface: str
    start: int
    end: int


_STANDARD_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (family, re.compile(pattern, re.IGNORECASE))
    for family, pattern in (
        ("bluetooth", r"\bbluetooth(?:\s?v?(\d(?:\.\d)?)(?!\d|\.\d))?"),
        ("wifi", r"\bwi-?fi(?:\s?(\d[e]?|7)(?!\d|\.\d))?"),
        ("usb-c", r"\busb[- ]?(?:type[- ]?)?c\b"),
        ("usb-a", r"\busb[- ]?(?:type[- ]?)?a\b"),
        ("usb", r"\busb\s?(\d(?:\.\d)?|4)\b"),
        ("usb", r"\busb\b(?![- ]?(?:type|[ac]\b|\d))"),
        ("thunderbolt", r"\bthunderbolt(?:\s?(\d))?\b"),
        ("hdmi", r"\bhdmi(?:\s?(\d\.\d))?"),
        ("ip", r"\bip([x\d]\d)\b"),
        ("resolution", r"\b(\d)k\b"),
        ("resolution", r"\b(720|1080|1440|2160)p\b"),
        ("qi", r"\bqi2?\b"),
        ("power delivery", r"\b(?:usb[- ])?power delivery\b|\busb[- ]pd\b|\bpd\s?\d(?:\.\d)?\b"),
        ("quick charge", r"\bquick charge(?:\s?(\d(?:\.\d)?))?"),
        ("cellular", r"(?-i:\b[2-5]G\b)|\blte\b"),
        ("earc", r"\be?arc\b"),
        ("displayport", r"\bdisplay ?port\b"),
        ("wpa", r"\bwpa(\d)\b"),
    )
)


def find_standards(text: str) -> list[Standard]:
    found: list[Standard] = []
    taken: list[tuple[int, int]] = []
    for family, pattern in _STANDARD_PATTERNS:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            version = (m.group(1) or "").lower() if m.re.groups else ""
            if family == "resolution" and m.group(0)[-1].lower() == "k":
                version += "k"
            found.append(Standard(family, version, m.group(0), m.start(), m.end()))
            taken.append((m.start(), m.end()))
    return sorted(found, key=lambda s: s.start)


_MATERIAL_ALT = "|".join(re.escape(m) for m in sorted(lexicon.MATERIALS, key=len, reverse=True))
FIBRE_SHARE = re.compile(rf"(\d{{1,3}})\s?%\s+(?:[a-z-]+\s+){{0,2}}?({_MATERIAL_ALT})\b", re.IGNORECASE)
_LETTER = r"(?:XXS|XS|XXXL|XXL|XL|[2-5]XL|S|M|L)"
LETTER_RANGE = re.compile(rf"\b({_LETTER})\s?(?:-|–|to)\s?({_LETTER})\b")


def size_rank(size: str) -> int:
    size = lexicon.LETTER_SIZE_ALIASES.get(size.upper(), size.upper())
    return lexicon.LETTER_SIZES.index(size) if size in lexicon.LETTER_SIZES else -1


@dataclass(frozen=True)
class FactIndex:
    facts: ProductFacts
    text: str  # folded product text, padded with spaces
    tokens: frozenset[str]
    measures: Mapping[str, tuple[float, ...]]  # dimension -> values in base units
    ranges: Mapping[str, tuple[tuple[float, float], ...]]
    numbers: frozenset[float]  # every number as written, list lengths included
    standards: Mapping[str, frozenset[str]]  # family -> versions ("" for unversioned mentions)
    fibre_shares: frozenset[tuple[float, str]]
    letter_ranges: tuple[tuple[int, int], ...]
    surfaces: Mapping[str, tuple[str, ...]]  # dimension -> figures as written, for messages
    other_brands: frozenset[str] = frozenset()
    type_groups: frozenset[int] = frozenset()  # the kinds of product the data names
    content_stems: frozenset[str] = frozenset()  # the data's content words, stemmed
    material_parts: Mapping[str, frozenset[str]] = field(default_factory=dict)  # material -> parts it is of
    whole_materials: frozenset[str] = frozenset()  # materials the data says of the product itself
    figure_labels: tuple[FigureLabel, ...] = ()  # measured figures by the attribute they belong to

    def mentions(self, evidence: str) -> bool:
        """Whether the folded product text matches an evidence pattern."""
        return re.search(evidence, self.text) is not None

    def has_measure(self, dim: str, value: float) -> bool:
        for known in self.measures.get(dim, ()):
            if abs(known - value) <= 1e-6 + 0.005 * abs(known):
                return True
        return any(lo - 1e-9 <= value <= hi + 1e-9 for lo, hi in self.ranges.get(dim, ()))

    def has_number(self, value: float) -> bool:
        return any(abs(n - value) <= 1e-9 for n in self.numbers)


def fact_index(facts: ProductFacts, *, other_brands: tuple[str, ...] = ()) -> FactIndex:
    """Build the index once per product; `other_brands`: the catalog's other brands, flagged by name."""
    raw_text = facts.text()
    measures: dict[str, list[float]] = {}
    ranges: dict[str, list[tuple[float, float]]] = {}
    surfaces: dict[str, list[str]] = {}
    numbers: set[float] = set()
    standards: dict[str, set[str]] = {}

    def add_figures(text: str) -> None:
        masked = text
        for std in find_standards(text):
            standards.setdefault(std.family, set()).add(std.version)
            masked = masked[: std.start] + " " * (std.end - std.start) + masked[std.end :]
        for fig in find_figures(masked, data=True):
            measures.setdefault(fig.dim, []).append(fig.value)
            surfaces.setdefault(fig.dim, []).append(fig.surface)
            numbers.add(fig.raw)
            if fig.low is not None:
                ranges.setdefault(fig.dim, []).append((fig.low, fig.value))
                numbers.add(fig.low / (fig.value / fig.raw) if fig.raw else fig.low)
        for m in re.finditer(r"\b(\d+)-in-1\b", text):
            numbers.add(float(m.group(1)))

    add_figures(f"{facts.title}. {facts.description}")
    for key, value in facts.attributes.items():
        add_figures(key.replace("_", " "))
        values = value if isinstance(value, (list, tuple)) else [value]
        if isinstance(value, (list, tuple)):
            numbers.add(float(len(value)))
        for item in values:
            if isinstance(item, bool) or item is None:
                continue
            if isinstance(item, (int, float)):
                numbers.add(float(item))
                unit = key_unit(key)
                if unit:
                    dim, factor = lexicon.UNITS[unit]
                    measures.setdefault(dim, []).append(float(item) * factor)
                    surfaces.setdefault(dim, []).append(f"{item:g} {unit}")
                else:
                    measures.setdefault(COUNT, []).append(float(item))
            else:
                add_figures(str(item))
            if not key_unit(key) and not isinstance(value, (list, tuple)):
                # {"bluetooth": "5.3"} states "Bluetooth 5.3": the key names what the value is.
                add_figures(f"{key.replace('_', ' ')} {item}")
    if facts.price is not None:
        measures.setdefault("price", []).append(float(facts.price))
        surfaces.setdefault("price", []).append(f"{facts.price:.2f}")
    shares = frozenset((float(m.group(1)), fold(m.group(2)).strip()) for m in FIBRE_SHARE.finditer(raw_text))
    letter_ranges = tuple(
        (size_rank(m.group(1)), size_rank(m.group(2))) for m in LETTER_RANGE.finditer(raw_text)
    ) + tuple(
        (size_rank(m.group(0)), size_rank(m.group(0))) for m in re.finditer(r"\b(?:XXS|XS|XL|XXL|[2-5]XL)\b", raw_text)
    )
    material_parts, whole_materials = _material_attribution(facts)
    return FactIndex(
        facts=facts,
        text=fold(raw_text + " " + facts.category),
        tokens=frozenset(word_tokens(raw_text)),
        measures={k: tuple(v) for k, v in measures.items()},
        ranges={k: tuple(v) for k, v in ranges.items()},
        numbers=frozenset(numbers),
        standards={k: frozenset(v) for k, v in standards.items()},
        fibre_shares=shares,
        letter_ranges=letter_ranges,
        surfaces={k: tuple(dict.fromkeys(v)) for k, v in surfaces.items()},
        other_brands=frozenset(b for b in other_brands if b and b.lower() != facts.brand.lower()),
        type_groups=own_type_groups(raw_text),
        content_stems=frozenset(content_stems(raw_text + " " + facts.category)),
        material_parts=material_parts,
        whole_materials=whole_materials,
        figure_labels=_figure_labels(facts),
    )
