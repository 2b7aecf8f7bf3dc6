"""generate_for_products with a fake model and embedder: batching across products, drop-out of
products with a pick, per-product error isolation (fast: no model is loaded)."""

from __future__ import annotations

import zlib
from types import SimpleNamespace

import numpy as np
import pytest

from generator import backend, embeddings, pipeline
from generator.backend import Generation
from generator.pipeline import GenerationParams, ProductInput, generate_for_product, generate_for_products
from generator.prompts import ProductContext

# What the fake model writes for each product: grounded copy, or nothing the reranker can keep.
WRITES = {
    "Merino Wool Scarf": "A soft merino wool scarf from Loom for cold mornings. Shop now.",
    "Steel Water Bottle": "",  # empty after cleaning: never picked, so it uses every round
    "Oat Cookies": "Golden oat cookies from Hearth, baked for sharing. Order yours today.",
}


def _product(title: str, brand: str, category: str, description: str) -> ProductContext:
    return ProductContext(title=title, brand=brand, category=category, description=description)


ITEMS = [
    ProductInput(key="SCARF-1", product=_product("Merino Wool Scarf", "Loom", "Apparel", "Soft merino wool scarf.")),
    ProductInput(key="BOTTLE-2", product=_product("Steel Water Bottle", "Everfill", "Home", "Steel water bottle.")),
    ProductInput(key="COOKIE-3", product=_product("Oat Cookies", "Hearth", "FMCG", "Golden oat cookies.")),
]


def _title_of(conversation) -> str:
    last = conversation[-1]["content"]
    return next(line.removeprefix("Product: ") for line in last.splitlines() if line.startswith("Product: "))


def _fake_embed(texts, **_kwargs) -> np.ndarray:
    # Every text leans towards one shared direction (relevant to every product), plus a
    # per-text component so that distinct texts are not near-duplicates of each other.
    rows = []
    for text in texts:
        v = np.random.default_rng(zlib.crc32(text.encode())).normal(size=32)
        v[0] += 8.0
        rows.append(v / np.linalg.norm(v))
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), 32)


def _install_fake_model(monkeypatch, generate) -> None:
    """The backend loads no model and writes with `generate`; texts embed with `_fake_embed`."""
    monkeypatch.setattr(backend, "load_model", lambda *a, **k: SimpleNamespace(version="fake-model", load_seconds=0.0))
    monkeypatch.setattr(backend, "generate", generate)
    monkeypatch.setattr(embeddings, "embed", _fake_embed)


@pytest.fixture
def fake_model(monkeypatch):
    calls: list[list[str]] = []

    def generate(loaded, conversations, **kwargs):
        titles = [_title_of(c) for c in conversations]
        calls.append(titles)
        # A distinct text per row (the seed and row make it so) keeps the dedupe step out of the way.
        return [
            Generation(text=f"{WRITES[t]} ({kwargs['seed']}-{i})" if WRITES[t] else "", n_tokens=5)
            for i, t in enumerate(titles)
        ]

    _install_fake_model(monkeypatch, generate)
    return calls


# The fake writes whole texts, not continuations: openers are tested on their own below. It decodes
# nothing, so no closed vocabulary holds its words (tests/generator/test_constrained.py and test_llm.py
# test that decoding; tests/catalog/test_closed_vocabulary.py its guard).
PARAMS = GenerationParams(
    candidates=4,
    top_k=2,
    max_rounds=3,
    relevance_threshold=0.1,
    append_cta=False,
    openers=False,
    closed_vocabulary=False,
)


def test_products_with_a_pick_leave_the_next_rounds(fake_model):
    done: list[tuple[str, int]] = []
    batch = generate_for_products(
        items=ITEMS, lam=0.5, params=PARAMS, on_product_done=lambda key, o: done.append((key, o.rounds))
    )
    # One generate call per round, over every product still open: all three, then the bottle alone.
    assert [sorted(set(call)) for call in fake_model] == [
        ["Merino Wool Scarf", "Oat Cookies", "Steel Water Bottle"],
        ["Steel Water Bottle"],
        ["Steel Water Bottle"],
    ]
    assert [len(call) for call in fake_model] == [12, 4, 4]
    outcomes = {o.key: o for o in batch.outcomes}
    assert [o.key for o in batch.outcomes] == ["SCARF-1", "BOTTLE-2", "COOKIE-3"]
    assert outcomes["SCARF-1"].best is not None and "merino" in outcomes["SCARF-1"].best.text
    assert outcomes["COOKIE-3"].best is not None and "oat cookies" in outcomes["COOKIE-3"].best.text
    bottle = outcomes["BOTTLE-2"]
    assert bottle.best is None and bottle.rounds == 3 and len(bottle.result.candidates) == 12
    assert all(c.dropped_reason == "empty after cleaning" for c in bottle.result.candidates)
    # Each product is reported once, as soon as it is final.
    assert done == [("SCARF-1", 1), ("COOKIE-3", 1), ("BOTTLE-2", 3)]
    assert all(o.generated_tokens == 5 * 4 * o.rounds and not o.error for o in batch.outcomes)
    assert batch.model_version == "fake-model"


def test_a_pool_whose_best_is_only_vacuous_samples_again_and_keeps_it_as_the_fallback(monkeypatch):
    """Vacuous copy (advisory) passes, but a clean candidate of a later round would outrank it: the
    pool stays open while rounds remain, and the vacuous best is selected only after the last."""
    vacuous = "With the Clay Mug, you'll find everything you need to make shopping fun and exciting."
    calls: list[int] = []

    def generate(loaded, conversations, **kwargs):
        calls.append(len(conversations))
        # Distinct words per row keep the dedupe step out of the way; none is a fact of the mug.
        words = [
            "bright",
            "happy",
            "sunny",
            "lovely",
            "cheerful",
            "merry",
            "jolly",
            "joyful",
            "glad",
            "fine",
            "kind",
            "warm",
        ]
        start = 4 * (len(calls) - 1)
        return [Generation(text=vacuous.replace("fun", f"{words[start + i]} fun"), n_tokens=5) for i in range(4)]

    _install_fake_model(monkeypatch, generate)
    mug = ProductInput(key="MUG-1", product=_product("Clay Mug", "Kiln", "Home", "Glazed clay mug, 350 ml."))
    (outcome,) = generate_for_products(items=[mug], lam=0.5, params=PARAMS).outcomes
    assert calls == [4, 4, 4] and outcome.rounds == 3
    assert outcome.best is not None and outcome.best.text.startswith("With the Clay Mug, you'll find everything")
    assert not outcome.result.best_is_clean


def test_a_scoring_error_is_recorded_on_its_product_only(fake_model, monkeypatch):
    real = pipeline.rerank_candidates

    def rerank(candidates, **kwargs):
        if any("oat cookies" in c.text for c in candidates):
            raise ValueError("predictor exploded")
        return real(candidates, **kwargs)

    monkeypatch.setattr(pipeline, "rerank_candidates", rerank)
    done: list[str] = []
    batch = generate_for_products(items=ITEMS, lam=0.5, params=PARAMS, on_product_done=lambda k, o: done.append(k))
    outcomes = {o.key: o for o in batch.outcomes}
    assert outcomes["COOKIE-3"].error == "ValueError: predictor exploded" and outcomes["COOKIE-3"].result is None
    assert outcomes["SCARF-1"].best is not None and not outcomes["SCARF-1"].error
    assert outcomes["BOTTLE-2"].rounds == 3 and not outcomes["BOTTLE-2"].error
    assert sorted(done) == ["BOTTLE-2", "COOKIE-3", "SCARF-1"] and len(done) == 3
    # The failed product is not sampled again.
    assert all("Oat Cookies" not in call for call in fake_model[1:])


def test_one_product_wrapper_keeps_raising_and_loops_lambdas(fake_model, monkeypatch):
    result = generate_for_product(product=ITEMS[0].product, lambdas=[0.3, 0.7], params=PARAMS)
    assert [o.lam for o in result.outcomes] == [0.3, 0.7] and all(o.result.best for o in result.outcomes)
    assert len(fake_model) == 2  # one round per λ: the first batch already had a pick

    monkeypatch.setattr(pipeline, "rerank_candidates", lambda *a, **k: (_ for _ in ()).throw(ValueError("boom")))
    with pytest.raises(ValueError, match="boom"):
        generate_for_product(product=ITEMS[0].product, lambdas=[0.5], params=PARAMS)


def test_product_keys_must_be_distinct(fake_model):
    with pytest.raises(ValueError, match="distinct"):
        generate_for_products(items=[ITEMS[0], ITEMS[0]], lam=0.5, params=PARAMS)


def test_openers_start_the_answer_and_an_opener_alone_is_not_copy(monkeypatch):
    """With openers, the backend is asked to continue "The Merino Wool Scarf"…; the copy keeps the
    opener, and a row where the model added fewer than MIN_OWN_WORDS words counts as empty."""
    seen: list[list[str]] = []

    def generate(loaded, conversations, **kwargs):
        seen.append(list(kwargs["openers"]))
        return [
            Generation(text="" if i % 2 else f" keeps you warm on cold mornings ({kwargs['seed']}-{i}).", n_tokens=5)
            for i, _ in enumerate(conversations)
        ]

    _install_fake_model(monkeypatch, generate)
    params = GenerationParams(candidates=4, top_k=2, max_rounds=1, relevance_threshold=0.1, append_cta=False)
    batch = generate_for_products(items=ITEMS[:1], lam=0.3, params=params)
    assert seen[0][:3] == ["The Merino Wool Scarf", "Meet the Merino Wool Scarf", "Loom's Merino Wool Scarf"]
    candidates = batch.outcomes[0].result.candidates
    assert candidates[0].text.startswith("The Merino Wool Scarf keeps you warm on cold mornings")
    assert [c.dropped_reason for c in candidates[1::2]] == ["empty after cleaning"] * 2
