"""What SFT and RL runs share: LoRA attached to a private model copy, the optimizer, the step
loop with its checkpoints, and the run-finishing step that saves the adapter.

Every `checkpoint_every` steps the adapter, optimizer state and loss history go to
`<out>/checkpoint/`; `resume=True` continues from there. Batches depend only on (seed, step),
so a resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from generator.finetune.config import LoraSettings, Progress, TrainConfig, TrainResult

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "trainer_state.pt"
HISTORY_FILE = "training.json"

# One optimizer step of a mode: (model, optimizer, step index) → the step's history row.
Step = Callable[[Any, Any, int], dict[str, float]]


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


def position_ids(attention_mask: Any) -> Any:
    return (attention_mask.cumsum(-1) - 1).clamp(min=0)


def optimizer_step(model: Any, optimizer: Any, loss: Any) -> None:
    """Backpropagate `loss`, clip the trainable weights' gradient norm to 1, and step."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    optimizer.step()


def checkpoint_save(model: Any, optimizer: Any, out_dir: Path, step: int, history: list[dict]) -> None:
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


def prepare(
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


def finish(
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


def train_steps(
    loaded: Any,
    config: TrainConfig,
    out_dir: Path,
    *,
    step: Step,
    extra: dict[str, Any],
    resume: bool = False,
    progress: Progress | None = None,
) -> TrainResult:
    """The loop of both modes: LoRA attached (or its checkpoint resumed), `step` run for each
    step left, its row kept in the history and reported, a checkpoint every `checkpoint_every`
    steps, then the run finished (`extra` goes into the history file)."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    model, optimizer, start, history = prepare(loaded, config, out_dir, resume)
    for index in range(start, config.steps):
        row = {"step": index + 1, **step(model, optimizer, index)}
        history.append(row)
        if progress:
            progress(index + 1, config.steps, row)
        done = index + 1
        if config.checkpoint_every and done % config.checkpoint_every == 0 and done < config.steps:
            checkpoint_save(model, optimizer, out_dir, done, history)
    return finish(model, out_dir, config, history, extra, started=started, resumed_from=start)
