"""Openers: the first words of the assistant's turn, naming the product, for the model to continue.

A 135M model asked for product copy writes about the product in about one sample of ten; the rest
drift to companies, other products or nothing at all (stop 18's reading: 5 of 5 selected texts
unpublishable). Starting its answer with the product's name ("The Ribbed Merino Beanie") is the
cheapest steer there is: the model continues a sentence about the product instead of choosing a
subject. This is response priming (an assistant-turn prefill), part of the prompt like the
few-shot turns; the opener is kept in the copy, and the rest of every candidate is sampled.

Openers rotate over a pool's candidates so that they do not all begin alike. Above
`FREE_FROM_LAMBDA` every other candidate gets none, so creative arms keep openings of the model's
own choosing (and their diversity).

Pure module: no Django, no torch.
"""

from __future__ import annotations

import re

FREE_FROM_LAMBDA = 0.65

# {name}: the product's short name; {brand}: its brand. No closing punctuation: the model goes on.
OPENERS = (
    "The {name}",
    "Meet the {name}",
    "{brand}'s {name}",
    "This {name}",
    "With the {name}",
    "Our {name}",
)

_SIZE = re.compile(
    r"\s*(?:\b\d+(?:[.,]\d+)?\s?(?:x\s?\d+(?:[.,]\d+)?\s?)?(?:ml|l|g|kg|cl|oz|m|cm|mm|mah|w|inch|in)\b"
    r"|\b\d+\s?x\s?\d+.*$|\b\d+-pack\b|\btwin pack\b|\bpack of \w+\b)",
    re.IGNORECASE,
)


def short_name(title: str) -> str:
    """The title without its size and pack ("Barista Oat Drink 1 L" → "Barista Oat Drink")."""
    name = _SIZE.sub("", title).strip(" -,")
    return name or title.strip()


def opener_for(*, title: str, brand: str, index: int, lam: float) -> str:
    """The opener of the `index`-th candidate of a pool at creativity λ ("" for none)."""
    if lam >= FREE_FROM_LAMBDA and index % 2 == 1:
        return ""
    templates = [t for t in OPENERS if brand.strip() or "{brand}" not in t]
    template = templates[index % len(templates)]
    return template.format(name=short_name(title), brand=brand.strip())
