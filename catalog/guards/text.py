"""Text normalisation shared by the guards: one lower-case, plain-punctuation form of copy and data."""

from __future__ import annotations

import re

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


# Attribute keys name their unit at the end: battery_life_h, weight_g, caffeine_mg_per_serving.
KEY_UNITS = {
    "h": "h", "hours": "h", "min": "min", "days": "days", "weeks": "weeks", "months": "months", "g": "g",
    "mg": "mg", "kg": "kg", "ml": "ml", "l": "l", "mm": "mm", "cm": "cm", "m": "m", "in": "in", "w": "w",
    "mah": "mah", "wh": "wh", "gb": "gb", "tb": "tb", "mbps": "mbps", "gbps": "gbps", "hz": "hz", "khz": "khz",
    "ppi": "ppi", "gsm": "gsm", "ppm": "ppm", "c": "°c", "deg": "deg", "kcal": "kcal", "db": "db", "v": "v",
}  # fmt: skip


def key_unit(key: str) -> str | None:
    for part in reversed(key.lower().split("_")):
        if part in KEY_UNITS:
            return KEY_UNITS[part]
    return None


# A sentence ends at . ! or ? (and any closing quotes) before white space and a capital, a digit or an
# opening quote; decimals ("5.3") stay whole, and so do abbreviations ("approx. 250 g", "Dr. Martens").
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)]*(?=\s+[\"'“‘(]?[A-Z0-9])")
ABBREVIATIONS = frozenset(
    {"approx", "vs", "e.g", "i.e", "no", "nr", "dr", "mr", "mrs", "ms", "st", "inc", "ltd", "co", "corp", "u.s"}
    | {"u.k", "fig", "incl", "excl", "max", "min", "ca", "cf", "est", "vol", "oz", "lb", "lbs", "ft"}
)


def split_sentences(text: str) -> list[str]:
    """Whole sentences in order; the text is their join by single spaces (up to white space)."""
    text = text.strip()
    pieces: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        before = text[start : m.start()].split()
        last = before[-1].lower().rstrip(".") if before else ""
        if m.group(0).startswith(".") and (last in ABBREVIATIONS or (len(last) == 1 and last.isalpha())):
            continue  # "approx. 250 g", "Dr. Martens", "J. Smith": not the end of a sentence
        pieces.append(text[start : m.end()].strip())
        start = m.end()
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]
