from decimal import Decimal

import pytest

from catalog.rules import has_call_to_action
from generator import prompt_examples, prompts
from generator.postprocess import clean_generation, ensure_cta
from generator.prompts import FewShotExample, ProductContext

PRODUCT = ProductContext(
    title="Voltora Pulse wireless earbuds",
    brand="Voltora",
    category="Electronics",
    price=Decimal("79.00"),
    description="Wireless earbuds with 30 hours of battery life.",
    attributes={"battery_life_h": 30, "connectivity": "Bluetooth 5.3"},
    keywords=("battery life", "fast charging", "wireless", "specs"),
    tone="clear and technical",
)


def test_composite_prompt_carries_product_keywords_persona_tone_and_type():
    messages = prompts.build_messages(
        product=PRODUCT, lam=0.2, prompt_type=prompts.PROMPT_TYPE_CTA, persona="commuters", max_words=30
    )
    assert messages[0]["role"] == "system"
    user = messages[-1]["content"]
    for expected in (
        "Voltora Pulse wireless earbuds",
        "Brand: Voltora",
        "Category: Electronics",
        "Price: 79.00",
        "battery life h: 30",
        "Audience: commuters",
        "Tone: clear and technical",
        '"battery life"',
        prompts.CTA_INSTRUCTION,
        "At most 30 words",
        prompts.style_for_lambda(0.2),
    ):
        assert expected in user


def test_sentiment_prompt_modulates_mood_and_asks_for_cta_only_when_the_brand_requires_it():
    plain = prompts.build_messages(product=PRODUCT, lam=0.5, prompt_type="sentiment", sentiment_target="enthusiastic")
    assert "Make the mood enthusiastic." in plain[-1]["content"]
    assert "call to action" not in plain[-1]["content"]
    required = prompts.build_messages(product=PRODUCT, lam=0.5, prompt_type="sentiment", cta_required=True)
    assert "call to action" in required[-1]["content"]


def test_unknown_prompt_type_is_refused():
    with pytest.raises(ValueError, match="unknown prompt type"):
        prompts.build_messages(product=PRODUCT, lam=0.5, prompt_type="haiku")


def test_style_follows_lambda():
    assert "plain" in prompts.style_for_lambda(0.1)
    assert "bold" in prompts.style_for_lambda(0.9)
    assert prompts.style_for_lambda(1.0) == prompts.style_for_lambda(0.99)


def test_few_shot_examples_become_user_assistant_turns_in_the_same_shape():
    example = FewShotExample(
        title="USB-C charger",
        brand="Voltbox",
        category="Electronics",
        text="Charge two devices at once. Order yours today.",
    )
    messages = prompts.build_messages(product=PRODUCT, lam=0.5, prompt_type="cta", examples=[example])
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"].startswith("Product: USB-C charger\nBrand: Voltbox | Category: Electronics")
    assert messages[2]["content"] == example.text


def test_prompt_plan_alternates_the_two_prompt_types_and_cycles_sentiments():
    plan = prompts.prompt_plan(6)
    assert [t for t, _ in plan] == ["cta", "sentiment"] * 3
    assert [s for t, s in plan if t == "sentiment"] == list(prompts.SENTIMENT_TARGETS)


def test_build_prompts_rotates_keywords_and_flags_cta_requests():
    specs = prompts.build_prompts(product=PRODUCT, lam=0.6, count=4, cta_required=False)
    assert len(specs) == 4
    assert [s.asks_for_cta for s in specs] == [True, False, True, False]
    offered = [s.messages[-1]["content"].split("Keywords: ")[1].split("\n")[0] for s in specs]
    assert len(set(offered)) == 4
    assert all(s.asks_for_cta for s in prompts.build_prompts(product=PRODUCT, lam=0.6, count=4, cta_required=True))


def test_category_keywords_prefer_configured_then_defaults():
    assert prompts.category_keywords("FMCG", ["fizz"]) == ("fizz",)
    assert "limited edition" in prompts.category_keywords("FMCG")
    assert "sustainably sourced" in prompts.category_keywords("apparel")
    assert prompts.category_keywords("Garden") == ()


def test_reference_text_describes_the_product_without_its_control_copy():
    assert "Bluetooth 5.3" in PRODUCT.reference_text
    assert PRODUCT.description not in PRODUCT.reference_text


def test_prompt_version_is_recorded_and_builtin_examples_exist_for_paper_categories():
    assert prompts.PROMPT_VERSION
    for category in ("FMCG", "Apparel", "Electronics", "Garden"):
        examples = prompt_examples.builtin_examples(category)
        assert examples and all(has_call_to_action(e.text) for e in examples)


def test_max_words_leaves_room_under_the_character_limit():
    assert prompts.max_words_for(0) == 40
    assert prompts.max_words_for(180) * 6 < 180


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            'Sure! Here is the product description:\n\n"Crunchy oats, baked slow. Shop now."',
            "Crunchy oats, baked slow. Shop now.",
        ),
        ("**Bold** copy with #hashtags here. And a dangling", "Bold copy with here."),
        ("Here's a revised version of your text with more detail:", ""),
        ("One paragraph.\n\nSecond paragraph is dropped.", "One paragraph."),
        ("No end punctuation at all", "No end punctuation at all"),
        ("Description: Light and warm.<|im_end|>", "Light and warm."),
    ],
)
def test_clean_generation(raw, expected):
    assert clean_generation(raw) == expected


def test_ensure_cta_appends_only_when_missing():
    assert ensure_cta("Shop now for warm socks.") == ("Shop now for warm socks.", False)
    text, appended = ensure_cta("Warm socks", index=1)
    assert appended and text == "Warm socks. " + prompts.CTA_SUFFIXES[1]
    assert all(has_call_to_action(s) for s in prompts.CTA_SUFFIXES)
    assert ensure_cta("") == ("", False)


def test_learned_directives_follow_the_sign_and_size_of_theta():
    assert prompts.learned_directives(prompts_prior()) == ()
    figures, calm = (text for _, text in prompts.LEARNED_DIRECTIVES.values())
    assert prompts.learned_directives({"specificity": 0.4}) == (figures,)
    assert prompts.learned_directives({"specificity": -0.4}) == ()  # figures hurt: nothing to ask for
    assert prompts.learned_directives({"specificity": 0.1, "hype": -0.5}) == (calm,)
    assert prompts.learned_directives({"specificity": 0.2, "hype": -0.2}) == (figures, calm)


def prompts_prior() -> dict[str, float]:
    from generator.predictor import prior_model

    return dict(prior_model("cvr").coefficients)


def test_directives_reach_every_request_but_not_the_few_shot_turns():
    product = prompts.ProductContext(title="Sonaro Drift earbuds", category="Electronics")
    directive = prompts.LEARNED_DIRECTIVES["specificity"][1]
    specs = prompts.build_prompts(product=product, lam=0.5, count=3, directives=(directive,))
    assert all(directive in spec.messages[-1]["content"] for spec in specs)
    assert all(directive not in m["content"] for spec in specs for m in spec.messages[:-1])
    plain = prompts.build_prompts(product=product, lam=0.5, count=1)
    assert directive not in plain[0].messages[-1]["content"]


def test_v3_prompt_gives_the_facts_as_the_only_facts_and_examples_their_own():
    from generator.pipeline import example_is_grounded

    product = prompts.ProductContext(
        title="Oat Drink",
        brand="Oatly-ish",
        category="FMCG",
        description="Oat drink, 1 litre.",
        attributes={"fat_pct": 1.5},
    )
    example = prompt_examples.builtin_examples("fmcg")[1]
    messages = prompts.build_messages(product=product, lam=0.5, prompt_type=prompts.PROMPT_TYPE_CTA, examples=[example])
    assert "never add a number" in messages[0]["content"]
    assert "Facts: Oat drink, 1 litre. fat pct: 1.5" in messages[-1]["content"]
    assert f"Facts: {prompt_examples.BUILTIN_FACTS[example.title]}" in messages[1]["content"]
    old = prompts.build_messages(
        product=product, lam=0.5, prompt_type=prompts.PROMPT_TYPE_CTA, examples=[example], facts_in_prompt=False
    )
    assert "Facts:" not in "".join(m["content"] for m in old) and "never add" not in old[0]["content"]
    # Every built-in example stays within its own facts: none teaches an invented claim.
    assert all(
        example_is_grounded(e)
        for c in ("fmcg", "apparel", "electronics", "other")
        for e in prompt_examples.builtin_examples(c)
    )
    invented = prompts.FewShotExample(title="Cola", text="Now 50% off, with 40 g of protein. Shop now.")
    assert not example_is_grounded(invented)
