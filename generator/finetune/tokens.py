"""What the training code needs from the tokenizer: the rendered chat prompt, the end-of-turn
token, and per-token vectors over the vocabulary (content words, VADER valence), cached per tokenizer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def end_of_turn_id(tokenizer: Any) -> int:
    vocab = tokenizer.get_vocab()
    if "<|im_end|>" in vocab:
        return int(vocab["<|im_end|>"])
    return int(tokenizer.eos_token_id)


def render_prompt(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    return "\n\n".join(m["content"] for m in messages) + "\n\n"


_content_cache: dict[int, Any] = {}
_valence_cache: dict[int, Any] = {}


def content_token_mask(tokenizer: Any) -> list[bool]:
    """Tokens that spell a word of at least three letters: the ones whose repeats count."""
    key = id(tokenizer)
    if key not in _content_cache:
        tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        _content_cache[key] = [
            bool(t) and sum(ch.isalpha() for ch in t.replace("Ġ", "").replace("▁", "")) >= 3 for t in tokens
        ]
    return _content_cache[key]


def valence_vector(tokenizer: Any) -> Any:
    """val(v): VADER lexicon valence / 4 of the word token v spells (0 when it is not in the lexicon)."""
    import torch

    key = id(tokenizer)
    if key not in _valence_cache:
        from generator.scorers import _vader

        lexicon = _vader().lexicon
        tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        values = [0.0] * len(tokens)
        for i, token in enumerate(tokens):
            word = (token or "").replace("Ġ", "").replace("▁", "").strip().lower()
            if len(word) >= 3 and word in lexicon:
                values[i] = max(-1.0, min(1.0, float(lexicon[word]) / 4.0))
        _valence_cache[key] = torch.tensor(values, dtype=torch.float32)
    return _valence_cache[key]
