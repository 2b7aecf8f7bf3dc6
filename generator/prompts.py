"""Prompt templates for the copy generator: the one readable place where they live.

A prompt is *composite* (the paper's term): product context, the category's keyword library,
a persona/segment, the brand's tone, and one of the paper's two prompt types (call to action,
sentiment modulation), with a few approved examples from the same category as few-shot
demonstrations. Every template below belongs to `PROMPT_VERSION`; change the text → bump the
version, so a generation job records exactly which wording produced its candidates.

Pure module: no Django, no torch. Chat messages are plain dicts so any chat template applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

# v4: v3 + openers naming the product and grounded decoding (generator.openers, generator.constrained)
PROMPT_VERSION = "copy-v4"
PROMPT_VERSION_FACTS_ONLY = "copy-v3"  # v3: the product's facts as the only facts to use
PROMPT_VERSION_WITHOUT_FACTS = "copy-v2"  # v2: learned directives

PROMPT_TYPE_CTA = "cta"
PROMPT_TYPE_SENTIMENT = "sentiment"
PROMPT_TYPES = (PROMPT_TYPE_CTA, PROMPT_TYPE_SENTIMENT)

# Category keyword libraries used when a Category row has no keywords of its own. The first
# three come from the paper (FMCG urgency/"limited edition", apparel style/"sustainably
# sourced", electronics specs/"battery life"); the rest follow the same idea.
DEFAULT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "fmcg": ("limited edition", "fresh", "everyday", "value pack", "stock up", "new flavour", "family size"),
    "apparel": ("sustainably sourced", "style", "comfortable", "tailored fit", "breathable", "versatile"),
    "electronics": ("battery life", "fast charging", "specs", "performance", "wireless", "high resolution"),
    "beauty": ("dermatologist tested", "glow", "hydrating", "cruelty-free", "gentle", "long-lasting"),
    "home": ("durable", "easy to clean", "space-saving", "cosy", "timeless design", "everyday use"),
    "sports": ("lightweight", "performance", "grip", "durable", "training", "breathable"),
}

# A persona/segment per category for when the job does not name one.
DEFAULT_PERSONAS: dict[str, str] = {
    "fmcg": "busy shoppers who restock the household every week",
    "apparel": "style-conscious shoppers who care where their clothes come from",
    "electronics": "tech-savvy buyers who compare specifications",
    "beauty": "shoppers looking for a simple, effective skincare routine",
    "home": "people making their home more comfortable",
    "sports": "active people who train several times a week",
}
FALLBACK_PERSONA = "online shoppers comparing products"

# Sentiment modulation targets, cycled over the candidates of a λ pool.
SENTIMENT_TARGETS = ("warm and upbeat", "enthusiastic", "calm and reassuring")

SYSTEM_TEMPLATE = (
    "You are an e-commerce copywriter. Reply with the product description only: "
    "one to three short sentences, no title, no hashtags, no emojis."
)
# v3: small models invent figures, standards and offers when nothing says where facts come from.
FACTS_RULE = (
    " Use only the facts given for the product: never add a number, material, standard, certification, "
    "brand, feature or offer that is not in them."
)

# λ is the creativity weight: the same number that weighs diversity in the reward also sets
# how freely the prompt asks the model to write, so that a λ sweep moves both ends.
STYLE_BY_CREATIVITY = (
    (0.35, "Keep it plain, clear and factual; lead with the main benefit."),
    (0.65, "Make it fresh and engaging, with concrete claims."),
    (1.01, "Make it bold and original, with a vivid image, still true to the product."),
)

# Small instruct models copy the shape of the conversation more than they follow instructions,
# so the few-shot turns use the same product block as the real request.
PRODUCT_BLOCK = """Product: {title}
Brand: {brand} | Category: {category}{price_part}
{facts_line}"""

USER_TEMPLATE = (
    PRODUCT_BLOCK
    + """Audience: {persona}
Tone: {tone}
Keywords: {keywords}
{style} {type_instruction}{directives} {length_instruction}"""
)

CTA_INSTRUCTION = 'End with a call to action such as "Shop now" or "Order yours today".'
SENTIMENT_INSTRUCTION = "Make the mood {sentiment}."
SENTIMENT_WITH_CTA_INSTRUCTION = SENTIMENT_INSTRUCTION + " End with a call to action."
LENGTH_INSTRUCTION = "At most {max_words} words."

# The closed loop's say in the prompt: when the category's refit conversion predictor has learned
# that a feature matters (|θ| at least LEARNED_DIRECTIVE_MIN on the logit scale), the request asks
# for it. Only features a writer can act on have a directive; the prior's θ of 0 asks for nothing.
LEARNED_DIRECTIVES: dict[str, tuple[int, str]] = {
    # feature: (the sign of θ that triggers it, the instruction)
    "specificity": (1, "Quote a concrete figure from the product details, with its unit."),
    "hype": (-1, "No exclamation marks and no words in capitals."),
}
LEARNED_DIRECTIVE_MIN = 0.15


def learned_directives(coefficients: Mapping[str, float], *, minimum: float = LEARNED_DIRECTIVE_MIN) -> tuple[str, ...]:
    """The instructions a fitted predictor's coefficients call for, in LEARNED_DIRECTIVES order."""
    return tuple(
        text
        for name, (sign, text) in LEARNED_DIRECTIVES.items()
        if sign * float(coefficients.get(name, 0.0)) >= minimum
    )


# Appended when a prompt asked for a call to action and the model wrote none (the paper's
# "CTA embedding", done in post-processing for models too small to follow the instruction
# reliably). Each phrase matches catalog.rules.CTA_PATTERN; candidates record when it happened.
CTA_SUFFIXES = ("Shop now.", "Order yours today.", "Add it to your cart.", "Grab yours today.", "Discover more today.")


@dataclass(frozen=True)
class ProductContext:
    """What the prompt knows about the product, decoupled from the ORM."""

    title: str
    brand: str = ""
    category: str = ""
    price: Decimal | float | str | None = None
    description: str = ""
    attributes: Mapping[str, object] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    tone: str = ""
    # The catalog's other brands: copy that names one of them is not about this product.
    other_brands: tuple[str, ...] = ()

    @property
    def reference_text(self) -> str:
        """The text relevance is measured against: what the product is, not how it is sold.

        The description is left out on purpose: it is usually the control copy, which would
        otherwise score as perfectly relevant and make the comparison with generated copy unfair.
        """
        attrs = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in self.attributes.items())
        return ". ".join(part for part in (self.title, self.category, attrs) if part)


@dataclass(frozen=True)
class FewShotExample:
    title: str
    text: str
    brand: str = ""
    category: str = ""
    price: str = ""
    # The example's own product facts: shown in its product block, so that the example teaches
    # copy that uses the facts it was given (and the guards can check it did).
    description: str = ""
    attributes: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptSpec:
    """One prompt instance: the messages plus what it asked for (stored with each candidate)."""

    messages: tuple[dict[str, str], ...]
    prompt_type: str
    sentiment_target: str = ""
    asks_for_cta: bool = False
    opener: str = ""  # the start of the answer, given to the model to continue (generator.openers)


def category_keywords(category: str, configured: Sequence[str] = ()) -> tuple[str, ...]:
    if configured:
        return tuple(str(k) for k in configured if str(k).strip())
    return DEFAULT_KEYWORDS.get(category.strip().lower(), ())


def default_persona(category: str) -> str:
    return DEFAULT_PERSONAS.get(category.strip().lower(), FALLBACK_PERSONA)


def style_for_lambda(lam: float) -> str:
    for upper, text in STYLE_BY_CREATIVITY:
        if lam < upper:
            return text
    return STYLE_BY_CREATIVITY[-1][1]


def _price_part(price: Decimal | float | str | None) -> str:
    if price in (None, ""):
        return ""
    try:
        return f" | Price: {Decimal(str(price)):.2f}"
    except ArithmeticError:
        return f" | Price: {price}"


def _attributes_line(attributes: Mapping[str, object]) -> str:
    if not attributes:
        return ""
    parts = [f"{key.replace('_', ' ')}: {value}" for key, value in attributes.items() if value not in (None, "")]
    return f"Details: {'; '.join(parts[:6])}\n" if parts else ""


def _facts_line(description: str, attributes: Mapping[str, object]) -> str:
    """v3: the description and every attribute, as the only facts the copy may use."""
    parts = [f"{key.replace('_', ' ')}: {value}" for key, value in attributes.items() if value not in (None, "", False)]
    facts = " ".join(part for part in (description.strip(), "; ".join(parts)) if part)
    return f"Facts: {facts}\n" if facts else ""


def build_messages(
    *,
    product: ProductContext,
    lam: float,
    prompt_type: str,
    sentiment_target: str = "",
    persona: str = "",
    cta_required: bool = False,
    examples: Sequence[FewShotExample] = (),
    max_words: int = 40,
    keyword_offset: int = 0,
    directives: Sequence[str] = (),
    facts_in_prompt: bool = True,
    keywords: Sequence[str] | None = None,
) -> tuple[dict[str, str], ...]:
    """Chat messages for one candidate: system, few-shot turns, then the composite request.

    `keyword_offset` rotates which keywords of the library are offered, so candidates of one
    pool lean on different keywords (cheap diversity that costs no relevance). `keywords`: the
    caller's list (the pipeline passes the ones the product can back), else the category's.
    """
    if prompt_type not in PROMPT_TYPES:
        raise ValueError(f"unknown prompt type {prompt_type!r}; expected one of {PROMPT_TYPES}")
    if prompt_type == PROMPT_TYPE_CTA:
        type_instruction = CTA_INSTRUCTION
    elif cta_required:
        # The brand rejects copy without a CTA, so sentiment prompts must ask for one too.
        type_instruction = SENTIMENT_WITH_CTA_INSTRUCTION.format(sentiment=sentiment_target or SENTIMENT_TARGETS[0])
    else:
        type_instruction = SENTIMENT_INSTRUCTION.format(sentiment=sentiment_target or SENTIMENT_TARGETS[0])
    keywords = tuple(category_keywords(product.category, product.keywords) if keywords is None else keywords)
    if keywords:
        shift = keyword_offset % len(keywords)
        keywords = keywords[shift:] + keywords[:shift]
    user = USER_TEMPLATE.format(
        title=product.title,
        brand=product.brand or "unbranded",
        category=product.category or "general",
        price_part=_price_part(product.price),
        facts_line=(
            _facts_line(product.description, product.attributes)
            if facts_in_prompt
            else _attributes_line(product.attributes)
        ),
        persona=persona or default_persona(product.category),
        tone=product.tone or "friendly and trustworthy",
        keywords=", ".join(f'"{k}"' for k in keywords[:3]) if keywords else "none in particular",
        style=style_for_lambda(lam),
        type_instruction=type_instruction,
        directives="".join(f" {d}" for d in directives),
        length_instruction=LENGTH_INSTRUCTION.format(max_words=max_words),
    )
    system = SYSTEM_TEMPLATE + (FACTS_RULE if facts_in_prompt else "")
    messages: list[dict[str, str]] = [{"role": "system", "content": system}]
    for example in examples:
        block = PRODUCT_BLOCK.format(
            title=example.title,
            brand=example.brand or "unbranded",
            category=example.category or product.category or "general",
            price_part=_price_part(example.price),
            facts_line=_facts_line(example.description, example.attributes) if facts_in_prompt else "",
        )
        messages.append({"role": "user", "content": block.strip()})
        messages.append({"role": "assistant", "content": example.text})
    messages.append({"role": "user", "content": user})
    return tuple(messages)


def prompt_plan(count: int) -> list[tuple[str, str]]:
    """(prompt type, sentiment target) for each of `count` candidates of one λ pool.

    Alternates the paper's two prompt types so every pool mixes CTA-led and sentiment-led copy,
    and cycles the sentiment targets so sentiment prompts differ from each other.
    """
    plan: list[tuple[str, str]] = []
    sentiment_index = 0
    for i in range(count):
        if i % 2 == 0:
            plan.append((PROMPT_TYPE_CTA, ""))
        else:
            plan.append((PROMPT_TYPE_SENTIMENT, SENTIMENT_TARGETS[sentiment_index % len(SENTIMENT_TARGETS)]))
            sentiment_index += 1
    return plan


def build_prompts(
    *,
    product: ProductContext,
    lam: float,
    count: int,
    persona: str = "",
    cta_required: bool = False,
    examples: Sequence[FewShotExample] = (),
    max_words: int = 40,
    directives: Sequence[str] = (),
    facts_in_prompt: bool = True,
    keywords: Sequence[str] | None = None,
) -> list[PromptSpec]:
    return [
        PromptSpec(
            messages=build_messages(
                product=product,
                lam=lam,
                prompt_type=prompt_type,
                sentiment_target=target,
                persona=persona,
                cta_required=cta_required,
                examples=examples,
                max_words=max_words,
                keyword_offset=index,
                directives=directives,
                facts_in_prompt=facts_in_prompt,
                keywords=keywords,
            ),
            prompt_type=prompt_type,
            sentiment_target=target,
            asks_for_cta=prompt_type == PROMPT_TYPE_CTA or cta_required,
        )
        for index, (prompt_type, target) in enumerate(prompt_plan(count))
    ]


def max_words_for(max_length_chars: int) -> int:
    """A word budget that leaves room under the brand's character limit (≈ 6 characters/word)."""
    if not max_length_chars:
        return 40
    return max(8, min(60, int(max_length_chars / 6.5)))
