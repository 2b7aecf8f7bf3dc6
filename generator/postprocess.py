"""Turning a raw completion into copy a marketer could read: pure string functions."""

from __future__ import annotations

import re

from catalog.rules import has_call_to_action
from generator.prompts import CTA_SUFFIXES

_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|absolutely)[!,.]?\s*)?(?:here(?:'s| is| are)\b[^:\n]{0,100}:\s*)",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^\s*(?:product\s+)?(?:description|copy|answer)\s*:\s*", re.IGNORECASE)
_MARKUP = re.compile(r"[*_#`]+|<\|[^|]*\|>")
_HASHTAG = re.compile(r"(?:^|\s)#\w+")
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_QUOTES = "\"'“”‘’"


def clean_generation(text: str) -> str:
    """Strip chat preambles, labels, markup, hashtags and wrapping quotes; keep the first paragraph.

    If the model was cut off mid-sentence by the token budget, drop the unfinished sentence when
    at least one finished sentence remains (a dangling fragment reads worse than shorter copy).
    """
    text = _HASHTAG.sub(" ", text)  # before markup removal, which would turn "#tag" into a word
    text = _MARKUP.sub("", text)
    text = _PREAMBLE.sub("", text)
    text = _LABEL.sub("", text)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    text = paragraphs[0] if paragraphs else ""
    text = _SPACES.sub(" ", text).strip()
    if text.endswith(":"):
        # An announcement of copy that never came ("Here is a version with more detail:").
        return ""
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    text = text.strip(_QUOTES + " ") if text.count('"') == 1 else text
    if text and text[-1] not in ".!?":
        ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        if ends:
            text = text[: ends[-1]].strip()
    return text


def ensure_cta(text: str, *, index: int = 0) -> tuple[str, bool]:
    """(text, appended): add a call to action from `CTA_SUFFIXES` when the text has none."""
    if not text.strip() or has_call_to_action(text):
        return text, False
    if text[-1] not in ".!?":
        text += "."
    return f"{text} {CTA_SUFFIXES[index % len(CTA_SUFFIXES)]}", True


_FIELD_LABEL = re.compile(
    r"\b(?:product(?: brand| category)?|brand|category|price|details|audience|tone|keywords)\s*:", re.IGNORECASE
)


def prompt_echo(text: str) -> bool:
    """True when the model copied the prompt's field block ("Brand: … | Category: …") instead of writing copy."""
    return len(_FIELD_LABEL.findall(text)) >= 2 or text.count("|") >= 2
