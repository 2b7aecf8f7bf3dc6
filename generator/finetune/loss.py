"""The SFT batches and the written multi-objective loss.

The paper asks for "sentiment adjustment, diversity enhancement, CTA embedding" and gives no
loss. Ours, for a batch of examples i with target tokens t:

    L = w_lm · L_nll + w_ul · L_ul + w_sent · L_sent

    L_nll  = Σ_i Σ_t a_i (1 + β·c_it) ℓ_it / Σ_i Σ_t a_i (1 + β·c_it),   ℓ_it = −log p(y_it | x_i, y_i<t)
    L_ul   = (1/N) Σ_i Σ_t Σ_{v ∈ C_it} −log(1 − p(v | x_i, y_i<t))
    L_sent = −(1/N_s) Σ_i Σ_t s_i · Σ_v p(v | x_i, y_i<t) · val(v)

- Sentiment adjustment: the prompt carries the example's sentiment tag as a control
  ("Make the mood enthusiastic.", the same instruction the generator's sentiment prompts use),
  so the model learns to follow it; L_sent adds a differentiable push of the next-token
  distribution's expected VADER valence val(v) ∈ [−1, 1] (lexicon valence / 4 of the word a
  token spells, 0 for other tokens) in the tag's direction s_i (+1 positive/enthusiastic,
  0 neutral, −1 negative); N_s counts target tokens with s_i ≠ 0.
- CTA embedding: c_it = 1 on the tokens of the call-to-action sentence of a CTA-tagged target
  (the sentence holding the brand module's CTA match, else the last sentence), so the model is
  trained harder to end with a call to action; targets end with the end-of-turn token, so it
  also learns to stop there.
- Diversity enhancement: unlikelihood (Welleck et al. 2019) on repeats. C_it is the set of
  content tokens (≥ 3 letters) already written in the target before t, minus the gold token:
  probability mass on repeating a word already used is pushed down.
- a_i: example weight. Seed-corpus copy has 1; approved platform copy has
  clip(½·CTR_i/CTR̄ + ½·CVR_i/CVR̄, 0.25, 4) with each rate shrunk towards the category mean
  over 500 pseudo-impressions (1 when it has no logged outcomes).

Defaults: w_lm = 1, β = 1 (CTA tokens count double), w_ul = 0.5, w_sent = 0.1; LoRA r = 8,
α = 16, dropout 0.05 on the q/k/v/o projections of the top 8 layers; AdamW lr 3e-4 (SFT),
1e-4 (RL); batch 4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from generator.finetune.config import LossWeights
from generator.finetune.data import TrainingExample, cta_char_span, sentiment_phrase
from generator.finetune.tokens import content_token_mask, end_of_turn_id, render_prompt


@dataclass
class SFTBatch:
    input_ids: Any
    attention_mask: Any
    target_mask: Any  # 1 where the *next* token is a target token (shifted)
    cta_mask: Any
    example_weight: Any  # per row
    sentiment_dir: Any  # per row
    ul_rows: Any  # (row index into the selected positions, candidate token id)
    ul_tokens: Any


def build_sft_batch(tokenizer: Any, examples: Sequence[TrainingExample], *, max_length: int) -> SFTBatch:
    """Right-padded rows of prompt + target + end-of-turn, with the per-token weights of the loss."""
    import torch

    eot = end_of_turn_id(tokenizer)
    content = content_token_mask(tokenizer)
    rows: list[tuple[list[int], int, list[int]]] = []  # ids, target start, cta flags over target
    for example in examples:
        prompt_ids = tokenizer(render_prompt(tokenizer, example.messages), add_special_tokens=False)["input_ids"]
        encoded = tokenizer(example.target, add_special_tokens=False, return_offsets_mapping=True)
        target_ids = [*list(encoded["input_ids"]), eot]
        span = cta_char_span(example.target, cta_tagged=example.cta)
        flags = [
            1 if span is not None and start < span[1] and end > span[0] else 0
            for start, end in encoded["offset_mapping"]
        ] + [1 if span is not None else 0]
        # Keep the whole target; trim the prompt from the left (the few-shot/system part) if needed.
        budget = max_length - len(target_ids)
        prompt_ids = prompt_ids[-budget:] if budget > 0 else prompt_ids[-1:]
        rows.append((list(prompt_ids) + target_ids, len(prompt_ids), flags))
    width = max(len(ids) for ids, _, _ in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eot
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    target_mask = torch.zeros((len(rows), width - 1), dtype=torch.float32)
    cta_mask = torch.zeros((len(rows), width - 1), dtype=torch.float32)
    ul_rows: list[int] = []
    ul_tokens: list[int] = []
    position = 0  # index of a selected (target) position in row-major order
    for r, (ids, start, flags) in enumerate(rows):
        input_ids[r, : len(ids)] = torch.tensor(ids)
        attention[r, : len(ids)] = 1
        seen: set[int] = set()
        for k, token in enumerate(ids[start:]):
            t = start + k - 1  # logits at t predict ids[t + 1]
            target_mask[r, t] = 1.0
            cta_mask[r, t] = float(flags[k])
            for candidate in seen - {token}:
                ul_rows.append(position)
                ul_tokens.append(candidate)
            if token < len(content) and content[token]:
                seen.add(token)
            position += 1
    return SFTBatch(
        input_ids=input_ids,
        attention_mask=attention,
        target_mask=target_mask,
        cta_mask=cta_mask,
        example_weight=torch.tensor([e.weight for e in examples], dtype=torch.float32),
        sentiment_dir=torch.tensor([sentiment_phrase(e.sentiment)[1] for e in examples], dtype=torch.float32),
        ul_rows=torch.tensor(ul_rows, dtype=torch.long),
        ul_tokens=torch.tensor(ul_tokens, dtype=torch.long),
    )


def multiobjective_loss(logits: Any, batch: SFTBatch, weights: LossWeights, valence: Any) -> tuple[Any, dict]:
    """L = w_lm·L_nll + w_ul·L_ul + w_sent·L_sent (see this module's docstring); returns (loss, parts)."""
    import torch

    logits = logits[:, :-1, :].float()
    selected = batch.target_mask.bool()
    sel_logits = logits[selected]  # [N, V], row-major like the batch builder's positions
    log_probs = torch.log_softmax(sel_logits, dim=-1)
    gold = batch.input_ids[:, 1:][selected]
    nll = -log_probs.gather(1, gold[:, None]).squeeze(1)
    row_of = torch.arange(logits.shape[0])[:, None].expand(-1, logits.shape[1])[selected]
    token_weight = batch.example_weight[row_of] * (1.0 + weights.cta * batch.cta_mask[selected])
    l_nll = (token_weight * nll).sum() / token_weight.sum().clamp(min=1e-8)
    probs = log_probs.exp()
    n = max(1, int(selected.sum()))
    if len(batch.ul_rows):
        p_rep = probs[batch.ul_rows, batch.ul_tokens].clamp(max=1 - 1e-5)
        l_ul = -torch.log1p(-p_rep).sum() / n
    else:
        l_ul = sel_logits.new_zeros(())
    direction = batch.sentiment_dir[row_of]
    steered = direction != 0
    if bool(steered.any()):
        expected_valence = probs @ valence.to(probs.dtype)
        l_sent = -(direction[steered] * expected_valence[steered]).mean()
    else:
        l_sent = sel_logits.new_zeros(())
    loss = weights.lm * l_nll + weights.unlikelihood * l_ul + weights.sentiment * l_sent
    plain_nll = float(nll.detach().mean())
    return loss, {
        "loss": float(loss.detach()),
        "nll": float(l_nll.detach()),
        "plain_nll": plain_nll,
        "unlikelihood": float(l_ul.detach()),
        "sentiment": float(l_sent.detach()),
    }
