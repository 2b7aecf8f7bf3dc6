"""The simulator's hidden ground truth: how shoppers of a category respond to a piece of copy.

This module is the "world" of the text-aware traffic simulator (`simulate_traffic --model
text`). It must stay independent of the generator: its features are computed by its own code
(its own CTA list, its own sentiment lexicon, its own notion of specificity), and nothing under
`generator/` imports it, so the conversion predictor can only learn these effects from logged
outcomes, never by reading them. Pure Python, seeded, no Django.

Per impression, for copy x shown on day d in category c:

    logit CTR = a_c + Σ_f β_c,f · f(x) + u(x) + w_c(weekday(d))
    logit CVR = b_c + Σ_f γ_c,f · f(x) + u(x) + w_c(weekday(d))

with features f: `length_fit` (1 inside the category's preferred word range, decaying outside),
`cta` (0/1: an imperative such as "shop now", "add to cart"), `specificity` (numbers, units,
percentages; saturating at 3), `sentiment` (lexicon score in [−1, 1]), `hype` (exclamation
marks and all-caps words: it costs trust, more so in Electronics) and `keywords` (hits of the
category's own word list, saturating at 2). u(x) is a per-copy effect drawn once from a
normal distribution seeded by the text and the model seed (what no feature explains), and
w_c the weekday effect (weekends convert more in FMCG and Apparel, less in Electronics).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from simulator.traffic import ArmTruth

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?\s*(?:%|mah|mm|cm|ml|l|g|kg|gb|tb|hz|w|h|hours?|days?|x|-?pack)?\b", re.I)
_CTA = re.compile(
    r"\b(shop now|buy now|order now|order today|add to (?:your )?(?:cart|basket)|get yours|grab (?:yours|one|it)|"
    r"try (?:it|them) (?:today|now)|discover|shop the|don'?t miss|treat yourself|upgrade (?:now|today))\b",
    re.I,
)
# A small hand-made lexicon (deliberately not VADER, which the generator uses).
_POSITIVE = frozenset(
    [
        "love",
        "loved",
        "lovely",
        "great",
        "best",
        "perfect",
        "fresh",
        "delicious",
        "soft",
        "comfortable",
        "comfy",
        "premium",
        "reliable",
        "powerful",
        "smooth",
        "easy",
        "effortless",
        "bright",
        "crisp",
        "rich",
        "light",
        "durable",
        "fast",
        "happy",
        "joy",
        "beautiful",
        "gorgeous",
        "favourite",
        "favorite",
        "trusted",
        "clean",
        "cozy",
        "cosy",
        "elegant",
        "stunning",
        "amazing",
        "wonderful",
        "delight",
        "delightful",
        "superb",
        "pure",
        "natural",
        "sustainable",
    ]
)
_NEGATIVE = frozenset(
    [
        "bad",
        "worst",
        "boring",
        "cheap",
        "flimsy",
        "hard",
        "difficult",
        "heavy",
        "slow",
        "noisy",
        "dull",
        "problem",
        "problems",
        "worry",
        "worries",
        "stress",
        "tired",
        "hate",
        "sad",
        "broken",
        "weak",
        "mess",
        "messy",
        "annoying",
    ]
)
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "FMCG": ("fresh", "limited", "today", "family", "pack", "natural", "save", "taste", "everyday"),
    "Apparel": ("style", "fit", "sustainably", "cotton", "wear", "look", "fabric", "comfort", "season"),
    "Electronics": ("battery", "hours", "wireless", "fast", "charge", "sound", "warranty", "specs", "display"),
}
FEATURES = ("length_fit", "cta", "specificity", "sentiment", "hype", "keywords")


@dataclass(frozen=True)
class CategoryTruth:
    """One category's hidden response: intercepts, slopes per feature, word range, weekday effects."""

    ctr_intercept: float
    cvr_intercept: float
    ctr_slopes: dict[str, float]
    cvr_slopes: dict[str, float]
    words: tuple[int, int]
    weekday: tuple[float, ...]  # Monday … Sunday, on the logit scale


def _by_feature(*slopes: float) -> dict[str, float]:
    """A slope per feature, given in the order of FEATURES (one for each, or ValueError)."""
    return dict(zip(FEATURES, slopes, strict=True))


# Slopes in the order of FEATURES: length_fit, cta, specificity, sentiment, hype, keywords.
DEFAULT_TRUTHS: dict[str, CategoryTruth] = {
    # FMCG: short, upbeat, urgent copy with a call to action sells.
    "FMCG": CategoryTruth(
        ctr_intercept=-2.75,
        cvr_intercept=-3.75,
        ctr_slopes=_by_feature(0.25, 0.30, 0.05, 0.35, 0.0, 0.15),
        cvr_slopes=_by_feature(0.30, 0.45, 0.10, 0.40, -0.05, 0.20),
        words=(8, 30),
        weekday=(-0.05, -0.05, -0.02, 0.0, 0.04, 0.10, 0.08),
    ),
    # Apparel: style words and a warm tone; specifics matter a little (fabric, fit).
    "Apparel": CategoryTruth(
        ctr_intercept=-2.65,
        cvr_intercept=-3.70,
        ctr_slopes=_by_feature(0.20, 0.20, 0.10, 0.30, -0.10, 0.20),
        cvr_slopes=_by_feature(0.25, 0.35, 0.15, 0.30, -0.15, 0.25),
        words=(12, 40),
        weekday=(-0.06, -0.04, -0.02, 0.0, 0.05, 0.09, 0.06),
    ),
    # Electronics: numbers and units convert, hype costs trust.
    "Electronics": CategoryTruth(
        ctr_intercept=-2.60,
        cvr_intercept=-3.85,
        ctr_slopes=_by_feature(0.20, 0.15, 0.35, 0.10, -0.25, 0.20),
        cvr_slopes=_by_feature(0.25, 0.25, 0.50, 0.10, -0.35, 0.25),
        words=(15, 45),
        weekday=(0.03, 0.02, 0.0, 0.0, -0.01, -0.04, -0.05),
    ),
}


def text_features(text: str, category: str, truth: CategoryTruth) -> dict[str, float]:
    """The hidden model's own features of `text` (see the module docstring)."""
    words = _WORD.findall(text)
    n = len(words)
    low, high = truth.words
    if low <= n <= high:
        length_fit = 1.0
    elif n < low:
        length_fit = max(0.0, n / low)
    else:
        length_fit = max(0.0, 1.0 - (n - high) / high)
    lowered = [w.lower().strip("'’") for w in words]
    pos = sum(w in _POSITIVE for w in lowered)
    neg = sum(w in _NEGATIVE for w in lowered)
    sentiment = (pos - neg) / math.sqrt(pos + neg + 1.0)
    hype = min(1.0, 0.34 * text.count("!") + 0.5 * sum(1 for w in words if len(w) > 2 and w.isupper()))
    library = _KEYWORDS.get(category, ())
    hits = sum(1 for k in library if re.search(rf"\b{re.escape(k)}", text, re.I))
    return {
        "length_fit": length_fit,
        "cta": 1.0 if _CTA.search(text) else 0.0,
        "specificity": min(len(_NUMBER.findall(text)), 3) / 3.0,
        "sentiment": max(-1.0, min(1.0, sentiment)),
        "hype": hype,
        "keywords": min(hits, 2) / 2.0,
    }


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


@dataclass(frozen=True)
class TextModel:
    """Seeded hidden ground truth; `truth(text, category, at)` gives an ArmTruth for one day."""

    seed: int = 0
    noise_sd: float = 0.15  # per-copy effect u(x) on the logit scale: what no feature explains
    weekday_effects: bool = True
    truths: dict[str, CategoryTruth] = field(default_factory=lambda: dict(DEFAULT_TRUTHS))

    def _category(self, category: str) -> CategoryTruth:
        return self.truths.get(category) or self.truths["FMCG"]

    def copy_effect(self, text: str) -> float:
        digest = hashlib.sha256(f"{self.seed}\x00{text.strip()}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big")).gauss(0.0, self.noise_sd)

    def logits(self, text: str, category: str, at: datetime | None = None) -> tuple[float, float]:
        truth = self._category(category)
        features = text_features(text, category, truth)
        day = truth.weekday[at.weekday()] if (at is not None and self.weekday_effects) else 0.0
        u = self.copy_effect(text)
        ctr = truth.ctr_intercept + sum(truth.ctr_slopes[f] * features[f] for f in FEATURES) + u + day
        cvr = truth.cvr_intercept + sum(truth.cvr_slopes[f] * features[f] for f in FEATURES) + u + day
        return ctr, cvr

    def truth(self, text: str, category: str, at: datetime | None = None) -> ArmTruth:
        ctr_logit, cvr_logit = self.logits(text, category, at)
        ctr = _sigmoid(ctr_logit)
        return ArmTruth(ctr=ctr, cvr=min(_sigmoid(cvr_logit), ctr))

    def mean_cvr(self, text: str, category: str) -> float:
        """CVR averaged over the week (what a two-week test would estimate)."""
        if not self.weekday_effects:
            return self.truth(text, category).cvr
        monday = datetime(2026, 1, 5)  # a Monday
        return sum(self.truth(text, category, monday.replace(day=5 + d)).cvr for d in range(7)) / 7

    def with_seed(self, seed: int) -> TextModel:
        return replace(self, seed=seed)
