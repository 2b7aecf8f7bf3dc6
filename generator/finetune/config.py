"""Settings and result of a fine-tuning run (SFT or RL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MODES = ("sft", "rl")

# (step done, steps in all, the step's history row): the command's progress bar, the row's steps_done.
Progress = Callable[[int, int, dict[str, float]], None]


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
