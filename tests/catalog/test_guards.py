"""Unit tests of the copy guards: one or more per claim type and per guard, false positives included."""

from __future__ import annotations

from dataclasses import replace

import pytest

from catalog.guards import (
    GROUNDING,
    PUBLISHABLE,
    TOPIC,
    GuardReport,
    ProductFacts,
    extract_claims,
    fact_index,
    grounding_check,
    guards_check,
    lexical_relevance,
    publishable_check,
    topic_check,
)
from catalog.guards.figures import find_figures
from generator.template_writer import template_copy

HEADPHONES = ProductFacts(
    sku="ELEC-001",
    title="ANC Over-Ear Headphones",
    brand="Hushwave",
    category="Electronics",
    description="Wireless over-ear headphones with active noise cancellation and up to 30 hours of battery life. "
    "Weighs 250 g and connects via Bluetooth 5.3.",
    attributes={"battery_life_h": 30, "weight_g": 250, "connectivity": "Bluetooth 5.3", "noise_cancelling": True},
    price=179.0,
)
CRISPS = ProductFacts(
    sku="FMCG-001",
    title="Sea Salt Lentil Crisps 6-Pack",
    brand="Pantry Pilot",
    category="FMCG",
    description="Baked lentil crisps seasoned with sea salt. The multipack contains six 30 g bags. Add to cart.",
    attributes={"size": "6 x 30 g", "flavor": "sea salt", "pack": 6, "vegan": True},
    price=4.49,
)
TEE = ProductFacts(
    sku="APP-001",
    title="Organic Cotton Crew Tee",
    brand="Northloom",
    category="Apparel",
    description="Crew neck T-shirt made from 180 gsm organic cotton jersey. Regular fit, available in white, black "
    "and heather grey.",
    attributes={
        "material": "organic cotton",
        "fit": "regular",
        "colors": ["white", "black", "heather grey"],
        "sizes": "XS-XXL",
        "weight_gsm": 180,
    },
    price=24.0,
)
JEANS = ProductFacts(
    sku="APP-006",
    title="Straight-Leg Jeans",
    brand="Stitchfolk",
    category="Apparel",
    description="Straight-leg jeans in mid blue denim with 2% elastane. Five-pocket styling and a zip fly.",
    attributes={
        "material": "98% cotton, 2% elastane",
        "fit": "straight",
        "sizes": "W26-W38",
        "inseam_in": [30, 32, 34],
    },
    price=79.0,
)
SPEAKER = ProductFacts(
    sku="ELEC-003",
    title="Portable Bluetooth Speaker",
    brand="Hushwave",
    category="Electronics",
    description="Portable speaker with 20 W output, IP67 dust and water resistance and up to 14 hours of playback "
    "per charge.",
    attributes={"battery_life_h": 14, "weight_g": 540, "output_w": 20, "water_resistance": "IP67"},
    price=69.0,
)
SCALE = ProductFacts(
    sku="HO-ELEC-101",
    title="Digital Kitchen Scale",
    brand="Ampliq",
    category="Electronics",
    description="Digital kitchen scale with a stainless steel platform, 5 kg capacity and 1 g precision.",
    attributes={"capacity_kg": 5, "precision_g": 1, "platform": "stainless steel"},
    price=19.99,
)
WATCH = ProductFacts(
    sku="ELEC-015",
    title="GPS Smartwatch",
    brand="Pixelmere",
    category="Electronics",
    description="Smartwatch with a 1.4-inch AMOLED display and built-in GPS. Up to 7 days of battery life, water "
    "resistant to 5 ATM.",
    attributes={"battery_life_h": 168, "water_resistance": "5 ATM", "gps": True},
)

WASHING_UP = ProductFacts(
    sku="HO-FMCG-102",
    title="Phosphate-Free Washing-Up Liquid 500 ml",
    brand="Glimmerwash",
    category="FMCG",
    description="Plant-based washing-up liquid, phosphate-free, with a green apple scent. Comes in a 500 ml bottle "
    "made from 100% recycled plastic.",
    attributes={"size": "500 ml", "scent": "green apple", "bottle": "100% recycled plastic", "plant_based": True},
)
EARBUDS = ProductFacts(
    sku="ELEC-002",
    title="True Wireless Earbuds",
    brand="Hushwave",
    category="Electronics",
    description="True wireless earbuds with 8 hours of playback per charge and 32 hours in total with the case. "
    "IPX4 splash resistant.",
    attributes={"battery_life_h": 8, "case_battery_h": 32, "water_resistance": "IPX4"},
)
PARKA = ProductFacts(
    sku="HO-APP-103",
    title="Recycled Down Parka",
    brand="Tidewell",
    category="Apparel",
    description="Hooded parka filled with 650-fill recycled down, with a 15,000 mm waterproof shell and a two-way zip.",
    attributes={"material": "recycled polyester shell", "fill": "recycled down", "waterproof_mm": 15000},
)
BEANIE = ProductFacts(
    sku="HO-APP-102",
    title="Ribbed Merino Beanie",
    brand="Tidewell",
    category="Apparel",
    description="Rib-knit beanie in 100% merino wool with a fold-over cuff. One size.",
    attributes={"material": "100% merino wool", "colors": ["mustard", "charcoal", "navy"], "sizes": "one size"},
)
RUGGED = ProductFacts(
    sku="HO-ELEC-103",
    title="Rugged Waterproof Speaker",
    brand="Hushwave",
    category="Electronics",
    description="Rugged Bluetooth 5.3 speaker rated IPX7 waterproof, with 12 hours of playback, 10 W output and a "
    "built-in carabiner.",
    attributes={"battery_life_h": 12, "output_w": 10, "water_resistance": "IPX7"},
)

ROUTER = ProductFacts(
    sku="HO-ELEC-102",
    title="Wi-Fi 6 Dual-Band Router",
    brand="Ampliq",
    category="Electronics",
    description="Dual-band Wi-Fi 6 router with speeds up to 3000 Mbps, four gigabit Ethernet ports and WPA3 security.",
    attributes={"standard": "Wi-Fi 6", "speed_mbps": 3000, "lan_ports": 4, "bands": 2, "security": "WPA3"},
)


def unsupported(text: str, facts: ProductFacts) -> list[str]:
    return [c.text for c in extract_claims(text, fact_index(facts)) if not c.supported]


# --- figures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dim", "value"),
    [
        ("30 hours", "time", 30.0),
        ("a 30-hour battery", "time", 30.0),
        ("thirty hours", "time", 30.0),
        ("up to 7 days", "time", 168.0),
        ("250 g", "mass", 250.0),
        ("1 kg", "mass", 1000.0),
        ("330 ml", "volume", 330.0),
        ("1.5 L", "volume", 1500.0),
        ("10,000 mm", "length", 10000.0),
        ("5 cm", "length", 50.0),
        ("a 10-inch screen", "length", 254.0),
        ('a 10" screen', "length", 254.0),
        ("65W", "power", 65.0),
        ("20,000 mAh", "charge", 20000.0),
        ("50%", "percent", 50.0),
        ("a six-pack", "count", 6.0),
        ("Thirty-six pods", "count", 36.0),
        ("a dozen bars", "count", 12.0),
        ("$24.00", "price", 24.0),
    ],
)
def test_figures_are_normalised(text: str, dim: str, value: float) -> None:
    figures = find_figures(text)
    assert figures, text
    assert figures[0].dim == dim
    assert figures[0].value == pytest.approx(value, rel=1e-3)


def test_multipack_figures_give_count_and_size() -> None:
    assert [(f.dim, f.value) for f in find_figures("6 x 30 g")] == [("count", 6.0), ("mass", 30.0)]
    eu = find_figures("sizes EU 36 to 46")[0]
    assert (eu.dim, eu.low, eu.value) == ("eu_size", 36.0, 46.0)
    assert find_figures("24/7 support") == []
    assert find_figures("the 7-in-1 hub") == []


def test_contradicting_figure_is_named_with_the_data_value() -> None:
    findings = grounding_check("Battery life of 17 hours of charge.", fact_index(HEADPHONES))
    assert findings[0].message == 'unsupported claim: "17 hours" (product data: 30 hours, 30 h)'
    assert findings[0].code == "contradicted_figure"
    assert findings[0].claim == "17 hours"


@pytest.mark.parametrize(
    "text",
    [
        "Up to thirty hours of battery life.",
        "A 30-hour battery and a 250 g frame.",
        "Keeps playing for up to 30 hours.",
    ],
)
def test_paraphrased_figures_are_supported(text: str) -> None:
    assert unsupported(text, HEADPHONES) == []


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        ("Six 30 g bags in a six-pack.", []),
        ("Twelve bags with 90 calories each.", ["Twelve", "90 calories"]),
    ],
)
def test_counts_and_pack_sizes(text: str, claims: list[str]) -> None:
    assert unsupported(text, CRISPS) == claims


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        ("Up to 7 days of battery life and 5 ATM water resistance.", []),
        ("Up to 14 days of battery life.", ["14 days"]),
    ],
)
def test_week_is_seven_days_of_hours(text: str, claims: list[str]) -> None:
    assert unsupported(text, WATCH) == claims


# --- standards, acronyms, features ---------------------------------------------------------------


def test_standards_compare_family_and_version() -> None:
    assert unsupported("Connects over Bluetooth 5.3.", HEADPHONES) == []
    assert unsupported("Connects over Bluetooth.", HEADPHONES) == []
    findings = grounding_check("Connects over Bluetooth 5.0.", fact_index(HEADPHONES))
    assert findings[0].code == "contradicted_standard"
    assert "bluetooth 5.3" in findings[0].message
    assert unsupported("Rated IPX7 with HDMI 2.0 and Wi-Fi 6.", HEADPHONES) == ["IPX7", "HDMI 2.0", "Wi-Fi 6"]
    assert unsupported("IP67 rated.", SPEAKER) == []


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        ("8mm (HDLC) drivers with EDTA coating.", ["8mm", "HDLC", "EDTA"]),
        ("The ANC headphones from Hushwave.", []),
    ],
)
def test_unknown_acronyms_are_claims(text: str, claims: list[str]) -> None:
    assert unsupported(text, HEADPHONES) == claims


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        (
            "It pairs via Bluetooth with our app, and its rechargeable battery supports fast charging.",
            ["Bluetooth", "app", "rechargeable", "battery", "fast charging"],
        ),
        ("Stainless steel platform, 5 kg in 1 g steps.", []),
    ],
)
def test_features_the_product_lacks(text: str, claims: list[str]) -> None:
    assert unsupported(text, SCALE) == claims


def test_waterproof_needs_a_waterproof_rating() -> None:
    assert unsupported("Dust and water resistant, and waterproof.", SPEAKER) == []  # IP67
    splash = ProductFacts(sku="x", title="Earbuds", category="Electronics", description="IPX4 splash resistant.")
    assert unsupported("Water resistant earbuds.", splash) == []
    assert unsupported("Fully waterproof earbuds.", splash) == ["waterproof"]


# --- materials, fibre shares, colours, sizes, certifications ---------------------------------------


def test_materials_and_fibre_shares() -> None:
    assert unsupported("In 98% cotton with 2% elastane for stretch.", JEANS) == []
    assert unsupported("In 100% cotton.", JEANS) == ["100% cotton"]
    assert unsupported("A cashmere blend with a sapphire button.", JEANS) == ["cashmere", "sapphire"]
    assert grounding_check("In 100% cotton.", fact_index(JEANS))[0].code == "contradicted_fibre_share"


@pytest.mark.parametrize(
    ("text", "facts", "claims"),
    [
        ("In white, black or heather grey.", TEE, []),
        ("Available in red and olive.", TEE, ["red", "olive"]),
        ("Golden, crunchy and a little green.", CRISPS, []),
    ],
)
def test_colours_are_checked_for_apparel_not_food(text: str, facts: ProductFacts, claims: list[str]) -> None:
    assert unsupported(text, facts) == claims


@pytest.mark.parametrize(
    ("text", "facts", "claims"),
    [
        ("Sizes XS to XXL.", TEE, []),
        ("Available up to 3XL.", TEE, ["3XL"]),
        ("Waist sizes W26 to W38.", JEANS, []),
        ("Waist sizes W26 to W40.", JEANS, ["W26 to W40"]),
    ],
)
def test_sizes_must_be_in_the_range(text: str, facts: ProductFacts, claims: list[str]) -> None:
    assert unsupported(text, facts) == claims


@pytest.mark.parametrize(
    ("text", "facts", "claims"),
    [
        ("Organic cotton, GOTS certified.", TEE, ["GOTS"]),
        ("Vegan lentil crisps.", CRISPS, []),
        ("Organic, gluten-free and sustainably sourced.", CRISPS, ["Organic", "gluten-free", "sustainably sourced"]),
        ("Clinically proven and dermatologically tested.", CRISPS, ["Clinically proven", "dermatologically tested"]),
    ],
)
def test_certifications_and_green_claims(text: str, facts: ProductFacts, claims: list[str]) -> None:
    assert unsupported(text, facts) == claims


# --- comparatives and the superlative policy -------------------------------------------------------


def test_puffery_is_allowed_but_comparisons_are_claims() -> None:
    assert unsupported("The best headphones you will ever own, with amazing sound.", HEADPHONES) == []
    assert unsupported("Our most delicious crisps yet.", CRISPS) == []
    assert unsupported("The #1 best-selling crisps.", CRISPS) == ["#1", "best-selling"]
    assert "50% more" in unsupported("Delivers 50% more bass.", HEADPHONES)
    assert unsupported("The lightest headphones on the market.", HEADPHONES) == ["lightest", "on the market"]
    assert unsupported("A family favorite, loved by thousands.", CRISPS) == ["family favorite", "loved by thousands"]
    assert unsupported("A soft tee from ethical labor.", TEE) == ["ethical labor"]
    assert unsupported("A speaker of industry acclaim.", HEADPHONES) == ["industry acclaim"]
    assert unsupported("Made from the world's finest cotton.", TEE) == ["world's finest"]
    assert unsupported("Performance unbeaten by industry benchmarks.", HEADPHONES) == [
        "unbeaten",
        "industry benchmarks",
    ]
    assert unsupported("Solid sound and an impressive performance rating.", HEADPHONES) == ["performance rating"]
    assert unsupported("A tee of soft, fluffy organic cotton with a silky feel.", TEE) == ["fluffy", "silky"]
    assert unsupported("A 650-fill recycled down parka, fluffy and warm.", PARKA) == []
    # Read in the final held-out picks of stop 21 (a knit beanie in three colours).
    assert unsupported("A beanie with cushioning fabric. You can choose any colour you desire.", TEE) == [
        "cushioning",
        "choose any colour",
    ]
    assert unsupported("An organic cotton tee in white, black or heather grey: pick your colour.", TEE) == []


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "facts", "claims"),
    [
        ("Sony-engineered drivers.", HEADPHONES, ["Sony-engineered"]),
        ("Compatible with your MacBook and iPhone.", HEADPHONES, ["MacBook", "iPhone"]),
        ("Ear cushions in a Nocturnal Lux finish.", HEADPHONES, ["Nocturnal Lux"]),
        ("Nocturnal Lux finish.", HEADPHONES, ["Nocturnal Lux"]),
        ("Made from 100% Egyptian cotton.", TEE, ["100% Egyptian cotton", "Egyptian"]),
    ],
)
def test_other_brands_and_invented_names(text: str, facts: ProductFacts, claims: list[str]) -> None:
    assert unsupported(text, facts) == claims


def test_catalog_brands_passed_in_are_flagged() -> None:
    index = fact_index(CRISPS, other_brands=("Kettlewick", "Pantry Pilot"))
    assert [c.text for c in extract_claims("Better than Kettlewick.", index) if not c.supported] == ["Kettlewick"]
    assert [c.text for c in extract_claims("Pantry Pilot's crisps.", index) if not c.supported] == []


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        (
            "Crunchy, salty and baked. Silence the commute. The Hushwave ANC Over-Ear Headphones weigh 250 g.",
            HEADPHONES,
        ),
        ("Caught in a downpour? Grab a six-pack from Pantry Pilot.", CRISPS),
    ],
)
def test_capitalised_ordinary_words_are_not_names(text: str, facts: ProductFacts) -> None:
    assert unsupported(text, facts) == []


# --- topic ----------------------------------------------------------------------------------------


def test_other_product_types_are_off_topic() -> None:
    findings = topic_check("The perfect breakfast burger.", fact_index(CRISPS))
    assert [f.code for f in findings] == ["off_topic_product"]
    assert findings[0].message == 'off topic: mentions "burger", which this product is not'
    laptops = topic_check("Our refurbished laptops are tested and ready for work.", fact_index(SPEAKER))
    assert {f.code for f in laptops} == {"off_topic_product", "unrelated_text"}


def test_companion_mentions_are_on_topic() -> None:
    assert topic_check("These headphones pair with your phone and laptop.", fact_index(HEADPHONES)) == ()
    assert topic_check("Wear the tee under a jacket or with jeans.", fact_index(TEE)) == ()
    assert topic_check("Crunchy lentil crisps for your lunchbox.", fact_index(CRISPS)) == ()


def test_relevance_and_similarity_hook() -> None:
    index = fact_index(HEADPHONES)
    assert lexical_relevance("Wireless headphones with noise cancellation.", index) > 0.5
    assert lexical_relevance("Discover our summer garden furniture range.", index) == 0.0
    low = topic_check("Wireless headphones.", index, similarity=0.05)
    assert [f.code for f in low] == ["low_similarity"]
    assert topic_check("Wireless headphones.", index, similarity=0.6) == ()


# --- publishability --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[Your Email Address] [Your Email Service Provider]", "placeholder"),
        ("Mix it with some extra cheese for a creamy treat (laughs).", "chat_artefact"),
        ("So good lol, grab a bag.", "chat_artefact"),
        ("As an AI language model, I cannot describe this.", "chat_artefact"),
        ("Read more at https://example.com/crisps today.", "url"),
        ("Write to sales@example.com for details.", "email"),
        ("A bit overpriced but so delicious.", "disparaging"),
        ("The fit is unflattering and it looks cheap.", "disparaging"),
        ("Free shipping on every order.", "offer"),
        ("Now 20% off with coupon code CRISP20.", "offer"),
        ("Free shipping at 1 % off for 3 months.", "offer"),
        ("Order a bag now for a free tote.", "offer"),
        ("Shop now and get a better deal tomorrow.", "offer"),
        ("Choose something new each month.", "offer"),
        ("Shop now, get free upgrades!", "offer"),
        ("Lentil crisps, found at any of the major retailers.", "offer"),
        ("Lentil crisps. Start saving today.", "price_claim"),
        ("Lentil crisps with a small price tag, just 150 g.", "price_claim"),  # fresh held-out pick, stop 22
        ("Lentil crisps, but let's make it better.", "chat_artefact"),
        ("Meet the crisps. 24/Crunchy. Versatility.", "fragment"),
        ("Stock up on breakfast without sacrificing your wallet.", "price_claim"),
        ("Yours for just $3.99 this week.", "price"),
        ("Battery Life: 17 hours. Weight: 250 g.", "field_list"),
        ("Fresh mint toothpaste fresh mint toothpaste fresh mint toothpaste.", "repetition"),
        ("Meet the Organic Baby Bodysuit 3-Pack. 100% organic cotton. 100% organic cotton.", "repetition"),
        ("Rain jacket waterproof taped seams adjustable hood packable recycled nylon", "unfinished"),
        ("Rain jacket waterproof taped seams adjustable hood packable nylon.", "not_a_sentence"),
        ("Great crisps for the...", "unfinished"),
        ("Agua con gas de lima, doce latas de agua.", "not_english"),
    ],
)
def test_publishability_findings(text: str, code: str) -> None:
    codes = [f.code for f in publishable_check(text, fact_index(CRISPS))]
    assert code in codes, codes


@pytest.mark.parametrize(
    ("product", "text"),
    [
        (CRISPS, "Six 30 g bags of baked lentil crisps. Add a six-pack to your cart."),
        (TEE, "Soft organic cotton jersey, never itchy, and easy to wash. Order yours today."),
        (SCALE, "Bake with precision: this scale measures to the gram."),
        (CRISPS, "Yours for $4.49."),
        (WATCH, "Read by the pool: the AMOLED display is glare-free. Shop now!"),
    ],
)
def test_publishable_copy_passes(product: ProductFacts, text: str) -> None:
    # each text with its own product: "says nothing" judges the copy against that product's data
    assert publishable_check(text, fact_index(product)) == ()


# --- entry point and template writer ---------------------------------------------------------------


def test_guards_check_reports_every_guard() -> None:
    report = guards_check("Battery Life: 17 hours of charge. Our refurbished laptops (laughs)", HEADPHONES)
    assert isinstance(report, GuardReport)
    assert not report.passed
    assert {f.guard for f in report.findings} == {GROUNDING, TOPIC, PUBLISHABLE}
    assert report.by_guard(GROUNDING)[0].claim == "17 hours"
    good = guards_check(
        "Up to thirty hours of battery life and active noise cancellation. Order yours today.", HEADPHONES
    )
    assert good == GuardReport(passed=True, findings=())
    only = guards_check("Battery Life: 17 hours.", fact_index(HEADPHONES), guards=[GROUNDING])
    assert {f.guard for f in only.findings} == {GROUNDING}
    with pytest.raises(ValueError, match="unknown guards"):
        guards_check("x", HEADPHONES, guards=["brand"])


def test_template_copy_is_deterministic_grounded_and_has_a_cta() -> None:
    text = template_copy(HEADPHONES)
    assert text == template_copy(HEADPHONES)
    assert text == (
        "Meet the ANC Over-Ear Headphones from Hushwave. They offer up to 30 hours of battery life, "
        "a weight of 250 g and Bluetooth 5.3 connectivity. Order yours today."
    )
    assert template_copy(TEE, cta=False) == (
        "Meet the Organic Cotton Crew Tee from Northloom. It is made from organic cotton, with a regular fit, "
        "in white, black or heather grey."
    )
    for facts in (HEADPHONES, CRISPS, TEE, JEANS, SPEAKER, SCALE, WATCH):
        assert guards_check(template_copy(facts), facts).clean, template_copy(facts)


def test_an_attribute_key_names_its_value():
    """{"bluetooth": "5.3"} supports "Bluetooth 5.3"; another version is still unsupported."""
    index = fact_index(ProductFacts(sku="x", title="Headphones", attributes={"bluetooth": "5.3"}))
    assert guards_check("Pairs over Bluetooth 5.3 in a second.", index, guards=["grounding"]).passed
    report = guards_check("Pairs over Bluetooth 5.0 in a second.", index, guards=["grounding"])
    assert not report.passed and '"Bluetooth 5.0"' in report.messages[0]


# --- what a copy editor's reading of the generator's picks added (stop 19) -------------------------


@pytest.mark.parametrize(
    ("product", "text", "code"),
    [
        (JEANS, "Our company has made jeans for years, with excellent customer service.", "company_talk"),
        (SCALE, "A delicious kitchen scale for precise baking.", "not_food"),
        (TEE, "An affordable organic cotton tee. Shop now.", "price_claim"),
        (TEE, "A tee that won't break the bank.", "price_claim"),
        (SCALE, "A portable kitchen scale you can take anywhere.", "unsupported_feature"),
        (
            HEADPHONES,
            "Made from scratch with natural materials, these headphones are wireless.",
            "unsupported_certification",
        ),
        (SCALE, "A healthy choice for your kitchen: a digital scale.", "unsupported_certification"),
        (SPEAKER, "The portable speaker for every trip. VIPzx.", "unsupported_name"),
        (SCALE, "The latest digital kitchen scale.", "comparative_claim"),
        (SCALE, "Be clear about features you're offering. A digital kitchen scale.", "chat_artefact"),
        (CRISPS, "Baked lentil crisps with cocoa and sea salt.", "unsupported_ingredient"),
        (CRISPS, "Lentil crisps in stock, with fast delivery.", "offer"),
        (SCALE, "A digital kitchen scale for any budget.", "price_claim"),
        (CRISPS, "Lentil Crisps. This Means Simple Fun, And Good Times.", "title_case"),
        (
            TEE,
            "Organic cotton tee with a neck collar in merino yarn, versatile handshake and bespoke tailoring.",
            "beyond_data",
        ),
        (SCALE, "A digital kitchen scale to make your breakfast easier.", "not_food"),
        (CRISPS, "Phosphoparathane lentil crisps, baked with sea salt.", "unsupported_name"),
        (CRISPS, "Limited-edition lentil crisps with sea salt.", "comparative_claim"),
        (CRISPS, "Lentil crisps baked by a trusted team of snack lovers.", "company_talk"),
        (CRISPS, "Lentil crisps, the best in the market.", "comparative_claim"),
        (CRISPS, "Baked lentil crisps. Now, let's talk about what they do best.", "chat_artefact"),
        (CRISPS, "Baked lentil crisps with sea salt. Order now, order tomorrow.", "chat_artefact"),
        (CRISPS, "Baked lentil crisps, easy on the wallet.", "price_claim"),
        (CRISPS, "Baked lentil crisps, the best in the world.", "comparative_claim"),
        (SCALE, "A digital kitchen scale, but there's still room to improve.", "disparaging"),
        (
            CRISPS,
            "Baked lentil crisps. Your staff will be happier and brighter every single morning.",
            "filler_sentence",
        ),
        # stop 20: what a reading of the held-out picks still found
        (RUGGED, "The rugged speaker keeps you dry and safe in any climate.", "unsupported_ability"),
        (SPEAKER, "A portable speaker that cancels out background noise.", "unsupported_ability"),
        (SPEAKER, "A portable speaker that keeps your drinks cold.", "unsupported_ability"),
        (TEE, "An organic cotton tee that keeps you warm, with a stain-resistant finish.", "unsupported_ability"),
        (WASHING_UP, "Plant-based washing-up liquid that kills 99.9% of germs.", "unsupported_ability"),
        (WASHING_UP, "The washing-up liquid is made from 100% sustainable materials.", "misattributed_claim"),
        (BEANIE, "A beanie knitted from 100% cashmere-soft yarn.", "misattributed_claim"),
        (CRISPS, 'Baked lentil crisps. "Family size," "Fresh," "Everyday." Add them to your cart.', "quoted_labels"),
        (RUGGED, "The Rugged Waterproof Speaker is ready to impress. Get started here. Shop now!", "placeholder"),
        (TEE, "An organic cotton crew tee. Tap the link below to see every colour.", "placeholder"),
        (PARKA, "A weatherproof parka with 650-fill recycled down.", "unsupported_ability"),
        (WASHING_UP, "Plant-based washing-up liquid made from 100% recycled plastic.", "misattributed_claim"),
        (PARKA, "A hooded parka made from recycled polyester.", "misattributed_claim"),
        (SCALE, "A kitchen scale with a stainless steel display.", "misattributed_claim"),
        (SCALE, "A digital kitchen scale with 5 kg precision.", "misattributed_claim"),
        (EARBUDS, "True wireless earbuds with 32 hours of battery life.", "misattributed_claim"),
        (BEANIE, "A merino beanie you can wrap like a burqa.", "off_topic_product"),
        (TEE, "An organic cotton tee that doubles as a kimono.", "off_topic_product"),
        (BEANIE, "Bite into winter with a merino beanie.", "not_food"),
        (
            SCALE,
            "With the Digital Kitchen Scale, you'll find everything you need to make shopping fun and exciting.",
            "vacuous",
        ),
        # stop 20, from reading the held-out picks of the run with the rules above
        (ROUTER, "A Wi-Fi 6 router with two gigabit wireless connections.", "misattributed_claim"),
        (BEANIE, "A merino beanie that comes in a variety of different sizes.", "unsupported_size"),
        (CRISPS, "Baked lentil crisps with sea salt: try a new flavour of the month.", "unsupported_feature"),
        (CRISPS, "Baked lentil crisps. Make sure to order at least 100 units tomorrow.", "offer"),
        (
            RUGGED,
            "With the Rugged Waterproof Speaker, you're ready to elevate your gaming experience. Get your order now!",
            "vacuous",
        ),
        (
            WASHING_UP,
            "With the Phosphate-Free Washing-Up Liquid, you can turn your life around. Every little bit helps.",
            "vacuous",
        ),
    ],
)
def test_each_new_rule_names_its_finding(product, text, code) -> None:
    report = guards_check(text, product)
    assert code in {f.code for f in report.findings}, report.messages


@pytest.mark.parametrize(
    ("product", "text"),
    [
        (CRISPS, "Delicious baked lentil crisps with sea salt, a tasty snack for your lunchbox. Shop now."),
        (SPEAKER, "Take this portable speaker anywhere: 14 hours of playback and IP67 water resistance."),
        (SCALE, "Weigh your baking to the gram on a stainless steel platform. Order today."),
        (TEE, "An organic cotton crew tee in a regular fit. Wear it with your favourite jeans."),
        # stop 20: the same register, grounded
        (RUGGED, "The rugged speaker is IPX7 waterproof, with 12 hours of playback. Order today."),
        (HEADPHONES, "Wireless headphones that block out the commute with active noise cancellation."),
        (BEANIE, "A rib-knit beanie in 100% merino wool that keeps your ears warm."),
        (PARKA, "A 650-fill recycled down parka with a waterproof shell that keeps you dry."),
        (WASHING_UP, "Plant-based washing-up liquid in a 500 ml bottle made from 100% recycled plastic."),
        (PARKA, "A hooded parka with a recycled polyester shell and 650-fill recycled down."),
        (SCALE, "A digital kitchen scale with 5 kg capacity and 1 g precision on a stainless steel platform."),
        (EARBUDS, "Up to 8 hours of playback per charge and 32 hours in total with the case."),
        (BEANIE, "A rib-knit merino beanie with a fold-over cuff. Wear it with your favourite scarf."),
        (CRISPS, "Bite into baked lentil crisps seasoned with sea salt."),
        (SCALE, "The Digital Kitchen Scale weighs up to 5 kg in 1 g steps on a stainless steel platform."),
        (ROUTER, "Four gigabit Ethernet ports, two bands and WPA3 security on a Wi-Fi 6 router."),
        (TEE, "An organic cotton crew tee in a full range of sizes, XS to XXL."),
        (CRISPS, "Baked lentil crisps with a sea salt flavour. Add a six-pack to your cart."),
        (WASHING_UP, "The Phosphate-Free Washing-Up Liquid cuts through grease with a green apple scent."),
        (WASHING_UP, "Its bottle is 100% recycled plastic: 100% of it."),
        (TEE, 'An organic cotton tee in a regular fit: "the everyday tee", as its wearers call it.'),
        # Stop 21's rules, on what a reviewer found they caught wrongly at first.
        (HEADPHONES, "Noise cancellation makes long flights a great deal quieter, with 30 hours of battery life."),
        (TEE, "An organic cotton tee in a regular fit for free movement."),
        (TEE, "Organic cotton tees fold flat and free up space in your drawer."),
        (HEADPHONES, "Wireless over-ear headphones with 30 hours of battery life. Effortless."),
        (HEADPHONES, "Noise cancellation on, world off. Ready? Go."),
        (TEE, "An organic cotton crew tee in sizes XS to XXL: choose your size."),
    ],
)
def test_the_new_rules_leave_grounded_copy_alone(product, text) -> None:
    assert guards_check(text, product).messages == ()


def test_stop_20_findings_quote_the_claim_and_what_the_data_says() -> None:
    index = fact_index(WASHING_UP)
    assert grounding_check("Washing-up liquid made from 100% recycled plastic.", index)[0].message == (
        'misattributed claim: "made from 100% recycled plastic" (product data: said of the bottle)'
    )
    assert grounding_check("A scale with 5 kg precision.", fact_index(SCALE))[0].message == (
        'misattributed claim: "5 kg precision" (product data: precision 1 g)'
    )
    assert grounding_check("Made from 100% sustainable materials.", index)[0].message == (
        'misattributed claim: "100% sustainable" (product data: 100% recycled plastic)'
    )
    # A whole presented as one of several (read in stop 21's held-out picks).
    assert grounding_check("Soft yarns, including 100% merino wool.", fact_index(BEANIE))[0].message == (
        'misattributed claim: "including 100% merino wool" (product data: 100% merino wool is all of it, not one of '
        "several)"
    )
    assert grounding_check("A beanie of 100% merino wool, including the cuff.", fact_index(BEANIE)) == ()
    # Data with two 100 % shares has several parts: "such as 100% cotton" may be fair there.
    jacket = ProductFacts.from_mapping(
        {"sku": "J", "title": "Rain Jacket", "brand": "X", "category": "Apparel", "attributes": {},
         "description": "A rain jacket: shell of 100% recycled polyester, lining of 100% cotton."}
    )  # fmt: skip
    assert grounding_check("A recycled polyester shell and a lining such as 100% cotton.", fact_index(jacket)) == ()
    # Sourcing is not working conditions: "ethically sourced" data does not support "ethical labor".
    sourced = ProductFacts.from_mapping(
        {"sku": "S", "title": "Cotton Tee", "brand": "X", "category": "Apparel", "attributes": {},
         "description": "A tee of ethically sourced cotton."}
    )  # fmt: skip
    assert [f.claim for f in grounding_check("A cotton tee made with ethical labor.", fact_index(sourced))] == [
        "ethical labor"
    ]
    assert grounding_check("An ethically sourced cotton tee.", fact_index(sourced)) == ()
    assert grounding_check("It keeps you dry.", fact_index(RUGGED))[0].message == (
        'unsupported claim: "keeps you dry" (an ability the product data does not state)'
    )


# Read in the generator's picks for nine fresh held-out products (stop 22), before these rules existed:
# who made a product and where it came from, what it is for, what is in it, and dietary claims.
SHIRT = ProductFacts(
    sku="HO-APP-201",
    title="Linen Button-Down Shirt",
    brand="Saltmere",
    category="Apparel",
    description="Relaxed-fit shirt in 100% linen with a button-down collar and one chest pocket.",
    attributes={"material": "100% linen"},
    price=49.0,
)
STICK = ProductFacts(
    sku="HO-ELEC-202",
    title="4K Streaming Stick",
    brand="Lumacast",
    category="Electronics",
    description="HDMI streaming stick for 4K HDR video, with Wi-Fi 6 and a voice remote.",
    attributes={"wifi": "Wi-Fi 6"},
    price=49.0,
)
YOGURT = ProductFacts(
    sku="HO-FMCG-203",
    title="Greek-Style Natural Yogurt 500 g",
    brand="Dalebrook",
    category="FMCG",
    description="Thick strained yogurt made with whole milk, with live cultures and no added sugar.",
    attributes={"size": "500 g"},
    price=1.65,
)


@pytest.mark.parametrize(
    ("facts", "text", "claim"),
    [
        (SHIRT, "A linen shirt crafted by the finest artisans.", "artisans"),
        (SHIRT, "Made by skilled craftsmen in 100% linen.", "craftsmen"),
        (SHIRT, "A linen shirt using materials sourced from around the world.", "sourced from around the world"),
        (STICK, "Meet the 4K Streaming Stick, a powerhouse gaming device.", "gaming"),
        (YOGURT, "Creamy Greek-style yogurt with spices and a touch of honey.", "spices"),
        (YOGURT, "Greek-style yogurt that can be used as a breakfast replacement.", "breakfast replacement"),
    ],
)
def test_making_origin_use_ingredient_and_diet_claims_need_the_data(facts: ProductFacts, text: str, claim: str) -> None:
    assert claim in unsupported(text, facts)


@pytest.mark.parametrize(
    ("facts", "text"),
    [
        (
            replace(SHIRT, description="Hand-made by artisans in Portugal from 100% linen."),
            "A linen shirt made by artisans.",
        ),
        (replace(STICK, description="HDMI streaming stick for 4K video and cloud gaming."), "Ready for gaming in 4K."),
        (replace(YOGURT, description="Greek-style yogurt with mixed spices."), "Greek-style yogurt with spices."),
    ],
)
def test_the_same_claims_pass_when_the_data_states_them(facts: ProductFacts, text: str) -> None:
    assert unsupported(text, facts) == []
