"""REINFORCE with a group baseline on the reranker's reward.

Per step, P prompts (products of the category, prompts as the generator builds them at the
category's recommended λ) get G samples each. Each group is scored by the reranker itself
(same scorers, predictor, brand rules, filters and copy guards, against the prompt's product
facts) and each sample gets R_abs = λ·D + (1 − λ)·P̃_conv − w_brand·(1 − compliant) (see
`generator.reward`), or −w_brand when it fails a copy guard: such copy is worthless
(`generator.finetune.reward`). The advantage is the
reward minus its group's mean (divided by the group's std + 0.1), and the loss is
−mean_j A_j · mean_t log π(y_jt). There is no KL term: LoRA's low rank and the low rate keep
the policy near the base, and the evaluation gate catches a drift that hurts the reward.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from generator.finetune.config import Progress, TrainConfig, TrainResult
from generator.finetune.data import RLPrompt, batch_for_step
from generator.finetune.run import optimizer_step, position_ids, train_steps
from generator.finetune.tokens import end_of_turn_id, render_prompt


def group_rewards(
    prompt: RLPrompt,
    texts: Sequence[str],
    *,
    lam: float,
    predictor: Any,
    compliance_weight: float = 0.5,
    dedupe_threshold: float = 0.92,
    relevance_threshold: float = 0.15,
) -> list[float]:
    """R_abs of each sample of one prompt's group, scored by the reranker as a pool; a sample that
    fails a copy guard against the prompt's product facts gets −compliance_weight."""
    from catalog.guards import fact_index
    from generator.embeddings import embed
    from generator.finetune.reward import guarded_pool_rewards
    from generator.pipeline import product_facts
    from generator.postprocess import clean_generation
    from generator.prompts import category_keywords
    from generator.rerank import RawCandidate, RerankConfig, rerank_candidates

    cleaned = [clean_generation(t) for t in texts]
    vectors = embed([*cleaned, prompt.product.reference_text])
    raw = [RawCandidate(text=t, embedding=vectors[i]) for i, t in enumerate(cleaned)]
    facts = fact_index(product_facts(prompt.product), other_brands=prompt.product.other_brands)
    result = rerank_candidates(
        raw,
        config=RerankConfig(
            lam=lam,
            top_k=max(1, len(raw)),
            dedupe_threshold=dedupe_threshold,
            relevance_threshold=relevance_threshold,
        ),
        product_embedding=vectors[-1],
        control_embedding=None,
        keywords=prompt.keywords or category_keywords(prompt.product.category, prompt.product.keywords),
        guideline=prompt.guideline,
        predictor=predictor,
        facts=facts,
    )
    rewards, _passed = guarded_pool_rewards(
        result,
        lam=lam,
        predictor=predictor,
        facts=facts,
        compliance_weight=compliance_weight,
        relevance_threshold=relevance_threshold,
    )
    return rewards


def sample_groups(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[RLPrompt],
    *,
    group_size: int,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    device: str,
) -> tuple[Any, Any, int, list[str]]:
    """(sequences, attention mask, prompt width, completion texts): `group_size` samples per prompt."""
    import torch

    eot = end_of_turn_id(tokenizer)
    stop = sorted({eot, int(tokenizer.eos_token_id)} if tokenizer.eos_token_id is not None else {eot})
    rendered = [render_prompt(tokenizer, p.messages) for p in prompts]
    tokenizer.padding_side = "left"
    encoded = tokenizer(rendered, return_tensors="pt", padding=True, add_special_tokens=False)
    encoded = {k: v.to(device) for k, v in encoded.items()}
    torch.manual_seed(seed)
    model.eval()
    with torch.inference_mode():
        output = model.generate(
            **encoded,
            do_sample=True,
            temperature=temperature,
            top_p=top_p,
            top_k=None,
            max_new_tokens=max_new_tokens,
            num_return_sequences=group_size,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=stop,
        )
    width = encoded["input_ids"].shape[1]
    completion = output[:, width:].clone()
    keep = torch.ones_like(completion)
    texts: list[str] = []
    for row in range(completion.shape[0]):
        tokens = completion[row].tolist()
        end = next((i for i, t in enumerate(tokens) if t in stop), None)
        if end is not None:
            keep[row, end + 1 :] = 0  # the stop token itself is part of what the policy chose
        texts.append(tokenizer.decode(tokens[: end if end is not None else len(tokens)], skip_special_tokens=True))
    prompt_attention = encoded["attention_mask"].repeat_interleave(group_size, dim=0)
    attention = torch.cat([prompt_attention, keep], dim=1)
    return output.clone(), attention, width, texts


RewardFn = Callable[[RLPrompt, Sequence[str]], list[float]]


def train_rl(
    loaded: Any,
    prompts: Sequence[RLPrompt],
    *,
    config: TrainConfig,
    reward_fn: RewardFn,
    out_dir: Path,
    resume: bool = False,
    progress: Progress | None = None,
) -> TrainResult:
    """REINFORCE with a per-prompt group baseline on the reranker's reward (module docstring)."""
    import torch

    if not prompts:
        raise ValueError("no prompts to optimise on")
    tokenizer = loaded.tokenizer
    g = config.group_size

    def step(model: Any, optimizer: Any, index: int) -> dict[str, float]:
        chosen = batch_for_step(prompts, size=config.prompts_per_step, seed=config.seed, step=index)
        sequences, attention, width, texts = sample_groups(
            model,
            tokenizer,
            chosen,
            group_size=g,
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            top_p=config.top_p,
            seed=config.seed * 100_003 + index,
            device=loaded.device,
        )
        rewards: list[float] = []
        for number, prompt in enumerate(chosen):
            rewards.extend(reward_fn(prompt, texts[number * g : (number + 1) * g]))
        reward_t = torch.tensor(rewards, dtype=torch.float32).view(len(chosen), g)
        advantage = (reward_t - reward_t.mean(dim=1, keepdim=True)) / (reward_t.std(dim=1, keepdim=True) + 0.1)
        advantage = advantage.view(-1).to(loaded.device)
        with torch.enable_grad():
            model.train()
            output = model(input_ids=sequences, attention_mask=attention, position_ids=position_ids(attention))
            logits = output.logits[:, width - 1 : -1, :].float() / max(config.temperature, 1e-3)
            chosen_ids = sequences[:, width:]
            log_probs = torch.log_softmax(logits, dim=-1).gather(2, chosen_ids[..., None]).squeeze(-1)
            mask = attention[:, width:].float()
            per_sequence = (log_probs * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            loss = -(advantage * per_sequence).mean()
            optimizer_step(model, optimizer, loss)
        return {
            "loss": round(float(loss.detach()), 5),
            "reward": round(float(reward_t.mean()), 5),
            "reward_max": round(float(reward_t.max()), 5),
        }

    return train_steps(
        loaded, config, out_dir, step=step, extra={"prompts": len(prompts)}, resume=resume, progress=progress
    )


def mean_policy_reward(
    loaded_model: Any,
    tokenizer: Any,
    prompts: Sequence[RLPrompt],
    *,
    reward_fn: RewardFn,
    config: TrainConfig,
    seed: int,
    device: str = "cpu",
) -> float:
    """Mean R_abs of `group_size` samples per prompt, with a fixed sampling seed (for before/after)."""
    rewards: list[float] = []
    for index, prompt in enumerate(prompts):
        _seq, _att, _w, texts = sample_groups(
            loaded_model,
            tokenizer,
            [prompt],
            group_size=config.group_size,
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            top_p=config.top_p,
            seed=seed + index,
            device=device,
        )
        rewards.extend(reward_fn(prompt, texts))
    return sum(rewards) / len(rewards) if rewards else math.nan
