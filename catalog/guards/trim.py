"""A copy editor's first move: cut the sentence that makes a claim the product's data does not support.

A sample of the small model often holds one or two good sentences and one bad one ("This router
delivers 3000 Mbps. Fast lanes for gaming!"). Dropping the whole sample throws the good sentences
away with the bad; `guards_trim` instead looks for the fewest whole sentences whose removal leaves
copy that passes every guard, and says which sentences it cut and why. What remains is still the
model's own words in the model's own order: nothing is rewritten or added.

Rules, so that a cut never makes copy worse than the guards can see:
- only whole sentences are cut, at most `MAX_CUTS` of them, and at least one sentence stays;
- what stays has at least `MIN_WORDS` words, and no kept sentence right after a cut one opens with
  a word that points back at it ("It", "They", "Also", "But", "That is why" …);
- what stays names the product (its title, or a kind of product its data names) and states one
  of its facts beyond the name (a word of its data, a figure or a standard): a cut that leaves
  "Not just about fashion but about making a difference!", or only the product's name and a call
  to action, has cut what mattered;
- what stays passes every guard without even an advisory finding (a cut is only worth making for
  copy that then needs none; the name-and-fact rule already rules out vacuous copy);
- the topic guard runs without an embedding similarity here (the caller embeds the trimmed text
  and checks it again), so every guard judges the trimmed copy before it can be selected.

Pure: no Django, no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations

from catalog.guards.check import guards_check
from catalog.guards.facts import FactIndex
from catalog.guards.text import split_sentences
from catalog.guards.topic import data_words_beyond_name
from catalog.guards.types import ADVISORY_CODES, GuardReport
from catalog.guards.vocabulary import own_type_groups

MAX_CUTS = 2  # sentences; more than that and too little of what the model meant is left
MAX_SENTENCES = 8  # longer samples are not searched (the token budget makes them rare)
MIN_WORDS = 8  # what stays must still say something (a call to action may be appended later)
# Words that refer back to an earlier sentence: a sentence opening with one after a cut has lost its referent.
BACK_REFERENCES = frozenset(
    {"it", "it's", "its", "they", "their", "them", "these", "those", "also", "and", "but", "or", "so", "plus", "too"}
    | {"which", "unlike", "because", "then", "that's", "this's", "there", "such", "besides", "moreover", "still"}
)
# "This"/"That" point back when a verb follows ("That is why", "This means"), not a noun ("This router").
_DEMONSTRATIVE_BACK = re.compile(
    r"^(?:this|that) (?:is|was|means|makes|gives|helps|lets|explains|adds|keeps|way|alone|too|will|would|can|"
    r"could|allows|ensures|brings|offers)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")


@dataclass(frozen=True)
class Cut:
    sentence: str
    reasons: tuple[str, ...]  # the findings of the full copy that this sentence holds


@dataclass(frozen=True)
class Trimmed:
    text: str
    cuts: tuple[Cut, ...]
    report: GuardReport  # the guards' report on `text` (without embedding similarity)

    def describe(self) -> list[str]:
        """One line per cut, for the reviewer: `cut "Fast lanes for gaming." (unsupported claim: …)`."""
        return [f'cut "{c.sentence}"' + (f" ({'; '.join(c.reasons)})" if c.reasons else "") for c in self.cuts]


def _points_back(sentence: str) -> bool:
    words = sentence.split()
    first = _WORD.match(words[0].strip("\"'“‘(")) if words else None
    return bool(first and first.group(0).lower() in BACK_REFERENCES) or bool(_DEMONSTRATIVE_BACK.match(sentence))


def _fit(sentences: list[str], cut_at: tuple[int, ...], index: FactIndex) -> bool:
    kept = [s for i, s in enumerate(sentences) if i not in cut_at]
    text = " ".join(kept)
    if len(text.split()) < MIN_WORDS:
        return False
    if any(_points_back(s) for i, s in enumerate(sentences) if i not in cut_at and i - 1 in cut_at):
        return False  # a kept sentence right after a cut one must not point back at it
    names_it = bool(own_type_groups(text) & index.type_groups) or index.facts.title.lower() in text.lower()
    return names_it and bool(data_words_beyond_name(text, index))


def guards_trim(
    text: str, index: FactIndex, *, report: GuardReport | None = None, closed_vocabulary: bool = False
) -> Trimmed | None:
    """The copy with the fewest sentences cut that passes every guard, or None when the copy
    already passes (nothing to cut) or no cut of at most `MAX_CUTS` sentences makes it pass.
    `report`: the guards' report on `text` if the caller has it; `closed_vocabulary` as in `guards_check`."""
    report = report or guards_check(text, index, closed_vocabulary=closed_vocabulary)
    if report.passed:
        return None
    sentences = split_sentences(text)
    if not 2 <= len(sentences) <= MAX_SENTENCES:
        return None
    for n_cut in range(1, min(MAX_CUTS, len(sentences) - 1) + 1):
        for cut_at in _cut_orders(sentences, report, n_cut):
            if not _fit(sentences, cut_at, index):
                continue
            trimmed_text = " ".join(s for i, s in enumerate(sentences) if i not in cut_at)
            trimmed_report = guards_check(trimmed_text, index, closed_vocabulary=closed_vocabulary)
            if trimmed_report.clean:
                cuts = tuple(
                    Cut(sentences[i], _why_cut(sentences[i], report, index, closed_vocabulary)) for i in sorted(cut_at)
                )
                return Trimmed(trimmed_text, cuts, trimmed_report)
    return None


def _cut_orders(sentences: list[str], report: GuardReport, n_cut: int) -> list[tuple[int, ...]]:
    """Every choice of `n_cut` sentences, those holding a finding's claim first."""
    flagged = {i for i, s in enumerate(sentences) if _reasons(s, report)}
    choices = list(combinations(range(len(sentences)), n_cut))
    return sorted(choices, key=lambda cut: -len(flagged.intersection(cut)))


def _reasons(sentence: str, report: GuardReport) -> tuple[str, ...]:
    lowered = sentence.lower()
    return tuple(f.message for f in report.findings if f.claim and f.claim.lower() in lowered)


def _why_cut(sentence: str, report: GuardReport, index: FactIndex, closed_vocabulary: bool) -> tuple[str, ...]:
    """The full copy's findings that quote this sentence; else what the guards find in it alone
    (a finding about the whole copy, such as a seller's pointer, names no claim to locate)."""
    located = _reasons(sentence, report)
    if located:
        return located
    alone = guards_check(sentence, index, closed_vocabulary=closed_vocabulary)
    return tuple(f.message for f in alone.findings if f.code not in ADVISORY_CODES)
