"""Batch inputs for `backend.generate`: left padding, the shared-prefix key/value cache, and the
token table of grounded decoding. Split from the backend so that loading a model and shaping a
batch each have one module; torch and transformers are imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator.backend import LoadedModel
    from generator.constrained import TokenTable


def token_table(loaded: LoadedModel) -> TokenTable:
    """The tokenizer's `TokenTable` for grounded decoding, built once per loaded model (~1 s) and
    kept on it, so it goes when the model is unloaded. Two threads may both build it: same result."""
    from generator.constrained import TokenTable

    if loaded.token_table is None:
        loaded.token_table = TokenTable.from_tokenizer(loaded.tokenizer)
    return loaded.token_table


def left_padded(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.tensor([[pad_id] * (width - len(r)) + list(r) for r in rows], dtype=torch.long)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], dtype=torch.long)
    return ids, mask


def shared_prefix_inputs(
    loaded: LoadedModel, conversations: Sequence[Sequence[dict[str, str]]], prompts: Sequence[str]
) -> dict[str, Any] | None:
    """generate() inputs whose cache already holds each row's prefix (all turns but the last),
    computed once per distinct prefix; None when no prefix is shared or the split is not exact.

    Row layout: [left pad][prefix][pad][last turn]. The attention mask hides both pads and
    generate() derives positions from the mask, so every token sits where it would unpadded.
    """
    import torch
    from transformers import DynamicCache

    tokenizer = loaded.tokenizer
    if not getattr(tokenizer, "chat_template", None) or any(len(c) < 2 for c in conversations):
        return None
    prefixes = [tokenizer.apply_chat_template(list(c[:-1]), tokenize=False) for c in conversations]
    if any(not p or not full.startswith(p) for p, full in zip(prefixes, prompts, strict=True)):
        return None
    full_ids = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    prefix_ids = [tuple(ids) for ids in tokenizer(prefixes, add_special_tokens=False)["input_ids"]]
    # The prefix must tokenize the same alone as inside the prompt, and leave a turn to prefill.
    if any(len(f) <= len(p) or tuple(f[: len(p)]) != p for f, p in zip(full_ids, prefix_ids, strict=True)):
        return None
    distinct = list(dict.fromkeys(prefix_ids))
    if len(distinct) == len(prefix_ids):
        return None
    row_prefix = torch.tensor([distinct.index(p) for p in prefix_ids], dtype=torch.long)
    prefix_tokens, prefix_mask = left_padded(distinct, tokenizer.pad_token_id)
    suffix_tokens, suffix_mask = left_padded(
        [f[len(p) :] for f, p in zip(full_ids, prefix_ids, strict=True)], tokenizer.pad_token_id
    )
    device = loaded.device
    cache = DynamicCache(config=loaded.model.config)
    cache_name = cache_kwarg(loaded.model)
    with torch.inference_mode():
        loaded.model(
            input_ids=prefix_tokens.to(device),
            attention_mask=prefix_mask.to(device),
            position_ids=(prefix_mask.cumsum(-1) - 1).clamp(min=0).to(device),
            use_cache=True,
            **{cache_name: cache},
        )
        cache.batch_select_indices(row_prefix.to(device))
    return {
        "input_ids": torch.cat([prefix_tokens[row_prefix], suffix_tokens], dim=1).to(device),
        "attention_mask": torch.cat([prefix_mask[row_prefix], suffix_mask], dim=1).to(device),
        cache_name: cache,
    }


def cache_kwarg(model: Any) -> str:
    """The name a model's forward() takes its key/value cache by: `cache` in recent transformers
    releases, `past_key_values` before (GPU hosts' images may carry an older release than ours)."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # a peft wrapper takes **kwargs
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
