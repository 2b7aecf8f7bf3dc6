"""Fine-tuning the real default model on CPU: tiny batches, few steps, short prompts.

Each test loads a private copy of the model (`reuse=False`): LoRA layers are injected into the
model they train, which must never be the process-wide cached one that generation uses.
"""

from __future__ import annotations

import pytest

from catalog.rules import Guideline
from generator import backend
from generator.finetune import loss, rl, run, sft
from generator.finetune.config import TrainConfig
from generator.finetune.data import RLPrompt, TrainingExample
from generator.predictor import prior_model
from generator.prompts import ProductContext

pytestmark = [pytest.mark.llm, pytest.mark.slow]

RL_STEPS = 4
RL_LR = 5e-3

SYSTEM = {"role": "system", "content": "You write short product copy."}
EXAMPLES = [
    TrainingExample(
        messages=(SYSTEM, {"role": "user", "content": "Wool socks. Make the mood enthusiastic."}),
        target="Cosy merino socks for frosty mornings. Shop now.",
        sentiment="enthusiastic",
        cta=True,
    ),
    TrainingExample(
        messages=(SYSTEM, {"role": "user", "content": "A coffee mug. Make the mood calm and reassuring."}),
        target="A sturdy stoneware mug for slow coffee. Order yours today.",
        sentiment="neutral",
        cta=True,
        weight=2.0,
    ),
]


def _private_model():
    return backend.load_model("smollm2", device="cpu", reuse=False)


def test_multiobjective_batch_marks_target_cta_and_repeats():
    tokenizer = backend.load_model("smollm2", device="cpu").tokenizer
    example = TrainingExample(
        messages=(SYSTEM, {"role": "user", "content": "Socks."}),
        target="Warm socks, warm feet, warm heart. Shop now.",
        cta=True,
    )
    batch = loss.build_sft_batch(tokenizer, [example], max_length=128)
    n_target = int(batch.target_mask.sum())
    assert n_target == len(tokenizer(example.target, add_special_tokens=False)["input_ids"]) + 1  # + end of turn
    assert 0 < int(batch.cta_mask.sum()) < n_target  # "Shop now." and the end-of-turn token
    assert len(batch.ul_rows) > 0  # "warm" repeats: unlikelihood candidates exist


def test_sft_loss_falls_adapter_saves_loads_and_generation_uses_it(tmp_path):
    loaded = _private_model()
    out = tmp_path / "fmcg" / "v1"
    config = TrainConfig(mode="sft", steps=4, lr=3e-3, batch_size=2, checkpoint_every=0, seed=0)
    result = sft.train_sft(loaded, EXAMPLES, config=config, out_dir=out)
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 4 and losses[-1] < losses[0] * 0.9, losses
    assert (out / "adapter_config.json").exists() and (out / "adapter_model.safetensors").exists()
    assert not (out / run.CHECKPOINT_DIR).exists()

    tuned = backend.load_model("smollm2", device="cpu", adapter=str(out))
    assert tuned.version.endswith("+adapter:fmcg/v1")
    base = backend.load_model("smollm2", device="cpu")
    conversation = [list(EXAMPLES[0].messages)]
    before = backend.generate(base, conversation, max_new_tokens=14, temperature=0)
    after = backend.generate(tuned, conversation, max_new_tokens=14, temperature=0)
    assert before[0].text != after[0].text
    backend._loaded.pop(("smollm2", "cpu", str(out)), None)  # tmp_path is gone after the test


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path):
    out = tmp_path / "v1"
    config = TrainConfig(mode="sft", steps=3, lr=1e-3, batch_size=1, checkpoint_every=1, seed=1)

    def crash(step: int, _total: int, _row: dict) -> None:
        if step == 2:
            raise KeyboardInterrupt  # the worker died after step 2, before its checkpoint

    with pytest.raises(KeyboardInterrupt):
        sft.train_sft(_private_model(), EXAMPLES, config=config, out_dir=out, progress=crash)
    assert run.checkpoint_step(out) == 1
    result = sft.train_sft(_private_model(), EXAMPLES, config=config, out_dir=out, resume=True)
    assert result.resumed_from == 1 and [row["step"] for row in result.history] == [1, 2, 3]
    assert (out / "adapter_model.safetensors").exists() and run.checkpoint_step(out) == 0


def test_rl_steps_raise_the_mean_reward_on_a_fixed_prompt_set(tmp_path):
    """REINFORCE on the real reward (reranker scores, prior predictor, brand rules), seeded.

    The brand requires a call to action, so samples without one are non-compliant: the easiest
    part of the reward to move in a few steps, and the one the paper's CTA embedding is about.
    """
    product = ProductContext(title="Merino wool scarf", category="Apparel", keywords=("style", "comfortable"))
    prompts = [
        RLPrompt(
            messages=(
                SYSTEM,
                {"role": "user", "content": "One sentence about a merino wool scarf. End with Shop now."},
            ),
            product=product,
            guideline=Guideline(cta_required=True, max_length=160),
        )
    ]
    config = TrainConfig(
        mode="rl", steps=RL_STEPS, lr=RL_LR, group_size=6, prompts_per_step=1, max_new_tokens=20, seed=3, lam=0.55
    )

    def reward(prompt: RLPrompt, texts) -> list[float]:
        return rl.group_rewards(prompt, texts, lam=config.lam, predictor=prior_model("cvr"))

    loaded = _private_model()
    before = rl.mean_policy_reward(loaded.model, loaded.tokenizer, prompts, reward_fn=reward, config=config, seed=11)
    result = rl.train_rl(loaded, prompts, config=config, reward_fn=reward, out_dir=tmp_path / "rl")
    after = rl.mean_policy_reward(result.model, loaded.tokenizer, prompts, reward_fn=reward, config=config, seed=11)
    assert after > before, (before, after, result.history)
