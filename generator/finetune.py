"""Fine-tuning the copy model: LoRA adapters trained by SFT (multi-objective loss) or by RL.

Engine only: plain data in, adapter folders out, no ORM (the services gather the data from the
database and record the runs). torch, transformers and peft are imported inside functions.

## SFT: the multi-objective loss

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

## RL: REINFORCE with a group baseline

Per step, P prompts (products of the category, prompts as the generator builds them at the
category's recommended λ) get G samples each. Each group is scored by the reranker itself
(same scorers, predictor, brand rules and filters) and each sample gets R_abs =
λ·D + (1 − λ)·P̃_conv − w_brand·(1 − compliant) (see `generator.reward`). The advantage is the
reward minus its group's mean (divided by the group's std + 0.1), and the loss is
−mean_j A_j · mean_t log π(y_jt). There is no KL term: LoRA's low rank and the low rate keep
the policy near the base, and the evaluation gate catches a drift that hurts the reward.

## Checkpoints

Every `checkpoint_every` steps the adapter, optimizer state and loss history go to
`<out>/checkpoint/`; `resume=True` continues from there. Batches depend only on (seed, step),
so a resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from catalog.rules import Guideline, cta_matches
from generator.prompts import SENTIMENT_TARGETS, ProductContext

logger = logging.getLogger(__name__)

MODES = ("sft", "rl")
CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "trainer_state.pt"
HISTORY_FILE = "training.json"

# Seed-corpus sentiment tags → the generator's sentiment-modulation phrase and polarity direction.
SENTIMENT_TAGS: dict[str, tuple[str, float]] = {
    "enthusiastic": ("enthusiastic", 1.0),
    "positive": ("warm and upbeat", 1.0),
    "neutral": ("calm and reassuring", 0.0),
    "negative": ("calm and reassuring", -1.0),
}
assert all(phrase in SENTIMENT_TARGETS for phrase, _ in SENTIMENT_TAGS.values())

_SENTENCE = re.compile(r"[^.!?]*[.!?]+|[^.!?]+$")


@dataclass(frozen=True)
class LossWeights:
    lm: float = 1.0
    cta: float = 1.0  # β: extra weight on the CTA span's tokens
    unlikelihood: float = 0.5
    sentiment: float = 0.1


@dataclass(frozen=True)
class LoraSettings:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    # Only the top layers get adapters: backpropagation then stops there, which halves a CPU
    # step; None = every layer.
    top_layers: int | None = 8


@dataclass(frozen=True)
class TrainConfig:
    mode: str = "sft"
    steps: int = 50
    lr: float | None = None  # None: 3e-4 for SFT, 1e-4 for RL
    batch_size: int = 4  # SFT examples per step
    max_length: int = 384
    seed: int = 0
    checkpoint_every: int = 10
    lora: LoraSettings = field(default_factory=LoraSettings)
    weights: LossWeights = field(default_factory=LossWeights)
    # RL
    prompts_per_step: int = 2
    group_size: int = 4
    max_new_tokens: int = 40
    temperature: float = 0.8
    top_p: float = 0.95
    lam: float = 0.5
    compliance_weight: float = 0.5

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return 3e-4 if self.mode == "sft" else 1e-4

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lr"] = self.learning_rate
        data["lora"]["target_modules"] = list(self.lora.target_modules)
        return data


@dataclass(frozen=True)
class TrainingExample:
    messages: tuple[dict[str, str], ...]
    target: str
    weight: float = 1.0
    sentiment: str = "neutral"
    cta: bool = False
    source: str = "seed"


@dataclass(frozen=True)
class RLPrompt:
    messages: tuple[dict[str, str], ...]
    product: ProductContext
    keywords: tuple[str, ...] = ()
    guideline: Guideline | None = None


@dataclass
class TrainResult:
    path: Path
    steps_done: int
    history: list[dict[str, float]]
    seconds: float
    resumed_from: int = 0
    model: Any = None  # the trained PeftModel, for callers that keep using it in-process

    def summary(self) -> dict[str, Any]:
        def avg(key: str, rows: list[dict[str, float]]) -> float | None:
            values = [r[key] for r in rows if key in r]
            return round(sum(values) / len(values), 5) if values else None

        head, tail = self.history[: max(1, len(self.history) // 5)], self.history[-max(1, len(self.history) // 5) :]
        keys = sorted({k for row in self.history for k in row if k != "step"})
        return {
            "steps": self.steps_done,
            "seconds": round(self.seconds, 1),
            "resumed_from": self.resumed_from,
            "first": {k: avg(k, head) for k in keys},
            "last": {k: avg(k, tail) for k in keys},
        }


# --- data -------------------------------------------------------------------------------------


def sentiment_phrase(tag: str) -> tuple[str, float]:
    return SENTIMENT_TAGS.get(tag.strip().lower(), SENTIMENT_TAGS["neutral"])


def sentiment_tag_for(polarity: float) -> str:
    """A tag for copy that has none (approved platform copy), from its VADER polarity."""
    if polarity >= 0.5:
        return "enthusiastic"
    if polarity >= 0.05:
        return "positive"
    if polarity <= -0.05:
        return "negative"
    return "neutral"


def cta_char_span(text: str, *, cta_tagged: bool) -> tuple[int, int] | None:
    """Characters of the call-to-action sentence: the one with the last CTA match, else the last one."""
    sentences = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    if not sentences:
        return None
    matches = cta_matches(text)
    if matches:
        last = text.lower().rfind(matches[-1].lower())
        for start, end in sentences:
            if start <= last < end:
                return start, end
    return sentences[-1] if cta_tagged else None


def outcome_weight(
    *, impressions: int, clicks: int, orders: int, mean_ctr: float, mean_cvr: float, prior_impressions: float = 500.0
) -> float:
    """a_i for approved copy: smoothed CTR and CVR relative to the category mean, clipped to [0.25, 4]."""
    if impressions <= 0 or mean_ctr <= 0 or mean_cvr <= 0:
        return 1.0
    ctr = (clicks + prior_impressions * mean_ctr) / (impressions + prior_impressions)
    cvr = (orders + prior_impressions * mean_cvr) / (impressions + prior_impressions)
    return float(min(4.0, max(0.25, 0.5 * ctr / mean_ctr + 0.5 * cvr / mean_cvr)))


def training_example(
    *,
    product: ProductContext,
    text: str,
    lam: float,
    sentiment: str,
    cta: bool,
    weight: float = 1.0,
    source: str = "seed",
    index: int = 0,
) -> TrainingExample:
    """One example, prompted exactly as the generator prompts (no few-shot turns, to keep it short).

    The sentiment tag becomes the prompt's sentiment instruction; CTA-tagged copy alternates
    between the generator's CTA prompt and its sentiment-plus-CTA prompt, so both are covered.
    """
    from generator.prompts import PROMPT_TYPE_CTA, PROMPT_TYPE_SENTIMENT, build_messages

    phrase, _direction = sentiment_phrase(sentiment)
    prompt_type = PROMPT_TYPE_CTA if cta and index % 2 == 0 else PROMPT_TYPE_SENTIMENT
    messages = build_messages(
        product=product,
        lam=lam,
        prompt_type=prompt_type,
        sentiment_target=phrase,
        cta_required=cta,
        keyword_offset=index,
    )
    return TrainingExample(
        messages=messages, target=text.strip(), weight=weight, sentiment=sentiment, cta=cta, source=source
    )


def corpus_examples(path: Path, *, category: str, lam: float, keywords: Sequence[str] = ()) -> list[TrainingExample]:
    """The seed corpus's lines of one category as training examples (weight 1)."""
    if not path.exists():
        return []
    wanted = category.strip().lower()
    examples: list[TrainingExample] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if str(row.get("category", "")).strip().lower() != wanted or not str(row.get("text", "")).strip():
            continue
        product = ProductContext(
            title=str(row.get("product") or "a product"),
            category=str(row.get("category")),
            keywords=tuple(keywords),
            tone=str(row.get("tone") or ""),
        )
        examples.append(
            training_example(
                product=product,
                text=str(row["text"]),
                lam=lam,
                sentiment=str(row.get("sentiment") or "neutral"),
                cta=str(row.get("cta_type") or "none").lower() != "none",
                index=len(examples),
            )
        )
    return examples


def batch_for_step(items: Sequence[Any], *, size: int, seed: int, step: int) -> list[Any]:
    """The step's batch: depends only on (seed, step), so a resumed run sees the same data."""
    rng = random.Random(seed * 1_000_003 + step)
    if len(items) <= size:
        return list(items)
    return rng.sample(list(items), k=size)


# --- model --------------------------------------------------------------------------------------


def attach_lora(model: Any, lora: LoraSettings, *, resume_from: Path | None = None) -> Any:
    """A trainable PeftModel: fresh LoRA weights, or the checkpoint's."""
    from peft import LoraConfig, PeftModel, get_peft_model

    if resume_from is not None:
        return PeftModel.from_pretrained(model, str(resume_from), is_trainable=True)
    layers = None
    if lora.top_layers:
        total = int(getattr(model.config, "num_hidden_layers", 0) or 0)
        if total:
            layers = list(range(max(0, total - lora.top_layers), total))
    config = LoraConfig(
        layers_to_transform=layers,
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        task_type="CAUSAL_LM",
        bias="none",
    )
    return get_peft_model(model, config)


def _end_of_turn_id(tokenizer: Any) -> int:
    vocab = tokenizer.get_vocab()
    if "<|im_end|>" in vocab:
        return int(vocab["<|im_end|>"])
    return int(tokenizer.eos_token_id)


def _render(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
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

    eot = _end_of_turn_id(tokenizer)
    content = content_token_mask(tokenizer)
    rows: list[tuple[list[int], int, list[int]]] = []  # ids, target start, cta flags over target
    for example in examples:
        prompt_ids = tokenizer(_render(tokenizer, example.messages), add_special_tokens=False)["input_ids"]
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
    """L = w_lm·L_nll + w_ul·L_ul + w_sent·L_sent (see the module docstring); returns (loss, parts)."""
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


def _position_ids(attention_mask: Any) -> Any:
    return (attention_mask.cumsum(-1) - 1).clamp(min=0)


# --- checkpoints ---------------------------------------------------------------------------------


def _checkpoint_save(model: Any, optimizer: Any, out_dir: Path, step: int, history: list[dict]) -> None:
    import torch

    target = out_dir / CHECKPOINT_DIR
    tmp = out_dir / f".{CHECKPOINT_DIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    torch.save({"optimizer": optimizer.state_dict(), "step": step, "history": history}, tmp / STATE_FILE)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def checkpoint_step(out_dir: Path) -> int:
    """Steps done by the checkpoint in `out_dir` (0 when there is none)."""
    import torch

    state = out_dir / CHECKPOINT_DIR / STATE_FILE
    if not state.exists():
        return 0
    return int(torch.load(state, weights_only=False)["step"])


def _prepare(
    loaded: Any, config: TrainConfig, out_dir: Path, resume: bool
) -> tuple[Any, Any, int, list[dict[str, float]]]:
    import torch

    torch.manual_seed(config.seed)
    checkpoint = out_dir / CHECKPOINT_DIR
    resume_from = checkpoint if resume and (checkpoint / STATE_FILE).exists() else None
    model = attach_lora(loaded.model, config.lora, resume_from=resume_from)
    model.to(loaded.device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    start, history = 0, []
    if resume_from is not None:
        state = torch.load(resume_from / STATE_FILE, weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        start, history = int(state["step"]), list(state["history"])
    return model, optimizer, start, history


def _finish(
    model: Any,
    out_dir: Path,
    config: TrainConfig,
    history: list[dict],
    extra: dict[str, Any],
    *,
    started: float,
    resumed_from: int,
) -> TrainResult:
    """Save the adapter and its history, drop the checkpoint, and describe the run (SFT and RL)."""
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    (out_dir / HISTORY_FILE).write_text(
        json.dumps({"config": config.as_dict(), "history": history, **extra}, indent=1), encoding="utf-8"
    )
    shutil.rmtree(out_dir / CHECKPOINT_DIR, ignore_errors=True)
    return TrainResult(
        path=out_dir,
        steps_done=config.steps,
        history=history,
        seconds=time.perf_counter() - started,
        resumed_from=resumed_from,
        model=model,
    )


Progress = Callable[[int, int, dict[str, float]], None]


def train_sft(
    loaded: Any,
    examples: Sequence[TrainingExample],
    *,
    config: TrainConfig,
    out_dir: Path,
    resume: bool = False,
    progress: Progress | None = None,
) -> TrainResult:
    """LoRA SFT with the multi-objective loss; `loaded` must be a private copy (LoRA mutates it)."""
    import torch

    if not examples:
        raise ValueError("no training examples")
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    model, optimizer, start, history = _prepare(loaded, config, out_dir, resume)
    valence = valence_vector(loaded.tokenizer).to(loaded.device)
    with torch.enable_grad():  # the backend switches grad off process-wide for inference
        for step in range(start, config.steps):
            model.train()
            chosen = batch_for_step(examples, size=config.batch_size, seed=config.seed, step=step)
            batch = build_sft_batch(loaded.tokenizer, chosen, max_length=config.max_length)
            batch = _to_device(batch, loaded.device)
            output = model(
                input_ids=batch.input_ids,
                attention_mask=batch.attention_mask,
                position_ids=_position_ids(batch.attention_mask),
            )
            loss, parts = multiobjective_loss(output.logits, batch, config.weights, valence)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            optimizer.step()
            row = {"step": step + 1, **{k: round(v, 5) for k, v in parts.items()}}
            history.append(row)
            if progress:
                progress(step + 1, config.steps, row)
            if config.checkpoint_every and (step + 1) % config.checkpoint_every == 0 and step + 1 < config.steps:
                _checkpoint_save(model, optimizer, out_dir, step + 1, history)
    return _finish(model, out_dir, config, history, {"examples": len(examples)}, started=started, resumed_from=start)


def _to_device(batch: SFTBatch, device: str) -> SFTBatch:
    if device == "cpu":
        return batch
    return SFTBatch(**{k: v.to(device) for k, v in vars(batch).items()})


# --- RL ------------------------------------------------------------------------------------------


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
    """R_abs of each sample of one prompt's group, scored by the reranker as a pool."""
    from generator.embeddings import embed
    from generator.postprocess import clean_generation
    from generator.prompts import category_keywords
    from generator.rerank import RawCandidate, RerankConfig, rerank_candidates
    from generator.reward import pool_rewards

    cleaned = [clean_generation(t) for t in texts]
    vectors = embed([*cleaned, prompt.product.reference_text])
    raw = [RawCandidate(text=t, embedding=vectors[i]) for i, t in enumerate(cleaned)]
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
    )
    return pool_rewards(result, lam=lam, predictor=predictor, compliance_weight=compliance_weight)


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

    eot = _end_of_turn_id(tokenizer)
    stop = sorted({eot, int(tokenizer.eos_token_id)} if tokenizer.eos_token_id is not None else {eot})
    rendered = [_render(tokenizer, p.messages) for p in prompts]
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
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    model, optimizer, start, history = _prepare(loaded, config, out_dir, resume)
    tokenizer = loaded.tokenizer
    g = config.group_size
    for step in range(start, config.steps):
        chosen = batch_for_step(prompts, size=config.prompts_per_step, seed=config.seed, step=step)
        sequences, attention, width, texts = sample_groups(
            model,
            tokenizer,
            chosen,
            group_size=g,
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            top_p=config.top_p,
            seed=config.seed * 100_003 + step,
            device=loaded.device,
        )
        rewards: list[float] = []
        for index, prompt in enumerate(chosen):
            rewards.extend(reward_fn(prompt, texts[index * g : (index + 1) * g]))
        reward_t = torch.tensor(rewards, dtype=torch.float32).view(len(chosen), g)
        advantage = (reward_t - reward_t.mean(dim=1, keepdim=True)) / (reward_t.std(dim=1, keepdim=True) + 0.1)
        advantage = advantage.view(-1).to(loaded.device)
        with torch.enable_grad():
            model.train()
            output = model(input_ids=sequences, attention_mask=attention, position_ids=_position_ids(attention))
            logits = output.logits[:, width - 1 : -1, :].float() / max(config.temperature, 1e-3)
            chosen_ids = sequences[:, width:]
            log_probs = torch.log_softmax(logits, dim=-1).gather(2, chosen_ids[..., None]).squeeze(-1)
            mask = attention[:, width:].float()
            per_sequence = (log_probs * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            loss = -(advantage * per_sequence).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            optimizer.step()
        row = {
            "step": step + 1,
            "loss": round(float(loss.detach()), 5),
            "reward": round(float(reward_t.mean()), 5),
            "reward_max": round(float(reward_t.max()), 5),
        }
        history.append(row)
        if progress:
            progress(step + 1, config.steps, row)
        if config.checkpoint_every and (step + 1) % config.checkpoint_every == 0 and step + 1 < config.steps:
            _checkpoint_save(model, optimizer, out_dir, step + 1, history)
    return _finish(model, out_dir, config, history, {"prompts": len(prompts)}, started=started, resumed_from=start)


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
