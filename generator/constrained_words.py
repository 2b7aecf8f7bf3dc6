"""Closed-vocabulary decoding: the sampler writes only words of the product's data and plain shop
language, so the closed-vocabulary guard (`catalog.guards.closed_vocabulary`) has little to refuse.

The guard alone refused all but one of 208 samples of the 135M model on the nine held-out products
(λ 0.4): almost every sample spends a word the data does not have ("cinema", "artisans",
"breakfast"). Here the same rule moves into decoding, as grounded decoding (`generator.constrained`)
did for figures: at every step, the row's most likely next tokens (`TOP_K`, then `WIDE_K` if none
fits) are kept only when the text they make ends every word in the allowed set and leaves the word
being written a prefix of an allowed one. Short words count too (the model otherwise escapes into
spelled-out letters, "i m r o g y …"), and a word in another script is one word ("müljüce"); hyphens
and digits separate words ("USB-C", "4K").

The allowed set is the guard's: `closed_vocabulary.allowed_words(index)`. When no top token fits,
the whole vocabulary is searched; a row with no fitting token at all keeps its scores (the guard
still judges the copy): decoding never gets stuck.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from catalog.guards import english

# The shop speaks to the shopper: no first person in generated copy ("I am so on it!"). The openers
# ("Our …") are part of the prompt, not sampled.
FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'd", "i'll", "me", "my", "mine", "myself", "we", "we're", "we've",
                          "we'll", "us", "our", "ours", "ourselves"})  # fmt: skip
TOP_K = 48
WIDE_K = 512
_RUN = re.compile(r"(?:[^\W\d_]|')+")  # as the guard reads words: letters of any script, and apostrophes
_COMPOUND = re.compile(r"[^\W\d_]+(?:-[^\W\d_]*)+")  # letter runs joined by hyphens, maybe still open
_TAIL_TOKENS = 8  # tokens looked back at for the word being written


@dataclass(frozen=True)
class WordSet:
    """The words one row may write (lower case, as written), and their prefixes.

    dead_ends: English words the row may not write that are also prefixes of allowed ones ("home" of
    "homesick"): a token that leaves one of them open would let the model write the word it meant
    and then find nothing allowed to finish it with, so it is refused as if complete."""

    words: frozenset[str]
    dead_ends: frozenset[str] = frozenset()
    compounds: frozenset[str] = frozenset()  # hyphenated words allowed ("wi-fi", "must-have"); no others
    # vocabulary (by id) -> word_starts of it; filled on first use, not part of the set's value
    _starts: dict[int, tuple[Sequence[str], frozenset[int]]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def word_starts(self, pieces: Sequence[str]) -> frozenset[int]:
        """The ids of the pieces that start with whitespace and may begin the text after a finished word.

        For such a piece nothing joins the word being written to the piece's own words, so
        `fits(tail, piece)` is `fits(tail, " ") and fits("", piece)`: one scan of the vocabulary per
        word set answers the second half for every row and step (most tokens of a BPE vocabulary
        start with a space)."""
        held = self._starts.get(id(pieces))
        if held is None or held[0] is not pieces:
            found = frozenset(i for i, p in enumerate(pieces) if p[:1].isspace() and fits("", p, self))
            held = self._starts[id(pieces)] = (pieces, found)
        return held[1]

    @cached_property
    def prefixes(self) -> frozenset[str]:
        return frozenset(w[:i] for w in self.words for i in range(1, len(w) + 1))

    @cached_property
    def compound_prefixes(self) -> frozenset[str]:
        return frozenset(c[:i] for c in self.compounds for i in range(1, len(c) + 1))

    def compound_fits(self, compound: str, open_: bool) -> bool:
        if open_:
            return compound in self.compound_prefixes
        # A hyphen before a figure ("7-in-1", "USB-C 3"): what is left of the compound is judged.
        compound = compound.rstrip("-")
        return "-" not in compound or compound in self.compounds

    def complete(self, run: str) -> bool:
        run = run.strip("'")
        return not run or run in self.words or (run.endswith("'s") and _possessive(run[:-2], self.words))

    def started(self, run: str) -> bool:
        run = run.lstrip("'")
        if not run or (run in self.prefixes and run not in self.dead_ends):
            return True
        base = run.removesuffix("s").removesuffix("'")  # a possessive being written: "lamp'", "lamp's"
        return base != run and run[len(base) :] in ("'", "'s") and _possessive(base, self.words)


def _possessive(base: str, words: frozenset[str]) -> bool:
    """Whether "<base>'s" may be written: a word of the set that is not a function word ("you's")."""
    return base in words and base not in english.STOPWORDS


def fits(tail: str, piece: str, words: WordSet) -> bool:
    """Whether `piece` may follow text ending in `tail` (the word being written): every word it
    completes is allowed, and the word it leaves open is a prefix of one."""
    if tail[-1:].islower() and piece[:1].isupper():
        return False  # a capital inside a word ("sizeS", "betWEEN")
    text = (tail + piece).lower().replace("’", "'")
    runs = list(_RUN.finditer(text))
    for i, run in enumerate(runs):
        if run.start() > 0 and text[run.start() - 1].isdigit() and len(run.group(0)) > 3:
            return False  # a word glued to a figure is a unit ("5kg", "1080p"), not "100greater"
        last = i == len(runs) - 1 and run.end() == len(text)
        if not (words.started(run.group(0)) if last else words.complete(run.group(0))):
            return False
    for match in _COMPOUND.finditer(text):
        if "-" in match.group(0) and not words.compound_fits(match.group(0), match.end() == len(text)):
            return False
    return True


def word_tail(pieces: Sequence[str], token_ids: Sequence[int]) -> str:
    """The word being written at the end of `token_ids`, as written (case kept), with the hyphenated
    words before it ("" after a space or punctuation)."""
    text = "".join(pieces[t] for t in token_ids[-_TAIL_TOKENS:] if 0 <= t < len(pieces)).replace("’", "'")
    # A digit right before it stays in the tail: a word glued to a figure is judged as one ("100greater").
    match = re.search(r"\d?(?:(?:[^\W\d_]|')+-)*(?:[^\W\d_]|')*$", text)
    return match.group(0) if match else ""


class ClosedWordsProcessor:
    """A transformers `LogitsProcessor`: one `WordSet` per batch row (None: that row is free)."""

    def __init__(self, pieces: Sequence[str], word_sets: Sequence[WordSet | None], prompt_length: int, eos_ids=()):
        self.pieces = pieces
        self.word_sets = list(word_sets)
        self.prompt_length = prompt_length
        self.eos_ids = frozenset(eos_ids)

    def _allowed(self, tail: str, candidates: list[int], words: WordSet) -> list[int]:
        starts = words.word_starts(self.pieces)
        word_done = fits(tail, " ", words)  # the word being written is whole: the copy may end or go on
        out = []
        for token_id in candidates:
            if token_id in self.eos_ids or not 0 <= token_id < len(self.pieces) or not self.pieces[token_id]:
                if word_done:
                    out.append(token_id)
            elif self.pieces[token_id][:1].isspace():
                if word_done and token_id in starts:
                    out.append(token_id)
            elif fits(tail, self.pieces[token_id], words):
                out.append(token_id)
        return out

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        generated = input_ids[:, self.prompt_length :].tolist()
        for row, words in enumerate(self.word_sets):
            if words is None:
                continue
            tail = word_tail(self.pieces, generated[row])
            finite = int(torch.isfinite(scores[row]).sum())
            allowed: list[int] = []
            checked = 0
            for k in (TOP_K, WIDE_K, finite):  # the whole vocabulary last: rare, and ~50 ms
                top = torch.topk(scores[row], min(k, finite)).indices.tolist() if finite else []
                allowed = self._allowed(tail, top[checked:], words)  # the tokens a narrower scan saw failed
                checked = len(top)
                if allowed or k >= finite:
                    break
            if not allowed:
                continue  # nothing near the top fits: leave the row to the guards
            index = torch.tensor(allowed, dtype=torch.long, device=scores.device)
            keep = scores[row, index].clone()
            scores[row, :] = -float("inf")
            scores[row, index] = keep
        return scores


def word_set_for(
    words: frozenset[str],
    data_words: frozenset[str],
    english_words: frozenset[str],
    compounds: frozenset[str] = frozenset(),
) -> WordSet:
    """The `WordSet` of a product: `words` and `compounds` allowed; the English words outside them
    that only the closed vocabulary's words continue are dead ends, while a prefix of one of the
    product's own words stays open ("fold" of "foldable")."""
    data_prefixes = {w[:i] for w in data_words for i in range(1, len(w) + 1)}
    dead_ends = frozenset(w for w in english_words if w not in words and w not in data_prefixes)
    return WordSet(words, dead_ends, compounds)
