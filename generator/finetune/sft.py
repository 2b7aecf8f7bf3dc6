"""Supervised fine-tuning of a LoRA adapter with the multi-objective loss (`finetune.loss`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generator.finetune.config import Progress, TrainConfig, TrainResult
from generator.finetune.data import TrainingExample, batch_for_step
from generator.finetune.loss import SFTBatch, build_sft_batch, multiobjective_loss
from generator.finetune.run import optimizer_step, position_ids, train_steps
from generator.finetune.tokens import valence_vector


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
    valence = valence_vector(loaded.tokenizer).to(loaded.device)

    def step(model: Any, optimizer: Any, index: int) -> dict[str, float]:
        with torch.enable_grad():  # the backend switches grad off process-wide for inference
            model.train()
            chosen = batch_for_step(examples, size=config.batch_size, seed=config.seed, step=index)
            batch = _to_device(build_sft_batch(loaded.tokenizer, chosen, max_length=config.max_length), loaded.device)
            output = model(
                input_ids=batch.input_ids,
                attention_mask=batch.attention_mask,
                position_ids=position_ids(batch.attention_mask),
            )
            loss, parts = multiobjective_loss(output.logits, batch, config.weights, valence)
            optimizer_step(model, optimizer, loss)
        return {k: round(v, 5) for k, v in parts.items()}

    return train_steps(
        loaded, config, out_dir, step=step, extra={"examples": len(examples)}, resume=resume, progress=progress
    )


def _to_device(batch: SFTBatch, device: str) -> SFTBatch:
    if device == "cpu":
        return batch
    return SFTBatch(**{k: v.to(device) for k, v in vars(batch).items()})
