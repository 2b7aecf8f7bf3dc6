"""Figures in text: "30 hours", "30-hour", "thirty hours", "6 x 30 g", "six-pack", "10,000 mm", "EU 36-46".

One parser serves the product data and the copy, so both sides are normalised the same way: a
value in its dimension's base unit (hours, grams, millilitres, millimetres, …), the raw number as
written, and the surface text. A figure without a unit is a count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.guards.lexicon import NUMBER_WORDS, NUMBER_WORDS_DATA_ONLY, TIGHT_UNITS, UNITS, WORDLIKE_UNITS

COUNT = "count"
PRICE = "price"

_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_UNITS_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_AREA = r"square (?:metres|meters|feet|foot)|sq\.? ?(?:m|ft)|m²"
_PACK = r"(?:-| )?pack\b|-piece\b"


def _word_numbers(words: dict[str, int]) -> str:
    tens = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
    units = "one|two|three|four|five|six|seven|eight|nine"
    simple = "|".join(sorted(words, key=len, reverse=True))
    return rf"(?:a |half a )?(?:(?:{tens})[- ](?:{units})|{simple})"


def _figure_pattern(words: dict[str, int]) -> re.Pattern[str]:
    number = rf"(?:{_DIGITS}|{_word_numbers(words)})"
    return re.compile(
        rf"(?<![\w.,])(?<!\w-)(?P<prefix>[$£€]\s?|(?:EU|UK|US)\s?)?"
        rf"(?<![\w.,])(?<!\w-)(?P<num>{number})(?!\d)(?![\w.,]\d)\+?"  # "110+ years" is a claim of 110 years
        rf"(?:\s?(?:-|–|to)\s?(?P<num2>{number}))?"
        rf"(?P<unit>\s?(?:{_AREA})|{_PACK}|(?:\s|-)?(?:{_UNITS_ALT}))?"
        rf"(?P<after>[a-z]?)",
        re.IGNORECASE,
    )


_COPY_FIGURE = _figure_pattern(NUMBER_WORDS)
_DATA_FIGURE = _figure_pattern({**NUMBER_WORDS, **NUMBER_WORDS_DATA_ONLY})
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_ONES = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_WAIST = re.compile(r"\bW(\d{2})(?:\s?(?:-|–|to)\s?W(\d{2}))?\b")
_SKIP_AFTER = re.compile(r"^(?:-in-\d|/\d|(?:st|nd|rd|th)\b|\s?(?:am|pm)\b|:\d)", re.IGNORECASE)


@dataclass(frozen=True)
class Figure:
    value: float  # in the dimension's base unit
    raw: float  # the number as written
    dim: str  # "time", "mass", …, "count", "price", "eu_size", …
    surface: str
    start: int
    end: int
    low: float | None = None  # for a range "36-46", its lower end (value is the upper)


def parse_number(token: str) -> float | None:
    token = token.strip().lower().replace(",", "")
    if token.startswith("half a "):
        base = parse_number(token[len("half a ") :])
        return None if base is None else base / 2
    if token.startswith("a "):
        token = token[2:]
    try:
        return float(token)
    except ValueError:
        pass
    if token in NUMBER_WORDS:
        return float(NUMBER_WORDS[token])
    if token in NUMBER_WORDS_DATA_ONLY:
        return float(NUMBER_WORDS_DATA_ONLY[token])
    parts = re.split(r"[- ]", token)
    if len(parts) == 2 and parts[0] in _TENS and parts[1] in _ONES:
        return float(_TENS[parts[0]] + _ONES[parts[1]])
    return None


def _unit(unit_text: str, after: str, rest: str) -> tuple[str, float] | None:
    """(dimension, factor) for the unit text matched after a number, or None when it is no unit."""
    unit = unit_text.strip().lstrip("-").strip().lower()
    if not unit:
        return None
    if re.fullmatch(_AREA, unit):
        return ("area", 1.0)
    if unit in ("pack", "piece"):
        return (COUNT, 1.0)
    if after:  # "30 hours" matched "30 h" of "30 hours"? the pattern's longest unit won; a letter after means a word
        return None
    if unit in TIGHT_UNITS and unit_text[:1] in (" ", "-"):
        return None
    # "2 in the box" is no length, but a hyphen makes "in" a unit whatever follows: "a 12-in skillet"
    if unit in WORDLIKE_UNITS and re.match(r"^\s+[a-z]", rest) and not unit_text.startswith("-"):
        return None
    return UNITS.get(unit)


def find_figures(text: str, *, data: bool = False) -> list[Figure]:
    """Every figure in `text`, in order. `data=True` also reads "one" (product data says "one 1 L bottle")."""
    pattern = _DATA_FIGURE if data else _COPY_FIGURE
    out: list[Figure] = []
    for m in pattern.finditer(text):
        rest = text[m.end() :]
        num_end = m.end("num2") if m.group("num2") else m.end("num")
        if _SKIP_AFTER.match(text[num_end:]):
            continue
        if m.start() >= 2 and text[m.start() - 1] == "/" and text[m.start() - 2].isdigit():
            continue  # the 7 of "24/7"
        value = parse_number(m.group("num"))
        if value is None:
            continue
        low = None
        if m.group("num2"):
            high = parse_number(m.group("num2"))
            if high is None:
                continue
            low, value = value, high
        prefix = (m.group("prefix") or "").strip().upper()
        unit_text = m.group("unit") or ""
        unit = _unit(unit_text, m.group("after"), rest) if unit_text else None
        end = m.end("unit") if unit else num_end
        if prefix in ("$", "£", "€"):
            dim, factor = PRICE, 1.0
        elif prefix in ("EU", "UK", "US"):
            dim, factor = f"{prefix.lower()}_size", 1.0
        elif unit:
            dim, factor = unit
        else:
            dim, factor = COUNT, 1.0
            end = num_end
        start = m.start("prefix") if prefix else m.start("num")
        out.append(
            Figure(
                value=value * factor,
                raw=value,
                dim=dim,
                surface=text[start:end].strip(),
                start=start,
                end=end,
                low=None if low is None else low * factor,
            )
        )
    for m in _WAIST.finditer(text):
        low, high = float(m.group(1)), float(m.group(2) or m.group(1))
        out.append(Figure(high, high, "waist", m.group(0), m.start(), m.end(), low if m.group(2) else None))
    return sorted(out, key=lambda f: f.start)
