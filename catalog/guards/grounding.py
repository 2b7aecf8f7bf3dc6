"""Grounding guard: every checkable claim in the copy must come from the product's own data.

What counts as a checkable claim (each found by its own extractor, checked against `FactIndex`):

- figures, with or without units ("30 hours", "30-hour", "thirty hours", "6 x 30 g", "six-pack",
  "10,000 mm", "EU 36-46", "$24"): the value, normalised to its dimension's base unit, must be
  in the data (a week is 168 hours, 1 kg is 1000 g); a count must be a number the data states.
  Another value of the same dimension makes it a contradiction, and the message names the data's
  value: `unsupported claim: "17 hours" (product data: 30 hours)`;
- standards and model names (Bluetooth 5.3, USB-C, IPX7, HDMI 2.1, Wi-Fi 6, 4K …), compared by
  family and version; any other all-caps acronym ("HDLC", "ECG") must appear in the data;
- ingredients, flavours and scents of FMCG products ("cocoa" in ground coffee, "vanilla");
- materials and fibre shares ("98% cotton"), colours (apparel and electronics only: in food and
  household copy colour words name flavours and scents), letter and numeric sizes (within the
  data's range);
- certifications and dietary, health and environmental claims (organic, vegan, GOTS, fair trade,
  phosphate-free, gluten-free, clinically proven, eco-friendly, sustainably sourced …). Note that
  "sustainably sourced" and "eco-friendly" need evidence (recycled, organic, certified …) even
  though the apparel keyword library suggests the phrase: unsupported green claims are exactly
  what regulators fine;
- features a product has only when its data says so (Bluetooth, battery, rechargeable, fast
  charging, waterproof, app, display …), with the implications the data licenses (an IP67 rating
  is water resistance; "per charge" is a rechargeable battery; IPX4 is *not* waterproof);
- abilities the copy implies without naming a feature ("keeps you dry", "keeps your drinks
  cold", "blocks out noise", "weatherproof", "odour-resistant", "kills germs", "safe for
  babies"): each needs the evidence of that ability, not of a neighbouring one (a waterproof
  speaker does not keep its owner dry);
- misattributed facts: a fact the data states of one part or attribute said of another or of
  the whole product ("made from recycled plastic" for a washing-up liquid whose *bottle* is;
  "5 kg precision" for a scale of 5 kg capacity and 1 g precision);
- names: well-known brands, camel-case product names ("MacBook"), and capitalised words that are
  neither in the product data nor ordinary English. A capitalised word that opens a sentence is
  taken as ordinary unless it is part of a run of capitalised words with another unknown one
  ("Nocturnal Lux"), has a possessive, or a "-style"/"-engineered" suffix: sentence-initial
  capitals are the commonest false positive, and a run of them is the commonest invented name.

Superlative policy. Generic puffery that no reader takes as a measurable fact is allowed: "the
best", "amazing", "perfect", "ultimate", "our most delicious yet". Claims that rank or compare
the product against others, or imply a test, are checkable and need the data's support:
"#1", "number one", "best-selling", "top-rated", "award-winning", "clinically proven",
"recommended by dentists", "50% more", "2x faster", "longer than other …", and measurable
superlatives ("the lightest", "the fastest", "longest-lasting", "on the market").
"""

from __future__ import annotations

import re
from functools import lru_cache

from catalog.guards import lexicon
from catalog.guards.facts import FIBRE_SHARE, LETTER_RANGE, FactIndex, find_standards, size_rank
from catalog.guards.figures import COUNT, find_figures
from catalog.guards.misattribution import misattributed_claims
from catalog.guards.text import fold
from catalog.guards.types import GROUNDING, Claim, Finding
from catalog.guards.vocabulary import is_ordinary


def _compile(patterns: dict[str, tuple[str, str]]) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    return tuple(
        (name, re.compile(rf"(?<![\w-])(?:{copy})(?![\w])", re.IGNORECASE), ev) for name, (copy, ev) in patterns.items()
    )


_CERTS = _compile(lexicon.CERTIFICATIONS)
_FEATURES = _compile(lexicon.FEATURES)
_ABILITIES = _compile(lexicon.ABILITIES)
_COMPARATIVE = re.compile("|".join(lexicon.COMPARATIVES), re.IGNORECASE)
_MATERIAL = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(m) for m in sorted(lexicon.MATERIALS, key=len, reverse=True)) + r")(?![\w-])"
    + "|" + lexicon.DOWN_MATERIAL,
    re.IGNORECASE,
)  # fmt: skip
_COLOUR = re.compile(
    r"(?<![\w])(" + "|".join(re.escape(c) for c in sorted(lexicon.COLOURS, key=len, reverse=True)) + r")(?![\w-])",
    re.IGNORECASE,
)
_INGREDIENT = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(i) for i in sorted(lexicon.INGREDIENTS, key=len, reverse=True)) + r")(?![\w-])",
    re.IGNORECASE,
)
_SIZE_SINGLE = re.compile(r"\b(XXS|XS|XXXL|XXL|XL|[2-5]XL)\b|(?i:\bsizes?\s)(S|M|L)\b")
_ONE_SIZE = re.compile(r"\bone[- ]size\b", re.IGNORECASE)
# A choice of sizes is a claim too: a one-size beanie does not "come in a variety of sizes".
_SIZE_CHOICE = re.compile(
    r"\b(?:(?:wide |full |great )?(?:variety|range|choice|selection) of (?:different )?sizes|(?:different|several|"
    r"multiple|many|all|various|every) sizes|sizes? (?:for|to fit) (?:everyone|everybody|all)|comes? in \w+ sizes|"
    r"(?:choose|pick|select) (?:from )?(?:a|any|your|the) sizes?|any size you)\b",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'’&-]*[A-Za-z0-9]|[A-Za-z]")
_BRAND_SET = frozenset(lexicon.KNOWN_BRANDS)
COINED_MIN_LETTERS = 14  # shorter unknown openers are too often real words the vocabulary lacks ("Compatible")


def _overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in taken)


def _fmt_data(index: FactIndex, dim: str) -> str:
    seen = index.surfaces.get(dim, ())
    return ", ".join(seen[:3])


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“‘(")
    return not before or before[-1] in ".!?:;\n•|"


def _figure_claims(text: str, index: FactIndex, taken: list[tuple[int, int]]) -> list[Claim]:
    claims = []
    for fig in find_figures(text):
        if _overlaps(fig.start, fig.end, taken):
            continue
        if fig.dim == COUNT:
            ok = index.has_number(fig.raw) or index.has_measure(COUNT, fig.raw)
            ok = ok and (fig.low is None or index.has_number(fig.low) or index.has_measure(COUNT, fig.low))
        else:
            ok = index.has_measure(fig.dim, fig.value) and (fig.low is None or index.has_measure(fig.dim, fig.low))
        detail = "" if ok or fig.dim == COUNT else _fmt_data(index, fig.dim)
        claims.append(Claim("figure", fig.surface, fig.start, fig.end, ok, detail))
    return claims


def extract_claims(text: str, index: FactIndex) -> list[Claim]:
    """Every checkable claim in `text`, each marked supported or not by the product's data."""
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []
    lowered_data = index.text

    def add(claim: Claim) -> None:
        claims.append(claim)
        taken.append((claim.start, claim.end))

    for m in _COMPARATIVE.finditer(text):
        add(Claim("comparative", m.group(0), m.start(), m.end(), fold(m.group(0)) in lowered_data))
    masked = text
    for std in find_standards(text):
        versions = index.standards.get(std.family)
        if std.family == "usb" and not std.version:
            ok = any(f.startswith("usb") for f in index.standards)
        elif versions is None:
            ok = False
        else:
            ok = not std.version or std.version in versions
        detail = ""
        if not ok and versions:
            shown = sorted(v for v in versions if v)
            detail = ", ".join(f"{std.family} {v}" for v in shown)
        if not _overlaps(std.start, std.end, taken):
            claims.append(Claim("standard", std.surface, std.start, std.end, ok, detail))
        taken.append((std.start, std.end))
        masked = masked[: std.start] + " " * (std.end - std.start) + masked[std.end :]

    for kind, table in (("certification", _CERTS), ("feature", _FEATURES), ("ability", _ABILITIES)):
        for _name, pattern, evidence in table:
            for m in pattern.finditer(text):
                if _overlaps(m.start(), m.end(), taken):
                    continue
                # Supported by its evidence, or by the product's data saying the same words.
                ok = index.mentions(evidence) or pattern.search(index.facts.text()) is not None
                add(Claim(kind, m.group(0), m.start(), m.end(), ok))

    for m in FIBRE_SHARE.finditer(masked):
        share = (float(m.group(1)), fold(m.group(2)).strip())
        ok = share in index.fibre_shares
        detail = ", ".join(f"{p:g}% {mat}" for p, mat in sorted(index.fibre_shares)) if not ok else ""
        add(Claim("fibre_share", m.group(0), m.start(), m.start() + len(m.group(1)) + 1, ok, detail))
        taken[-1] = (m.start(), m.end(1) + 1)  # the material itself is checked below
        masked = masked[: m.start()] + " " * (m.end(1) + 1 - m.start()) + masked[m.end(1) + 1 :]

    for m in LETTER_RANGE.finditer(text):
        lo, hi = size_rank(m.group(1)), size_rank(m.group(2))
        ok = any(a <= lo and hi <= b for a, b in index.letter_ranges)
        add(Claim("size", m.group(0), m.start(), m.end(), ok))
    for m in _SIZE_SINGLE.finditer(text):
        if _overlaps(m.start(), m.end(), taken):
            continue
        rank = size_rank(m.group(1) or m.group(2))
        ok = any(a <= rank <= b for a, b in index.letter_ranges)
        add(Claim("size", m.group(0), m.start(), m.end(), ok))
    for m in _ONE_SIZE.finditer(text):
        add(Claim("size", m.group(0), m.start(), m.end(), index.mentions(r"one size")))
    for m in _SIZE_CHOICE.finditer(text):
        one_size = index.mentions(r"one size")
        # "sizes", not "size": a pack size ("size": "1 L") is one size, a range ("sizes": "XS-XXL") a choice.
        ok = index.mentions(r"\bsizes\b") and not one_size
        add(Claim("size", m.group(0), m.start(), m.end(), ok, "one size" if one_size else ""))

    for claim in _figure_claims(masked, index, taken):
        add(claim)

    for m in _MATERIAL.finditer(text):
        if _overlaps(m.start(), m.end(), taken):
            continue
        core = fold(m.group(1) or "down")
        add(Claim("material", m.group(0), m.start(), m.end(), core in lowered_data))

    if index.facts.category.lower() in ("apparel", "electronics"):
        lowered = text.lower()
        for m in _COLOUR.finditer(text):
            if _overlaps(m.start(), m.end(), taken):
                continue
            if any(
                idiom in lowered[max(0, m.start() - 20) : m.end() + 20] and m.group(0).lower() in idiom
                for idiom in lexicon.COLOUR_IDIOMS
            ):
                continue
            add(Claim("colour", m.group(0), m.start(), m.end(), fold(m.group(0)) in lowered_data))

    if index.facts.category.strip().lower() == "fmcg":
        for m in _INGREDIENT.finditer(text):
            if not _overlaps(m.start(), m.end(), taken):
                word = fold(m.group(0)).rstrip("s")
                add(Claim("ingredient", m.group(0), m.start(), m.end(), word[:5] in lowered_data))

    claims.extend(_name_claims(text, index, taken))
    claims.extend(misattributed_claims(text, index))
    return sorted(claims, key=lambda c: c.start)


def _in_data(token: str, index: FactIndex) -> bool:
    word = token.lower().replace("’", "'").removesuffix("'s")
    if word in index.tokens:
        return True
    parts = [p for p in re.split(r"[-&]", word) if p]
    return bool(parts) and all(p in index.tokens or is_ordinary(p) for p in parts) and parts[0] in index.tokens


def _name_claims(text: str, index: FactIndex, taken: list[tuple[int, int]]) -> list[Claim]:
    claims: list[Claim] = []
    for brand in index.other_brands:
        for m in re.finditer(rf"\b{re.escape(brand)}\b", text):
            claims.append(Claim("name", m.group(0), m.start(), m.end(), False))
            taken.append((m.start(), m.end()))
    # Placeholders ("[Your Email Address]") are the publishability guard's; they are not names.
    taken = taken + [(m.start(), m.end()) for m in re.finditer(r"\[[^\]]*\]|\{[^}]*\}|<[^>]*>", text)]
    run: list[tuple[re.Match[str], bool, bool]] = []  # (token, unknown, initial)

    def flush() -> None:
        if not run:
            return
        unknown_after_first = any(unknown for _, unknown, _ in run[1:])
        first_m, first_unknown, first_initial = run[0]
        flagged = unknown_after_first or (first_unknown and not first_initial)
        if flagged:
            start, end = first_m.start(), run[-1][0].end()
            if first_initial and not first_unknown:  # "The Nocturnal Lux": leave the ordinary opener out
                start = run[1][0].start()
            claims.append(Claim("name", text[start:end], start, end, False))
        run.clear()

    last_end = -1
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if _overlaps(m.start(), m.end(), taken):
            flush()
            continue
        base = tok.replace("’", "'").removesuffix("'s")
        head, _, suffix = base.partition("-")
        # camelCase and odd mixes ("MacBook", "iPhone", "VIPzx"); an acronym's plural ("USBs") is not one.
        is_camel = bool(
            re.fullmatch(r"[a-z]+[A-Z][A-Za-z0-9]*|[A-Z][a-z]+[A-Z][A-Za-z0-9]*|[A-Z]{2,}[a-z][A-Za-z]*", head)
        ) and not re.fullmatch(r"[A-Z]{2,}s", head)
        if (base in _BRAND_SET or head in _BRAND_SET) and not _in_data(head, index):
            flush()
            claims.append(Claim("name", tok, m.start(), m.end(), False))
            continue
        if re.fullmatch(r"[A-Z][A-Z0-9]+", head) and any(c.isalpha() for c in head):
            flush()
            if head not in lexicon.HARMLESS_ACRONYMS and not _in_data(head, index):
                claims.append(Claim("acronym", tok, m.start(), m.end(), False))
            continue
        if is_camel:
            flush()
            # As the data writes it: "sizeS" is no spelling of the data's "sizes".
            if tok not in index.facts.text():
                claims.append(Claim("name", tok, m.start(), m.end(), False))
            continue
        if not tok[0].isupper():
            flush()
            continue
        if run and text[last_end : m.start()].strip():
            flush()
        initial = _sentence_initial(text, m.start())
        if initial:
            flush()
        unknown = not _in_data(tok, index) and not is_ordinary(base)
        # An opener that is no English word and long ("Phosphoparathane") is an invented name too.
        coined = len(base) >= COINED_MIN_LETTERS and base.isalpha()
        if initial and unknown and (suffix.lower() in lexicon.NAME_SUFFIXES or base != tok or coined):
            claims.append(Claim("name", tok, m.start(), m.end(), False))
            last_end = m.end()
            continue
        run.append((m, unknown, initial))
        last_end = m.end()
    flush()
    return claims


_CODES = {
    "figure": "unsupported_figure",
    "standard": "unsupported_standard",
    "acronym": "unsupported_standard",
    "fibre_share": "unsupported_fibre_share",
    "material": "unsupported_material",
    "ingredient": "unsupported_ingredient",
    "colour": "unsupported_colour",
    "size": "unsupported_size",
    "certification": "unsupported_certification",
    "feature": "unsupported_feature",
    "comparative": "comparative_claim",
    "name": "unsupported_name",
    "ability": "unsupported_ability",
    "misattributed": "misattributed_claim",
}


def grounding_findings(claims: list[Claim]) -> tuple[Finding, ...]:
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for claim in claims:
        if claim.supported or (claim.kind, claim.text.lower()) in seen:
            continue
        seen.add((claim.kind, claim.text.lower()))
        code = _CODES[claim.kind]
        if claim.detail and claim.kind in ("figure", "standard", "fibre_share"):
            code = code.replace("unsupported", "contradicted")
        message = f'unsupported claim: "{claim.text}"'
        if claim.kind == "misattributed":
            message = f'misattributed claim: "{claim.text}" (product data: {claim.detail})'
        elif claim.detail:
            message += f" (product data: {claim.detail})"
        elif claim.kind == "comparative":
            message += " (a ranking or comparison the product data does not make)"
        elif claim.kind == "name":
            message += " (a name that is not in the product data)"
        elif claim.kind == "ability":
            message += " (an ability the product data does not state)"
        findings.append(Finding(GROUNDING, code, message, claim.text))
    return tuple(findings)


def grounding_check(text: str, index: FactIndex) -> tuple[Finding, ...]:
    return grounding_findings(extract_claims(text, index))


@lru_cache(maxsize=1)
def _warm() -> bool:
    from catalog.guards.vocabulary import ordinary_words

    ordinary_words()
    return True
