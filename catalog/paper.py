"""What the paper (arXiv 2505.23809) recommends per category: the default λ and keyword library.

One home for these facts: the categories migration seeds them, the λ page and the offline
evaluation show the ranges next to our own figures as a sanity check (not as truth).
"""

from __future__ import annotations

# Recommended creativity weight λ per category, as the paper reports it.
PAPER_LAMBDA_RANGES: dict[str, tuple[float, float]] = {
    "FMCG": (0.7, 0.8),
    "Apparel": (0.5, 0.6),
    "Electronics": (0.3, 0.5),
}

# Keyword libraries after the paper's examples (FMCG: urgency; apparel: style; electronics: specs).
PAPER_KEYWORDS: dict[str, list[str]] = {
    "FMCG": ["limited edition", "fresh", "value pack", "today only", "new", "family size", "stock up",
             "while stocks last", "natural", "bestseller"],
    "Apparel": ["sustainably sourced", "style", "fit", "comfort", "timeless", "breathable", "organic cotton",
                "versatile", "tailored", "everyday"],
    "Electronics": ["battery life", "fast charging", "bluetooth", "lightweight", "specs", "noise cancelling",
                    "warranty", "high resolution", "long-lasting", "wireless"],
}  # fmt: skip


def paper_default_lambda(category: str) -> float:
    """The middle of the paper's range (FMCG 0.75, Apparel 0.55, Electronics 0.40)."""
    low, high = PAPER_LAMBDA_RANGES[category]
    return round((low + high) / 2, 2)


def paper_categories_seed(category_model) -> None:
    """Create the paper's three categories where missing (idempotent). Takes the model class so the
    migration can pass its historical model."""
    for name, keywords in PAPER_KEYWORDS.items():
        category_model.objects.get_or_create(
            name=name, defaults={"recommended_lambda": paper_default_lambda(name), "keywords": keywords}
        )
