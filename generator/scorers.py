"""Scorers: each a small pure function of text or of embedding vectors.

Embeddings come in as arrays of unit vectors (see `generator.embeddings.embed`), so the
scorers themselves never load a model and are tested on hand-made vectors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from functools import lru_cache

import numpy as np

from catalog.rules import cta_matches, word_count
from generator.predictor import FEATURE_NAMES

_SENTENCES = re.compile(r"[.!?]+(?:\s|$)")
# A figure such as the 30 of "30 hours", the 65 of "65W", the 1.5 of "1.5 l".
_FIGURE = re.compile(r"\d+(?:[.,]\d+)?")
# An all-caps word of four letters or more ("BEST", "HUGE"); three-letter acronyms (USB, LED) and
# the longer spec terms below are not shouting.
_SHOUTED = re.compile(r"\b[A-Z]{4,}\b")
_SPEC_ACRONYMS = frozenset({"HDMI", "OLED", "QLED", "AMOLED", "WIFI", "NVME", "GDDR", "LPDDR", "SDXC", "HEPA", "UVB"})
_WORDS = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


# --- diversity and novelty (the paper's D) ---------------------------------------------------


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarities; rows are normalised here so callers may pass raw vectors."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit = vectors / norms
    return unit @ unit.T


def set_diversity(vectors: np.ndarray) -> float:
    """D = 1 − mean pairwise cosine similarity over distinct pairs (0 for fewer than two texts)."""
    n = len(vectors)
    if n < 2:
        return 0.0
    sims = cosine_matrix(vectors)
    off_diagonal = sims[~np.eye(n, dtype=bool)]
    return float(1.0 - off_diagonal.mean())


def candidate_diversity(vectors: np.ndarray) -> list[float]:
    """Each candidate's share of D: 1 − its mean cosine to the others. Their mean equals D."""
    n = len(vectors)
    if n < 2:
        return [0.0] * n
    sims = cosine_matrix(vectors)
    return [float(1.0 - (sims[i].sum() - sims[i, i]) / (n - 1)) for i in range(n)]


def candidate_novelty(vectors: np.ndarray, control: np.ndarray | None = None) -> list[float]:
    """A candidate's novelty: 1 − mean cosine similarity to the other candidates and the control copy."""
    vectors = np.asarray(vectors, dtype=np.float64)
    n = len(vectors)
    if n == 0:
        return []
    reference = vectors if control is None else np.vstack([vectors, np.asarray(control, dtype=np.float64)[None, :]])
    sims = cosine_matrix(reference)
    others = reference.shape[0] - 1
    if others == 0:
        return [1.0]
    return [float(1.0 - (sims[i].sum() - sims[i, i]) / others) for i in range(n)]


def relevance(vector: np.ndarray, product_vector: np.ndarray) -> float:
    """Cosine similarity of the copy to the product's own description, clipped to [0, 1]."""
    sims = cosine_matrix(np.vstack([vector, product_vector]))
    return float(min(1.0, max(0.0, sims[0, 1])))


# --- text scorers -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment_polarity(text: str) -> float:
    """VADER's compound polarity in [−1, 1]."""
    if not text.strip():
        return 0.0
    return float(_vader().polarity_scores(text)["compound"])


def cta_count(text: str) -> int:
    return len(cta_matches(text))


def cta_presence(text: str) -> bool:
    return cta_count(text) > 0


def cta_density(text: str) -> float:
    """Calls to action per word (the brand module's CTA_PATTERN decides what counts)."""
    words = word_count(text)
    return cta_count(text) / words if words else 0.0


def specificity(text: str, *, saturation: int = 3) -> float:
    """Concrete figures in [0, 1]: numbers with their units, saturating at `saturation` of them.

    Copywriting lore says facts ("30 hours of battery") sell better than adjectives; whether they
    do in a category is for the predictor to learn from outcomes, so its prior weight is zero.
    (The simulator's hidden model has a near-identical feature of its own; README, closed loop.)
    """
    return min(len(_FIGURE.findall(text)), saturation) / saturation


def hype(text: str) -> float:
    """Shouting in [0, 1]: exclamation marks and all-caps words (three of them saturate)."""
    shouted = [w for w in _SHOUTED.findall(text) if w not in _SPEC_ACRONYMS]
    return min(1.0, (text.count("!") + len(shouted)) / 3.0)


@lru_cache(maxsize=1)
def _hyphenator():
    import pyphen

    return pyphen.Pyphen(lang="en_US")


def count_syllables(word: str) -> int:
    # pyphen's hyphenation points (+1) estimate syllables and ship offline; textstat's English
    # path first tries to download the CMU dictionary, which a worker without network cannot.
    word = word.lower()
    try:
        return len(_hyphenator().positions(word)) + 1
    except ImportError:
        return max(1, len(re.findall(r"[aeiouy]+", word)))


def readability(text: str) -> float:
    """Flesch reading ease, clipped to [0, 100] (higher is easier)."""
    words = _WORDS.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len(_SENTENCES.findall(text.strip() + " ")))
    syllables = sum(count_syllables(w) for w in words)
    score = 206.835 - 1.015 * (len(words) / sentences) - 84.6 * (syllables / len(words))
    return float(min(100.0, max(0.0, score)))


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in keyword.lower().split()]
    # Tolerate a plural or possessive ending on the last word ("batteries" is not handled, "specs" is).
    return re.compile(r"\b" + r"\s+".join(parts) + r"(?:s|es|'s)?\b")


def keyword_hits(text: str, keywords: Sequence[str]) -> list[str]:
    lowered = text.lower()
    return [k for k in keywords if k.strip() and _keyword_pattern(k.strip()).search(lowered)]


def keyword_strength(text: str, keywords: Sequence[str], *, saturation: int = 3) -> float:
    """Share of the category keyword library used, saturating at `saturation` distinct keywords.

    Copy does not need every keyword of the library; two or three well-placed ones are the
    paper's "keyword strength", more is stuffing, so the score stops growing there.
    """
    keywords = [k for k in keywords if k.strip()]
    if not keywords:
        return 0.0
    target = min(saturation, len(keywords))
    return min(1.0, len(keyword_hits(text, keywords)) / target)


def length_fit(words: int, *, low: int = 12, high: int = 45) -> float:
    """1 inside the [low, high] word range that storefront tiles show well, decaying outside."""
    if words <= 0:
        return 0.0
    if words < low:
        return words / low
    if words > high:
        return max(0.0, math.exp(-(words - high) / high))
    return 1.0


# --- all features of one candidate ------------------------------------------------------------


@dataclass(frozen=True)
class TextScores:
    """The scores that depend on the text alone (embedding-based ones are added by the reranker)."""

    sentiment: float
    cta_present: bool
    cta_density: float
    readability: float
    keyword_strength: float
    length_chars: int
    words: int
    length_fit: float
    specificity: float = 0.0
    hype: float = 0.0

    def as_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class CandidateScores(TextScores):
    """Every score of one candidate: its text scores plus those that need the pool, the product,
    the predictors and the reranker. The reranker fills it, a generation job stores it on its
    Candidate rows (`stored`), the API and the admin show it (`SHOWN_SCORES`)."""

    novelty: float
    diversity: float
    relevance: float
    p_conv: float
    p_click: float | None = None
    cta_appended: bool = False  # a stock call to action was appended (what the CTA scores saw)
    reward: float | None = None

    def stored(self) -> dict[str, float | int | bool | None]:
        """The scores the Candidate model has a column for, by column name."""
        return {column: getattr(self, column) for _shown, column in SHOWN_SCORES}


# The scores a generation job stores on its Candidate rows and its API shows, in the API's
# order: (name in the API's JSON, attribute of CandidateScores = column of the Candidate model).
# length_fit, specificity and hype are predictor inputs only: recomputed from the text, never stored.
SHOWN_SCORES: tuple[tuple[str, str], ...] = (
    ("novelty", "novelty"),
    ("diversity", "diversity"),
    ("sentiment", "sentiment"),
    ("cta", "cta_present"),
    ("cta_density", "cta_density"),
    ("cta_appended", "cta_appended"),
    ("readability", "readability"),
    ("keyword_strength", "keyword_strength"),
    ("relevance", "relevance"),
    ("length", "length_chars"),
    ("words", "words"),
    ("p_conv", "p_conv"),
    ("p_click", "p_click"),
    ("reward", "reward"),
)
STORED_SCORES: tuple[str, ...] = tuple(column for _shown, column in SHOWN_SCORES)
assert set(STORED_SCORES) <= {f.name for f in fields(CandidateScores)}


def predictor_features(scores: TextScores, *, relevance: float | None = None) -> dict[str, float]:
    """The predictor's inputs (`predictor.FEATURE_NAMES`) read off a candidate's scores.

    Readability is rescaled to [0, 1] and booleans become 0/1. `relevance` is for text scores,
    which have none of their own (it needs the product's embedding).
    """
    values: dict[str, float] = {}
    for name in FEATURE_NAMES:
        value = relevance if name == "relevance" and relevance is not None else getattr(scores, name)
        values[name] = float(value) / 100.0 if name == "readability" else float(value)
    return values


def copy_features(scores: TextScores, relevance: float) -> dict[str, float]:
    """The predictor's inputs for one piece of copy: its text scores plus its relevance."""
    return predictor_features(scores, relevance=relevance)


def text_scores(text: str, keywords: Sequence[str]) -> TextScores:
    words = word_count(text)
    return TextScores(
        sentiment=sentiment_polarity(text),
        cta_present=cta_presence(text),
        cta_density=cta_density(text),
        readability=readability(text),
        keyword_strength=keyword_strength(text, keywords),
        length_chars=len(text.strip()),
        words=words,
        length_fit=length_fit(words),
        specificity=specificity(text),
        hype=hype(text),
    )
