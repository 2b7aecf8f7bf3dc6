"""Brand rules: the checks a piece of copy must pass before it may be shown to visitors.

Pure functions (no ORM) so that the generator's reranker and the experiment lifecycle share
one definition of "compliant".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Imperative openings and stock phrases that ask the visitor to act. Kept deliberately small
# and readable; the generator's CTA scorer counts matches of the same pattern.
CTA_PHRASES = (
    r"shop (?:now|today|the \w+)",
    r"buy (?:now|today|yours|it)",
    r"order (?:now|today|yours)",
    r"add (?:it )?to (?:your )?(?:cart|basket|bag)",
    r"get (?:yours|it|one|started)",
    r"grab (?:yours|one|it|a \w+)",
    r"try (?:it|them|one)(?: \w+)?(?: today| now)?",
    r"discover (?:the|more|it|yours|how)",
    r"explore (?:the|more)",
    r"don'?t miss (?:out)?",
    r"limited (?:time|stock|edition)",
    r"while (?:stocks?|supplies) last",
    r"upgrade (?:now|today|your)",
    r"treat yourself",
    r"stock up",
    r"claim yours",
    r"find your",
    r"pick (?:up )?(?:yours|one)",
    r"see (?:the|more|why)",
)
# Copy often closes with an imperative the stock phrases cannot list ("Reserve your six-pack
# before it sells out.", "Browse the new arrivals.", "…, so act fast."): a last sentence (or its
# clause after ", so") that opens with one of these verbs counts as a call to action too. Verbs that
# merely describe a benefit ("Enjoy…", "Feel…") are left out on purpose.
#
# Many of these verbs are also nouns ("Order history…", "Stock is limited.", "Gift box
# included."), so they count only when an object or a particle follows, as in an imperative:
CTA_VERBS = (
    "order", "pre-order", "buy", "add", "get", "grab", "snag", "pick", "try", "test", "sample", "taste",
    "request", "start", "discover", "explore", "browse", "shop", "see", "check", "meet", "compare", "learn",
    "find", "peek", "reserve", "secure", "claim", "stock", "restock", "fill", "pop", "treat", "upgrade",
    "catch", "join", "book", "subscribe", "save", "choose", "swap", "switch", "gift", "visit", "unlock",
    "wear", "lace", "snap", "lock",
)  # fmt: skip
CTA_OBJECTS = (
    "your", "yours", "yourself", "the", "a", "an", "one", "two", "it", "them", "this", "these", "that", "those",
    "some", "our", "more", "all", "every", "each", "now", "today", "up", "in", "out", "on", "at", "before",
    "while", "with", "which", "what", "how", "why", "where", r"\d",
)  # fmt: skip
# ...while these phrases are imperatives whole.
CTA_CLOSERS = (
    "act fast", "act now", "hurry", "dive in", "don['’]?t wait", "don['’]?t delay", "sign up",
    "give (?:it|them|us) (?:a|an|another)",
)  # fmt: skip
_SENTENCE_START = (
    # after the end of a sentence (one to three spaces or line breaks: look-behinds have a fixed
    # width) or after ", so"; a closer, so never the copy's only sentence
    r"(?:(?<=[.!?]\s)|(?<=[.!?]\s\s)|(?<=[.!?]\s\s\s)|(?<=,\sso\s))"
)
_LAST_SENTENCE = r"(?![\s\S]*[.!?]+[\"'”’)]*\s+[A-Z])"  # no sentence starts after it (decimals, "!!", quotes are fine)
_CLOSING_IMPERATIVE = (
    _SENTENCE_START
    + r"(?:(?:"
    + "|".join(CTA_VERBS)
    + r")\s+(?:"
    + "|".join(CTA_OBJECTS)
    + r")|(?:"
    + "|".join(c.replace(" ", r"\s+") for c in CTA_CLOSERS)
    + r"))\b(?![-'’])"
    + _LAST_SENTENCE
)
CTA_PATTERN = re.compile(r"\b(?:" + "|".join(CTA_PHRASES) + r")\b|" + _CLOSING_IMPERATIVE, re.IGNORECASE)
_WORD = re.compile(r"[\w'-]+", re.UNICODE)


def cta_matches(text: str) -> list[str]:
    return [m.group(0) for m in CTA_PATTERN.finditer(text)]


def has_call_to_action(text: str) -> bool:
    return CTA_PATTERN.search(text) is not None


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


@dataclass(frozen=True)
class Guideline:
    """The brand rules in plain data, decoupled from the ORM model that stores them."""

    tone: str = ""
    forbidden_words: tuple[str, ...] = ()
    max_length: int = 0  # characters; 0 = no limit
    cta_required: bool = False
    min_length: int = 20


@dataclass(frozen=True)
class Compliance:
    violations: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.violations


def check_copy(text: str, guideline: Guideline | None) -> Compliance:
    """Every rule the text breaks, each as a sentence a marketer can act on."""
    problems: list[str] = []
    stripped = text.strip()
    if not stripped:
        return Compliance(("copy is empty",))
    guideline = guideline or Guideline()
    if len(stripped) < guideline.min_length:
        problems.append(f"copy is shorter than {guideline.min_length} characters")
    if guideline.max_length and len(stripped) > guideline.max_length:
        problems.append(f"copy is {len(stripped)} characters, over the brand's limit of {guideline.max_length}")
    lowered_words = {w.lower() for w in _WORD.findall(stripped)}
    for word in guideline.forbidden_words:
        needle = word.strip().lower()
        if not needle:
            continue
        hit = needle in lowered_words if " " not in needle else needle in stripped.lower()
        if hit:
            problems.append(f"copy uses the forbidden word {word!r}")
    if guideline.cta_required and not has_call_to_action(stripped):
        problems.append("the brand requires a call to action and the copy has none")
    return Compliance(tuple(problems))
