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
from functools import lru_cache
from pathlib import Path
from typing import Any

from catalog.guards import lexicon, product_types
from catalog.guards.figures import COUNT, find_figures

_FOLDS = (
    ("colour", "color"), ("aluminium", "aluminum"), ("fibre", "fiber"), ("sulphate", "sulfate"), ("grey", "gray"),
    ("litre", "liter"), ("metre", "meter"), ("vulcanised", "vulcanized"), ("flavour", "flavor"),
    ("moisturiser", "moisturizer"), ("yoghurt", "yogurt"), ("favourite", "favorite"),
)  # fmt: skip
_DASHES = str.maketrans({"–": "-", "—": "-", "‐": "-", "’": "'", "‘": "'", "“": '"', "”": '"'})
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.-]*[A-Za-z0-9]|[A-Za-z0-9]")


def normalise(text: str) -> str:
    """Lower case, typographic dashes and quotes made plain."""
    return text.translate(_DASHES).lower()


def fold(text: str) -> str:
    """`normalise`, British spellings folded to one form, hyphens and underscores as spaces, padded."""
    text = normalise(text)
    for british, american in _FOLDS:
        text = text.replace(british, american)
    text = re.sub(r"[-_/]", " ", text)
    text = re.sub(r"[,;:!?()\[\]\"]|\.(?!\d)", " ", text)
    return " " + re.sub(r"\s+", " ", text).strip() + " "


def word_tokens(text: str) -> set[str]:
    """Lower-case tokens with their hyphen parts and without a possessive ending."""
    out: set[str] = set()
    for tok in _TOKEN.findall(normalise(text)):
        tok = tok.rstrip(".").removesuffix("'s")
        out.add(tok)
        out.update(p for p in re.split(r"[-&.]", tok) if p)
    return out


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
                if key.rsplit("_", 1)[-1].lower() not in _KEY_UNITS:
                    # {"bluetooth": "5.3"} supports "Bluetooth 5.3": the key names what the value is.
                    parts.append(f"{words} {value}.")
        return " ".join(parts)

    def text(self) -> str:
        return " ".join(p for p in (self.title, self.brand, self.description, self.attribute_text()) if p)


# Attribute keys name their unit at the end: battery_life_h, weight_g, caffeine_mg_per_serving.
_KEY_UNITS = {
    "h": "h", "hours": "h", "min": "min", "days": "days", "weeks": "weeks", "months": "months", "g": "g",
    "mg": "mg", "kg": "kg", "ml": "ml", "l": "l", "mm": "mm", "cm": "cm", "m": "m", "in": "in", "w": "w",
    "mah": "mah", "wh": "wh", "gb": "gb", "tb": "tb", "mbps": "mbps", "gbps": "gbps", "hz": "hz", "khz": "khz",
    "ppi": "ppi", "gsm": "gsm", "ppm": "ppm", "c": "°c", "deg": "deg", "kcal": "kcal", "db": "db", "v": "v",
}  # fmt: skip


def _key_unit(key: str) -> str | None:
    for part in reversed(key.lower().split("_")):
        if part in _KEY_UNITS:
            return _KEY_UNITS[part]
    return None


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


@lru_cache(maxsize=1)
def vader_words() -> frozenset[str]:
    """VADER's lexicon (sentiment-bearing English words), lower case; empty without the package."""
    try:
        import vaderSentiment

        lex = Path(vaderSentiment.__file__).with_name("vader_lexicon.txt")
        lines = lex.read_text(encoding="utf-8").splitlines()
    except (ImportError, OSError):
        return frozenset()
    return frozenset(token.lower() for token in (line.split("\t", 1)[0] for line in lines) if token.isalpha())


@lru_cache(maxsize=1)
def ordinary_words() -> frozenset[str]:
    """Words that are ordinary English, not names: the lexicons, VADER's lexicon, the seed corpus."""
    words: set[str] = set(lexicon.STOPWORDS) | set(lexicon.COMMON_WORDS) | set(lexicon.NUMBER_WORDS)
    for phrase in (
        *lexicon.MATERIALS, *lexicon.COLOURS, *lexicon.FEATURES, *lexicon.CERTIFICATIONS, *lexicon.FIELD_NAMES,
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
    words: set[str] = set(lexicon.STOPWORDS) | set(lexicon.COMMON_WORDS) | set(lexicon.NUMBER_WORDS)
    words |= set(lexicon.CTA_WORDS) | vader_words()
    return frozenset(_stem(w) for w in words if w.isalpha())


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
_MADE_BEFORE = re.compile(rf"(?:\b({_PART_ALT})s? (?:is |are )?)?\b{_MADE} (?:\d+ ?% )?(?:[a-z-]+ ){{0,2}}$")


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
    return [w for w in re.findall(r"[a-z]+", after) if w not in lexicon.STOPWORDS][:3], after


def _figure_labels(facts: ProductFacts) -> tuple[FigureLabel, ...]:
    """The data's figures by what they are of: attributes (`capacity_kg: 5` -> capacity 5000 g,
    `lan_ports: 4` -> lan ports 4) and the description's counts with the words after them ("four
    gigabit Ethernet ports")."""
    labels: list[FigureLabel] = []
    for key, value in facts.attributes.items():
        parts = key.lower().split("_")
        unit = _key_unit(key)
        # the words before the unit name the attribute: calcium_mg_per_100ml -> {calcium}
        cut = max((i for i, p in enumerate(parts) if p in _KEY_UNITS), default=len(parts))
        named = [p for p in parts[:cut] if p.isalpha() and p not in lexicon.STOPWORDS]
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
    return frozenset(_stem(w) for form in form_group for w in re.split(r"[\s-]+", form))


def own_type_groups(text: str) -> frozenset[int]:
    pattern, form_group = type_pattern()
    return frozenset(form_group[m.group(1).lower()] for m in pattern.finditer(text))


def _stem(word: str) -> str:
    word = word.strip("'-").removesuffix("'s")
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> list[str]:
    return [_stem(w) for w in _CONTENT.findall(fold(text)) if w not in lexicon.STOPWORDS]


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
                unit = _key_unit(key)
                if unit:
                    dim, factor = lexicon.UNITS[unit]
                    measures.setdefault(dim, []).append(float(item) * factor)
                    surfaces.setdefault(dim, []).append(f"{item:g} {unit}")
                else:
                    measures.setdefault(COUNT, []).append(float(item))
            else:
                add_figures(str(item))
            if not _key_unit(key) and not isinstance(value, (list, tuple)):
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
