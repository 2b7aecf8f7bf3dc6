"""Grounded decoding: the sampler itself cannot write a figure the product's data does not state.

The copy guards reject a candidate after it is written; a 135M model invents figures in about
half of its samples ("17 hours", "7-inch", "50% more"), so most of a pool was wasted. This
logits processor moves the commonest grounding failure into decoding:

- **figures**: a digit may only continue a number that is a prefix of one of the product's own
  numbers ("30", "5.3", "10,000"), and a number that is not yet complete ("1" when the data says
  "12") may only go on with a digit or a decimal point. Every number the model writes is
  therefore one of the product's numbers (the guards still check its unit and context).
- **characters no shop copy needs**: brackets (round ones too: "(Escape)"), braces, angle brackets,
  @, #, |, *, _, ~, \\, colons (field lists "Battery Life: …"), currency signs (the shop shows the price), "http",
  "www", and "%" unless the product's data has a percentage; tokens outside Latin script and
  common typography (emojis, other alphabets: the catalog is English).

Tokenizers that write each digit as its own token (SmolLM2, Llama 3, Qwen, Gemma) are what it
is built for; with a tokenizer whose tokens hold several digits, a multi-digit token is allowed
only when all of it continues a product number.

The processor is pure torch over a `TokenTable` built once per tokenizer, and keeps one small
state per row (the number being written), so a batch of several products' prompts is constrained
row by row. It does not make copy true: words can still invent claims, which the guards judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from generator.constrained_words import ClosedWordsProcessor, WordSet

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_BANNED_CHARS = frozenset("[](){}<>@#|*_~\\:$£€¥^=`")
_BANNED_PARTS = ("http", "www", "://")
# Beyond ASCII, the typography English copy uses, and Latin letters with accents (brand names).
_ALLOWED_NON_ASCII = frozenset("’‘“”–—…éèêëáàâäíìîïóòôöúùûüçñÉ")


def product_numbers(texts: Iterable[str]) -> frozenset[str]:
    """Every number written in the product's data, in the forms copy may use: as written
    ("10,000", "5.3") and without thousands separators ("10000")."""
    numbers: set[str] = set()
    for text in texts:
        for match in _NUMBER.finditer(text):
            surface = match.group(0).rstrip(".,")
            numbers.add(surface)
            if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", surface):
                numbers.add(surface.replace(",", ""))
    return frozenset(numbers)


@dataclass(frozen=True)
class DecodingConstraint:
    """What one row (one prompt) may write: the product's numbers, and whether "%" is allowed."""

    numbers: frozenset[str] = frozenset()
    allow_percent: bool = False
    words: WordSet | None = None  # closed-vocabulary decoding (generator.constrained_words); None: off

    @classmethod
    def for_product(cls, texts: Sequence[str], *, words: WordSet | None = None) -> DecodingConstraint:
        return cls(numbers=product_numbers(texts), allow_percent=any("%" in t for t in texts), words=words)

    @cached_property
    def prefixes(self) -> frozenset[str]:
        # Read at every decoding step of every row: computed once per constraint.
        return frozenset(n[:i] for n in self.numbers for i in range(1, len(n) + 1))


@dataclass(frozen=True)
class TokenTable:
    """The tokenizer's vocabulary sorted for the processor: built once per tokenizer.

    numeric: token id → its text when the token is only digits and number punctuation ("7", "0",
    "."); banned: ids never allowed; percent: ids that write "%"."""

    vocab_size: int
    pieces: tuple[str, ...] = ()  # token id → its text on its own (closed-vocabulary decoding reads it)
    numeric: dict[int, str] = field(default_factory=dict)
    banned: tuple[int, ...] = ()
    percent: tuple[int, ...] = ()

    @classmethod
    def from_pieces(cls, pieces: Sequence[str]) -> TokenTable:
        """`pieces[i]`: the text token i decodes to on its own."""
        numeric: dict[int, str] = {}
        banned: list[int] = []
        percent: list[int] = []
        for token_id, piece in enumerate(pieces):
            if re.fullmatch(r"[0-9.,]+", piece):  # digits, and the points and commas between them
                numeric[token_id] = piece
                continue
            if any(c.isdigit() for c in piece):  # " 7", "1st", "²": a digit glued to more cannot be tracked
                banned.append(token_id)
                continue
            lowered = piece.lower()
            if (
                any(c in _BANNED_CHARS for c in piece)
                or any(part in lowered for part in _BANNED_PARTS)
                or any(ord(c) > 127 and c not in _ALLOWED_NON_ASCII for c in piece)
            ):
                banned.append(token_id)
            elif "%" in piece:
                percent.append(token_id)
        return cls(
            vocab_size=len(pieces), pieces=tuple(pieces), numeric=numeric, banned=tuple(banned), percent=tuple(percent)
        )

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> TokenTable:
        size = len(tokenizer)
        special = set(getattr(tokenizer, "all_special_ids", ()) or ())
        pieces = ["" if i in special else tokenizer.decode([i]) for i in range(size)]
        return cls.from_pieces(pieces)


def number_state(piece_of: dict[int, str], token_ids: Sequence[int]) -> str:
    """The number being written at the end of `token_ids` ("" when the last token is not part of
    one): trailing numeric tokens, joined."""
    parts: list[str] = []
    for token_id in reversed(token_ids):
        piece = piece_of.get(token_id)
        if piece is None:
            break
        parts.append(piece)
    text = "".join(reversed(parts))
    # A number starts with a digit: a leading "." or "," belongs to the sentence before it.
    return text.lstrip(".,")


def allowed_numeric(state: str, constraint: DecodingConstraint, table: TokenTable) -> tuple[list[int], bool]:
    """(numeric tokens allowed next, whether the number may end here)."""
    prefixes = constraint.prefixes
    allowed = [tid for tid, piece in table.numeric.items() if _continues(state + piece, constraint, prefixes)]
    core = state.rstrip(".,")
    may_end = not core or core in constraint.numbers or not allowed  # never leave a row with no token
    return allowed, may_end


def _continues(candidate: str, constraint: DecodingConstraint, prefixes: frozenset[str]) -> bool:
    core = candidate.lstrip(".,")
    if not core:
        return True  # ordinary punctuation after a word
    stripped = core.rstrip(".,")
    if stripped != core:
        # A trailing point or comma: the end of a finished product number (the sentence or clause
        # goes on), or a decimal/thousands mark inside one.
        return core in prefixes or (stripped in constraint.numbers and len(core) - len(stripped) == 1)
    return core in prefixes


class GroundedNumbersProcessor:
    """A transformers `LogitsProcessor` applying one `DecodingConstraint` per batch row."""

    def __init__(self, table: TokenTable, constraints: Sequence[DecodingConstraint], prompt_length: int):
        import torch

        self.table = table
        self.constraints = list(constraints)
        self.prompt_length = prompt_length
        self._banned = torch.tensor(table.banned, dtype=torch.long)
        self._percent = torch.tensor(table.percent, dtype=torch.long)
        self._numeric_ids = torch.tensor(sorted(table.numeric), dtype=torch.long)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if scores.shape[1] < self.table.vocab_size:
            return scores  # not the vocabulary the table was built for
        device = scores.device
        if self._banned.device != device:  # once: the ids live where the scores do
            self._banned, self._percent = self._banned.to(device), self._percent.to(device)
        scores[:, self._banned] = -float("inf")
        generated = input_ids[:, self.prompt_length :].tolist()
        for row, constraint in enumerate(self.constraints):
            if not constraint.allow_percent and len(self._percent):
                scores[row, self._percent] = -float("inf")
            state = number_state(self.table.numeric, generated[row])
            allowed, may_end = allowed_numeric(state, constraint, self.table)
            if may_end:
                blocked = self._numeric_ids[~torch.isin(self._numeric_ids, torch.tensor(allowed, dtype=torch.long))]
                scores[row, blocked.to(device)] = -float("inf")
            else:
                keep = scores[row, allowed].clone() if allowed else None
                scores[row, :] = -float("inf")
                if keep is not None:
                    scores[row, allowed] = keep
        return scores


def decoding_processors(
    table: TokenTable, constraints: Sequence[DecodingConstraint], prompt_length: int, eos_ids: Sequence[int] = ()
) -> list[Any]:
    """The logits processors of one batch: grounded numbers for every row, then closed-vocabulary
    words for the rows whose constraint has words (it reads the scores the first one left)."""
    processors: list[Any] = [GroundedNumbersProcessor(table, constraints, prompt_length)]
    word_sets = [c.words for c in constraints]
    if any(w is not None for w in word_sets):
        processors.append(ClosedWordsProcessor(table.pieces, word_sets, prompt_length, eos_ids=eos_ids))
    return processors
