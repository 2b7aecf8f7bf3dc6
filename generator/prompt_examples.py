"""Built-in few-shot examples per category, for a category with no approved copy of its own yet,
each with the facts its copy may use (split from `generator.prompts`; part of its prompt version).
"""

from __future__ import annotations

from generator.prompts import FewShotExample

# Built-in few-shot examples, used only when neither approved copy of the category nor the
# seed corpus offers any: (title, brand, category, copy).
BUILTIN_EXAMPLES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "fmcg": (
        (
            "Sparkling Lemon Water 12-Pack",
            "Fizzwell",
            "FMCG",
            "Crisp bubbles and a squeeze of real lemon, with zero sugar. Twelve cans for the week. Stock up today!",
        ),
        (
            "Oat Cookies Family Size",
            "Crumbhouse",
            "FMCG",
            "Golden oat cookies baked with brown sugar, now in a family size tin. Order yours today.",
        ),
    ),
    "apparel": (
        (
            "Organic Cotton Crew T-Shirt",
            "Loomline",
            "Apparel",
            "Soft, breathable organic cotton in a relaxed fit for every day. Sustainably sourced. Shop now.",
        ),
        (
            "Merino Wool Beanie",
            "Northknit",
            "Apparel",
            "Warm merino wool that never itches, in five timeless colours. Find your favourite today.",
        ),
    ),
    "electronics": (
        (
            "Wireless Noise Cancelling Headphones",
            "Soundcraft",
            "Electronics",
            "Block out the commute with active noise cancelling and 40 hours of battery life. Order yours today.",
        ),
        (
            "USB-C Fast Charger 65 W",
            "Voltbox",
            "Electronics",
            "Charge your laptop and phone at full speed from one compact brick. Add it to your cart now.",
        ),
    ),
}
BUILTIN_GENERIC = (
    (
        "Stainless Steel Water Bottle 750 ml",
        "Everfill",
        "Home",
        "Keeps drinks cold for 24 hours and fits every cup holder. Grab yours today.",
    ),
)


# What each built-in example's copy is allowed to say (by title).
BUILTIN_FACTS: dict[str, str] = {
    "Sparkling Lemon Water 12-Pack": "12 cans of sparkling water with real lemon juice and zero sugar.",
    "Oat Cookies Family Size": "Golden oat cookies baked with brown sugar, in a family size tin.",
    "Organic Cotton Crew T-Shirt": "Breathable 100% organic cotton, relaxed fit, sustainably sourced.",
    "Merino Wool Beanie": "Merino wool beanie that does not itch, in five colours.",
    "Wireless Noise Cancelling Headphones": "Active noise cancelling headphones with 40 hours of battery life.",
    "USB-C Fast Charger 65 W": "Compact 65 W USB-C charger that charges a laptop and a phone at full speed.",
    "Stainless Steel Water Bottle 750 ml": "Keeps drinks cold for 24 hours and fits every cup holder.",
}


def builtin_examples(category: str) -> list[FewShotExample]:
    rows = BUILTIN_EXAMPLES.get(category.strip().lower(), BUILTIN_GENERIC)
    return [
        FewShotExample(title=t, brand=b, category=c, text=x, description=BUILTIN_FACTS.get(t, ""))
        for t, b, c, x in rows
    ]
