"""Data phrases (`catalog.guards.data_phrases`): generated copy may use the product's words only in the
relations its data puts them in: "natural" of the colour is not "natural cotton"."""

from __future__ import annotations

import pytest

from catalog.guards import GROUNDING, ProductFacts, fact_index, guards_check
from catalog.guards.closed_vocabulary import closed_vocabulary_check, invented_names
from catalog.guards.data_phrases import (
    bare_figures,
    contradicted_phrases,
    data_phrases_check,
    misattributed_measures,
    unsupported_phrases,
)
from catalog.guards.trim import guards_trim

# The products of the fourth held-out set whose picks (stop 23) recombined data words into claims.
TOTE = ProductFacts(
    sku="HO-APP-402",
    title="Canvas Tote Bag",
    brand="Weftworks",
    category="Apparel",
    description="Tote bag in 100% cotton canvas with two long handles and an inside pocket. "
    "38 x 42 cm; natural colour.",
    attributes={"material": "100% cotton canvas", "dimensions": "38 x 42 cm", "handles": 2, "colour": "natural"},
)
GILET = ProductFacts(
    sku="HO-APP-401",
    title="Quilted Gilet",
    brand="Harbrook",
    category="Apparel",
    description="Lightweight quilted gilet with a stand collar, two zipped hand pockets and a recycled polyester "
    "filling. Sizes S to XL; olive green.",
    attributes={"filling": "recycled polyester", "pockets": 2, "sizes": "S-XL", "colour": "olive green"},
)
TAGS = ProductFacts(
    sku="HO-ELEC-401",
    title="Bluetooth Tracker Tag 2-Pack",
    brand="Findwell",
    category="Electronics",
    description="Two Bluetooth tracker tags that ring from a phone app up to 60 m away. Replaceable CR2032 battery "
    "lasting about one year.",
    attributes={"pack": 2, "range_m": 60, "battery": "CR2032", "battery_life": "about 1 year"},
)
# And of the third set's.
TOOTHBRUSH = ProductFacts(
    sku="HO-ELEC-303",
    title="Rechargeable Electric Toothbrush",
    brand="Brightbrush",
    category="Electronics",
    description="Sonic electric toothbrush with three cleaning modes, a two-minute timer and a battery that lasts "
    "up to 30 days per charge. Charges over USB-C.",
    attributes={"modes": 3, "battery_days": 30, "charging": "USB-C"},
)
SCARF = ProductFacts(
    sku="HO-APP-301",
    title="Lambswool Check Scarf",
    brand="Tweedle",
    category="Apparel",
    description="Scarf woven from 100% lambswool in a navy and green check, with fringed ends. 180 x 30 cm; hand wash.",
    attributes={"material": "100% lambswool", "dimensions": "180 x 30 cm", "care": "hand wash"},
)
EARBUDS = ProductFacts(
    sku="ELEC-002",
    title="True Wireless Earbuds",
    brand="Sonique",
    category="Electronics",
    description="True wireless earbuds with 8 hours of playback per charge and 32 hours in total with the case. "
    "IPX4 splash resistant.",
    attributes={"battery_life_h": 8, "case_battery_h": 32, "water_resistance": "IPX4"},
)


# The seventh set's (stop 26).
JAM = ProductFacts(
    sku="HO-FMCG-704",
    title="Strawberry Jam 340 g",
    brand="Orchard Row",
    category="FMCG",
    description="Strawberry jam with 50 g of fruit per 100 g, in a 340 g glass jar. Refrigerate after opening.",
    attributes={"weight": "340 g", "fruit_per_100g": "50 g", "jar": "glass"},
)
SHAMPOO = ProductFacts(
    sku="HO-FMCG-702",
    title="Coconut Shampoo 400 ml",
    brand="Palmwell",
    category="FMCG",
    description="Moisturising shampoo with coconut oil for dry hair, in a 400 ml bottle made from 50% recycled "
    "plastic. Sulphate-free.",
    attributes={"volume": "400 ml", "hair_type": "dry", "sulphate_free": True, "bottle": "50% recycled plastic"},
)


@pytest.mark.parametrize(
    ("facts", "text", "phrase"),
    [
        (TOTE, "Made with natural cotton, for every day.", "natural cotton"),  # natural is the colour
        (TOTE, "Comes in a beautiful color of natural materials.", "natural materials"),
        (GILET, "A hand quilted gilet for every day.", "hand quilted gilet"),  # hand is the pockets'
        (GILET, "A recycled polyester gilet to layer up.", "recycled polyester gilet"),  # the filling is
        (TOOTHBRUSH, "A sonic toothbrush for 3 cleanings every day.", "3 cleanings"),  # three is the modes
        (SCARF, "Choose from 30 other scarfs.", "30 other scarfs"),  # 30 is the width in cm
        (TAGS, "Get 2 more Bluetooth trackers to ring from your phone.", "2 more Bluetooth trackers"),
    ],
)
def test_data_words_put_together_as_the_data_does_not_are_a_finding(facts, text, phrase) -> None:
    index = fact_index(facts)
    assert phrase in unsupported_phrases(text, index)
    finding = next(f for f in data_phrases_check(text, index) if f.claim == phrase)
    assert finding.guard == GROUNDING and finding.code == "unsupported_phrase"
    assert f'"{phrase}"' in finding.message
    assert not guards_check(text, index, closed_vocabulary=True).passed


@pytest.mark.parametrize(
    ("facts", "text"),
    [
        # the data's own runs, in order with gaps: "2 pockets" of "two zipped hand pockets"
        (GILET, "A lightweight quilted gilet with 2 pockets and a recycled polyester filling, in olive green."),
        # a whole-product attribute (colour, material) before the product's own noun
        (GILET, "An olive green gilet with a stand collar."),
        (TOTE, "A natural tote bag in cotton canvas with two long handles."),
        (TOTE, "A cotton canvas tote with an inside pocket, 38 x 42 cm."),
        # a figure with no unit ends with its data run; measures close their run
        (TOOTHBRUSH, "Three cleaning modes and a battery that lasts up to 30 days per charge."),
        (TOOTHBRUSH, "Choose from 3 modes, with a 30 days battery."),
        # the brand breaks a run; the product's noun then what the data says it does
        (GILET, "Harbrook quilted gilet, sizes S to XL."),
        (TAGS, "Bluetooth tracker tags ring up to 60 m away."),
        # codes are one token ("IPX4"); "resistance" and "resistant" are one word
        (EARBUDS, "True wireless earbuds with IPX4 splash resistance and 8 hours of playback."),
        # a glued measure is a figure and its unit
        (SCARF, "A lambswool check scarf, 180x30cm, with fringed ends."),
    ],
)
def test_the_datas_own_relations_pass(facts, text) -> None:
    index = fact_index(facts)
    assert unsupported_phrases(text, index) == []


def test_only_generated_copy_is_held_to_the_datas_phrases() -> None:
    """Like the closed vocabulary: a person's "pump bottle" for "a bottle with pump" is fine."""
    index = fact_index(GILET)
    text = "A hand quilted gilet in olive green with two zipped hand pockets and a stand collar."
    assert not any(f.code == "unsupported_phrase" for f in guards_check(text, index).findings)
    assert any(f.code == "unsupported_phrase" for f in guards_check(text, index, closed_vocabulary=True).findings)


def test_a_part_material_made_of_the_product_is_misattributed() -> None:
    """ "Made of recycled polyester" for a gilet whose filling is: the filling is a part now."""
    index = fact_index(GILET)
    report = guards_check("Harbrook's Quilted Gilet, made of recycled polyester.", index)
    assert [f.code for f in report.findings] == ["misattributed_claim"]
    assert "filling" in report.findings[0].message
    garbled = guards_check("A lightweight gilet made from a 2-tonight recycled polyester.", index)  # a final-run pick
    assert any(f.code == "misattributed_claim" for f in garbled.findings)
    assert guards_check("A quilted gilet with a recycled polyester filling.", index).clean


def test_the_cut_removes_the_sentence_that_recombines() -> None:
    index = fact_index(TOTE)
    text = (
        "The Canvas Tote Bag in 100% cotton canvas with two long handles and an inside pocket. "
        "Made with natural cotton for every day."
    )
    trimmed = guards_trim(text, index, closed_vocabulary=True)
    assert trimmed is not None
    assert trimmed.text == "The Canvas Tote Bag in 100% cotton canvas with two long handles and an inside pocket."
    assert any("natural cotton" in reason for cut in trimmed.cuts for reason in cut.reasons)


# The fifth held-out set's products whose picks (stop 24) denied a fact or gave a measure to the wrong thing.
PROTEIN_BAR = ProductFacts(
    sku="HO-FMCG-504",
    title="Salted Caramel Protein Bar 60 g",
    brand="Trailfuel",
    category="FMCG",
    description="Protein bar with 20 g of protein and a salted caramel flavour, coated in milk chocolate. 60 g bar.",
    attributes={"protein_g": 20, "weight": "60 g", "flavour": "salted caramel", "coating": "milk chocolate"},
)
CHOCOLATE = ProductFacts(
    sku="HO-FMCG-502",
    title="Dark Chocolate 70% 100 g",
    brand="Cacaova",
    category="FMCG",
    description="Dark chocolate with 70% cocoa solids from Fairtrade cocoa beans. A 100 g bar of 20 squares; "
    "suitable for vegans.",
    attributes={"cocoa": "70%", "weight": "100 g", "squares": 20, "certification": "Fairtrade", "vegan": True},
)
LIQUID = ProductFacts(
    sku="HO-FMCG-503",
    title="Laundry Liquid 1.5 L",
    brand="Suddy",
    category="FMCG",
    description="Non-bio laundry liquid for 40 washes, phosphate-free, with no added dyes.",
    attributes={"washes": 40, "volume": "1.5 L"},
)


@pytest.mark.parametrize(
    ("facts", "text", "phrase"),
    [
        (PROTEIN_BAR, "A protein bar without any salted caramel.", "without any salted caramel"),
        (PROTEIN_BAR, "No milk chocolate, just protein.", "No milk chocolate"),
        (CHOCOLATE, "Dark chocolate free from cocoa beans.", "free from cocoa beans"),
    ],
)
def test_copy_that_denies_a_fact_of_the_data_is_contradicted(facts, text, phrase) -> None:
    index = fact_index(facts)
    assert contradicted_phrases(text, index) == [phrase]
    finding = next(f for f in data_phrases_check(text, index) if f.claim == phrase)
    assert finding.guard == GROUNDING and finding.code == "contradicted_claim"


@pytest.mark.parametrize(
    ("facts", "text"),
    [
        (LIQUID, "A laundry liquid with no phosphates and no added dyes."),  # what the data denies itself
        (LIQUID, "No fuss, no mess: 40 washes."),  # words beyond the data are the closed vocabulary's
        (CHOCOLATE, "Dark chocolate with no compromise."),
        (PROTEIN_BAR, "A salted caramel protein bar without the wait."),
    ],
)
def test_denying_what_the_data_does_not_state_is_no_contradiction(facts, text) -> None:
    assert contradicted_phrases(text, fact_index(facts)) == []


@pytest.mark.parametrize(
    ("facts", "text", "phrase"),
    [
        (PROTEIN_BAR, "With 60g of chocolate on top.", "60g of chocolate"),  # 60 g is the bar's weight
        (PROTEIN_BAR, "A bar with 20 g of salted caramel.", "20 g of salted caramel"),  # 20 g is the protein
        (CHOCOLATE, "100 g of cocoa solids in every bar.", "100 g of cocoa solids"),
        (PROTEIN_BAR, "A 20 g bar of salted caramel.", "20 g bar"),  # without "of" too
        (PROTEIN_BAR, "With 60g of chocolate zorbs.", "60g of chocolate"),  # "zorbs" is the closed list's
        # the title's measure is the product's, not its first word's (seventh-set picks, rerun)
        (JAM, "A jam in a glass jar, made from 340 g of strawberry.", "340 g of strawberry"),
        (SHAMPOO, "Enjoy no more than 400ml of coconut shakers.", "400ml of coconut"),
    ],
)
def test_a_measure_of_the_wrong_thing_is_misattributed(facts, text, phrase) -> None:
    index = fact_index(facts)
    assert misattributed_measures(text, index) == [phrase]
    assert any(f.code == "misattributed_claim" and f.claim == phrase for f in data_phrases_check(text, index))


@pytest.mark.parametrize(
    ("facts", "text"),
    [
        (PROTEIN_BAR, "20 g of protein in a 60 g bar."),  # the data's own owners
        (PROTEIN_BAR, "A 60 g salted caramel protein bar with 20 g protein."),
        (CHOCOLATE, "70% of cocoa solids, and 20 squares."),
        (CHOCOLATE, "100 g of dark chocolate from Fairtrade cocoa beans."),  # the product, its measure in the title
        (LIQUID, "1.5 L of laundry liquid for 40 washes."),
        (CHOCOLATE, "100 g of joy."),  # a word beyond the data is the closed vocabulary's
        (JAM, "340 g of strawberry jam in a glass jar, with 50 g of fruit per 100 g."),
        (SHAMPOO, "400 ml of coconut shampoo in a 400 ml bottle."),
    ],
)
def test_a_measure_of_what_the_data_measures_passes(facts, text) -> None:
    assert misattributed_measures(text, fact_index(facts)) == []


# The sixth held-out set's products whose picks (stop 25, its first run) held such claims.
KEYBOARD = ProductFacts(
    sku="HO-ELEC-604",
    title="Mechanical Keyboard 60%",
    brand="Keyforge",
    category="Electronics",
    description="Compact 60% mechanical keyboard with 61 keys, red linear switches and a USB-C cable. White backlight.",
    attributes={"keys": 61, "switches": "red linear", "connection": "USB-C", "backlight": "white"},
)
TOOTHBRUSHES = ProductFacts(
    sku="HO-FMCG-603",
    title="Bamboo Toothbrush 4-Pack",
    brand="Smilegrove",
    category="FMCG",
    description="Four toothbrushes with bamboo handles and soft nylon bristles, in a cardboard box.",
    attributes={"pack": 4, "handle": "bamboo", "bristles": "soft nylon", "packaging": "cardboard"},
)


def test_a_copula_joins_its_sides_like_a_modifier() -> None:
    index = fact_index(KEYBOARD)
    assert unsupported_phrases("Keys are red. Switches are white.", index) == ["Keys are red", "Switches are white"]
    assert unsupported_phrases("The switches are red linear. The backlight is white.", index) == []


def test_a_name_beyond_the_data_is_a_finding() -> None:
    index = fact_index(TOOTHBRUSHES)
    text = "The Bamboo Toothbrush 4-Pack is a wonderful gift from Smiles Greeting Cardboard."
    assert invented_names(text, index) == ["Smiles Greeting Cardboard"]
    assert any(f.code == "unsupported_name" for f in closed_vocabulary_check(text, index))
    for fine in (
        "Meet the Bamboo Toothbrush 4-Pack.",  # the title
        "Smilegrove Bamboo Toothbrush 4-Pack, with soft nylon bristles.",  # brand and title
        "Smilegrove's Bamboo Toothbrush, in a cardboard box.",  # a possessive splits
        "Toothbrushes With Bamboo handles.",  # a sentence's first word starts no name
    ):
        assert invented_names(fine, index) == [], fine
    assert invented_names("One 65 W GaN charger.", fact_index(KEYBOARD)) == []  # units and acronyms


def test_a_thousands_comma_does_not_split_the_figure() -> None:
    power_bank = ProductFacts(
        sku="HO-ELEC-502",
        title="Power Bank 20000 mAh",
        brand="Voltly",
        category="Electronics",
        description="Power bank with a capacity of 20000 mAh and a USB-C port.",
        attributes={"capacity_mah": 20000},
    )
    assert misattributed_measures("20,000 mAh of capacity in your bag.", fact_index(power_bank)) == []
    assert misattributed_measures("20,000 mAh of USB-C port.", fact_index(power_bank)) == ["20,000 mAh of USB-C port"]


# The sixth set's two picks that kept a claim after its rules (stop 25's rerun).
SCALE = ProductFacts(
    sku="HO-ELEC-603",
    title="Digital Bathroom Scale",
    brand="Balanca",
    category="Electronics",
    description="Bathroom scale with a tempered glass platform, a backlit LCD display and a 180 kg capacity. "
    "Runs on two AAA batteries.",
    attributes={"capacity_kg": 180, "platform": "tempered glass", "display": "backlit LCD", "battery": "2 x AAA"},
)
SHORTS = ProductFacts(
    sku="HO-APP-602",
    title="Cotton Chino Shorts",
    brand="Bayfield",
    category="Apparel",
    description="Chino shorts in 98% cotton and 2% elastane with a 9-inch inseam, belt loops and two side pockets. "
    "Khaki; waist 30 to 38.",
    attributes={"material": "98% cotton, 2% elastane", "inseam_in": 9, "pockets": 2, "colour": "khaki",
                "waist": "30-38"},
)  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "text", "phrase"),
    [
        (SCALE, "A scale with a capacity of up to 2 x AAA batteries.", "capacity of up to 2"),  # 180 kg is
        (SCALE, "The platform is 180 kg.", "platform is 180"),  # the capacity is
        (SHORTS, "Shorts belted at 9 inches.", "Shorts belted at 9"),  # 9 is the inseam; belt the loops
        (SHORTS, "Shorts with side pockets of 30 to 38.", "side pockets of 30"),  # 30 to 38 is the waist
    ],
)
def test_a_label_given_another_attributes_figure_is_misattributed(facts, text, phrase) -> None:
    index = fact_index(facts)
    assert misattributed_measures(text, index) == [phrase]
    finding = next(f for f in data_phrases_check(text, index) if f.claim == phrase)
    assert finding.code == "misattributed_claim" and f'"{phrase}"' in finding.message


@pytest.mark.parametrize(
    ("facts", "text"),
    [
        (SCALE, "A capacity of up to 180 kg, on two AAA batteries."),
        (SCALE, "The capacity is 180 kg."),
        (SHORTS, "An inseam of 9 inches, a waist of 30 to 38 and 2 side pockets."),
        (SHORTS, "Chino shorts in 98% cotton with a waist of 30 to 38."),
        (TOOTHBRUSH, "A battery that lasts up to 30 days, with 3 modes."),  # "lasts" is no "label of"
        (SCALE, "A scale of 180 kg."),  # the product's own noun: the figure rules' to judge
    ],
)
def test_a_label_of_its_own_figure_passes(facts, text) -> None:
    assert misattributed_measures(text, fact_index(facts)) == []


@pytest.mark.parametrize(
    ("facts", "text", "phrase"),
    [
        (SHORTS, "Belted at the waist, and made of khaki.", "made of khaki"),  # khaki is the colour
        (GILET, "A quilted gilet made from olive green.", "made from olive green"),
        (TOTE, "A tote bag made with natural.", "made with natural"),
    ],
)
def test_a_colour_said_as_a_material_is_misattributed(facts, text, phrase) -> None:
    index = fact_index(facts)
    assert phrase in misattributed_measures(text, index)
    assert any(f.code == "misattributed_claim" and f.claim == phrase for f in data_phrases_check(text, index))


@pytest.mark.parametrize(
    ("facts", "text"),
    [
        (SHORTS, "Made of 98% cotton and 2% elastane, in khaki."),
        (SHORTS, "Made from cotton, with belt loops."),
        (TOTE, "Made with 100% cotton canvas, in a natural colour."),
        (GILET, "Made with a recycled polyester filling."),
    ],
)
def test_a_material_said_as_a_material_passes(facts, text) -> None:
    assert misattributed_measures(text, fact_index(facts)) == []


CASE = ProductFacts(
    sku="HO-ELEC-704",
    title="Wireless Earbuds Charging Case",
    brand="Sonique",
    category="Electronics",
    description="Replacement charging case for True Wireless Earbuds, with a USB-C port and 24 hours of extra "
    "playback. Matte black.",
    attributes={"port": "USB-C", "extra_playback_h": 24, "colour": "matte black"},
)
RICE = ProductFacts(
    sku="HO-FMCG-602",
    title="Basmati Rice 1 kg",
    brand="Riverleaf",
    category="FMCG",
    description="Aged long-grain basmati rice in a 1 kg resealable bag. Cooks in 12 minutes.",
    attributes={"weight": "1 kg", "grain": "long", "cook_minutes": 12, "bag": "resealable"},
)
TRAINERS = ProductFacts(
    sku="HO-APP-704",
    title="Canvas Low-Top Trainers",
    brand="Streetline",
    category="Apparel",
    description="Low-top trainers with a cotton canvas upper, a vulcanised rubber sole and six eyelets. White; UK "
    "sizes 4 to 11.",
    attributes={"upper": "cotton canvas", "sole": "vulcanised rubber", "eyelets": 6, "colour": "white",
                "sizes": "UK 4-11"},
)  # fmt: skip


def test_a_duration_said_as_a_speed_is_misattributed() -> None:
    """ "In just 24 hours" of 24 hours of playback reads as how fast something happens."""
    assert misattributed_measures("In just 24 hours, you can enjoy your earbuds.", fact_index(CASE)) == [
        "In just 24 hours"
    ]
    assert misattributed_measures("24 hours of extra playback, in a matte black case.", fact_index(CASE)) == []
    rice = fact_index(RICE)
    assert misattributed_measures("Basmati rice that cooks in just 12 minutes.", rice) == []  # the data says so
    assert misattributed_measures("Ready within 12 minutes.", rice) == []  # a key that times a task: cook_minutes
    assert misattributed_measures("Ready in 2 minutes.", rice) == ["in 2 minutes"]


def test_a_figure_that_counts_nothing_the_data_names_is_a_finding() -> None:
    index = fact_index(TRAINERS)
    for text, figure in (
        ("You can choose from over 4, so choose wisely.", "4"),
        ("A great way to start your day! 4+ daily, amazing.", "4+"),
        ("Trainers for the 2 of you.", "2"),
    ):
        findings = [f for f in data_phrases_check(text, index) if f.code == "bare_figure"]
        assert [f.claim for f in findings] == [figure], text
        assert f'"{figure}"' in findings[0].message
    for text in (
        "Canvas trainers in UK sizes 4 to 11.",
        "Trainers with 6 eyelets and a rubber sole.",
        "A pack of 4.",
        "Six eyelets, UK 4-11.",
        "Choose from sizes 4 to 11 in white.",
        "Trainers, six to a box, with a two-way lace.",
    ):
        assert not [f for f in data_phrases_check(text, index) if f.code == "bare_figure"], text
    assert not [
        f for f in data_phrases_check("Bluetooth 5.2 and 2 x AAA.", fact_index(SCALE)) if f.code == "bare_figure"
    ]


GLOVES = ProductFacts(
    sku="HO-APP-803",
    title="Padded Winter Gloves",
    brand="Frostline",
    category="Apparel",
    description="Insulated gloves with a water-resistant polyester shell, a fleece lining and touchscreen fingertips. "
    "Black; sizes S to L.",
    attributes={"shell": "polyester", "lining": "fleece", "touchscreen": True, "colour": "black", "sizes": "S-L"},
)


def test_a_part_said_by_its_verb_must_be_of_the_datas_material() -> None:
    """ "Shelled in a fleece" for gloves with a polyester shell and a fleece lining (an eighth-set pick)."""
    index = fact_index(GLOVES)
    assert unsupported_phrases("Shelled in a fleece, so take on the cold.", index) == ["Shelled in a fleece"]
    assert unsupported_phrases("Gloves lined with polyester.", index) == ["lined with polyester"]
    assert unsupported_phrases("Insulated by a polyester.", index) == ["Insulated by a polyester"]
    for fine in ("Lined with fleece, shelled in polyester.", "Gloves lined in fleece.", "Lined with joy."):
        assert unsupported_phrases(fine, index) == [], fine


def test_a_modal_copula_joins_its_sides_too() -> None:
    """ "The buckles can be adjustable" for an adjustable strap with a metal buckle (a ninth-set pick)."""
    cap = ProductFacts(
        sku="HO-APP-903",
        title="Cotton Baseball Cap",
        brand="Fieldhouse",
        category="Apparel",
        description="Six-panel baseball cap in cotton twill with a curved peak and an adjustable strap with a metal "
        "buckle. Forest green; one size.",
        attributes={"material": "cotton twill", "panels": 6, "strap": "adjustable", "colour": "forest green"},
    )
    index = fact_index(cap)
    assert unsupported_phrases("The buckles can be adjustable.", index) == ["buckles can be adjustable"]
    assert unsupported_phrases("The strap can be adjustable.", index) == []


PAPRIKA = ProductFacts(
    sku="HO-FMCG-1004",
    title="Smoked Paprika 50 g",
    brand="Spicehold",
    category="FMCG",
    description="Sweet smoked paprika from Spain, oak-smoked, in a 50 g glass jar with a sifter lid.",
    attributes={"weight": "50 g", "origin": "Spain", "smoke": "oak", "jar": "glass"},
)


def test_a_measure_per_day_is_a_rate_the_data_must_give() -> None:
    """ "The Smoked Paprika 50g per day" (a tenth-set pick) turns the jar's weight into a daily dose."""
    assert misattributed_measures("The Smoked Paprika 50g per day, every day.", fact_index(PAPRIKA)) == ["50g per day"]
    assert misattributed_measures("Up to 30 days per charge.", fact_index(TOOTHBRUSH)) == []  # the figure rules'
    assert misattributed_measures("Up to 30 days per charge.", fact_index(PAPRIKA)) == []
    assert misattributed_measures("50 g of fruit per 100 g.", fact_index(JAM)) == []


def test_a_figure_right_before_another_is_a_finding() -> None:
    """ "four 4-pack electric toothbrush heads" (a tenth-set pick) says sixteen heads."""
    heads = ProductFacts(
        sku="HO-ELEC-1002",
        title="Electric Toothbrush Heads 4-Pack",
        brand="Brightbrush",
        category="Electronics",
        description="Four replacement brush heads with soft, rounded bristles, for Brightbrush sonic toothbrushes.",
        attributes={"pack": 4, "bristles": "soft"},
    )
    index = fact_index(heads)
    assert bare_figures("It comes with four 4-pack electric toothbrush heads.", index) == ["four 4"]
    assert bare_figures("It comes with four electric toothbrush heads, a 4-pack.", index) == []
    assert bare_figures("Six 30 g bags of crisps.", index) == []  # a count of measures


COMPACT_KEYBOARD = ProductFacts(
    sku="HO-ELEC-1202",
    title="Mechanical Keyboard Compact",
    brand="Keyloft",
    category="Electronics",
    description="Compact 75% mechanical keyboard with brown switches, white backlight and a detachable USB-C cable. "
    "Works with Windows and macOS.",
    attributes={"layout": "75%", "switches": "brown", "backlight": "white", "cable": "USB-C, detachable"},
)
# The twelfth set's (stop 27).
COFFEE = ProductFacts(
    sku="HO-FMCG-1201",
    title="Dark Roast Coffee Beans 1 kg",
    brand="Ridgeback",
    category="FMCG",
    description="Whole coffee beans, 100% Arabica from Colombia, roasted dark for espresso.",
    attributes={"weight": "1 kg", "bean": "100% Arabica", "origin": "Colombia", "roast": "dark"},
)
LINEN_SHIRT = ProductFacts(
    sku="HO-APP-1202",
    title="Linen Shirt Short Sleeve",
    brand="Seabright",
    category="Apparel",
    description="Short-sleeve shirt in 100% linen with a button-down collar and a chest pocket. White or sage.",
    attributes={"material": "100% linen", "collar": "button-down", "colours": "white, sage"},
)


def test_what_a_part_has_the_data_must_give_it() -> None:
    """ "The switches have a 75% mechanical keyboard" (twelfth set, GPU run) and "The belt has two sides
    pockets" (sixth set): a part never has the product, nor a part the data gives to something else."""
    keyboard, shorts = fact_index(COMPACT_KEYBOARD), fact_index(SHORTS)
    assert unsupported_phrases("The switches have a 75% mechanical keyboard.", keyboard) == [
        "switches have a 75% mechanical keyboard"
    ]
    assert unsupported_phrases("The switches have a white backlight.", keyboard) == ["switches have a white backlight"]
    assert unsupported_phrases("The belt has two sides pockets.", shorts) == ["belt has two sides pockets"]
    for fine, index in (
        ("The keyboard has brown switches and a white backlight.", keyboard),  # the product has its parts
        ("Keyloft's Mechanical Keyboard Compact has brown switches.", keyboard),
        ("The shorts have two side pockets and belt loops.", shorts),
        ("The Cotton Chino Shorts have belt loops.", shorts),
    ):
        assert unsupported_phrases(fine, index) == [], fine
    gilet = fact_index(GILET)  # "two zipped hand pockets": the pockets have zips, "with a stand collar"
    assert unsupported_phrases("The pockets have zips.", gilet) == []
    assert unsupported_phrases("The collar has two zipped hand pockets.", gilet) == [
        "collar has two zipped hand pockets"
    ]


def test_a_figure_one_plain_word_before_its_noun_counts_it() -> None:
    """ "four card slots": "card" is a plain shop word, so the figure and "slots" are two runs."""
    holder = ProductFacts(
        sku="HO-APP-1204",
        title="Leather Card Holder",
        brand="Ashworth",
        category="Apparel",
        description="Slim card holder in full-grain leather with four card slots and a centre pocket for notes.",
        attributes={"material": "full-grain leather", "card_slots": 4, "pocket": "centre"},
    )
    index = fact_index(holder)
    assert bare_figures("The card holder has four card slots.", index) == []
    assert bare_figures("Choose from over 4, so choose wisely.", index) == ["4"]


def test_twelfth_set_picks_are_findings() -> None:
    """What the first reading of the twelfth set (on a GPU) found in the picks."""
    socks = ProductFacts(
        sku="HO-APP-1203",
        title="Wool Hiking Socks 2 Pack",
        brand="Trailfox",
        category="Apparel",
        description="Cushioned hiking socks, 70% merino wool, with a reinforced heel and toe. Two pairs per pack; "
        "sizes 6 to 11.",
        attributes={"material": "70% merino wool", "pairs": 2, "heel": "reinforced", "sizes": "6-11"},
    )
    crackers = ProductFacts(
        sku="HO-FMCG-1204",
        title="Multigrain Crackers 250 g",
        brand="Crisdale",
        category="FMCG",
        description="Baked crackers with oats, rye and sesame seeds. 250 g box of 5 packs; suitable for vegans.",
        attributes={"weight": "250 g", "grains": "oats, rye", "seeds": "sesame", "packs": 5, "vegan": True},
    )
    cases = (
        (socks, "Wool Hiking Socks 2 Pack - 11-in packs of 70% merino wool.", "unsupported_figure", "11-in"),
        (crackers, "Our Multigrain Crackers 250g are made from whole grains.", "unsupported_certification", "whole"),
        (COMPACT_KEYBOARD, "A 75% mechanical keyboard. The best you will find.", "comparative_claim", "best you"),
        (COMPACT_KEYBOARD, "A 75% mechanical keyboard, one-of-a-kind.", "comparative_claim", "one-of-a-kind"),
    )
    for facts, text, code, claim in cases:
        findings = [f for f in guards_check(text, fact_index(facts)).findings if f.code == code]
        assert findings and claim in findings[0].claim, (text, guards_check(text, fact_index(facts)).findings)
    assert not [
        f
        for f in guards_check("A 2-in-1 pack of socks, sizes 6 to 11.", fact_index(socks)).findings
        if f.code == "unsupported_figure"
    ]
    fine = "Baked crackers with oats and rye, 250 g."
    assert not [f for f in guards_check(fine, fact_index(crackers)).findings if f.code == "unsupported_certification"]


def test_twelfth_set_cpu_picks_are_findings() -> None:
    """The same set's picks on the CPU: a field dump without colons, a design choice the gilet does not offer,
    and availability promises."""
    cases = (
        (COFFEE, "Dark roast beans. Weight 1 kg; bean 100% Arabica; origin Colombia.", "field_list"),
        (GILET, "A quilted gilet: you can choose your own colors and design your own look.", "unsupported_feature"),
        (COFFEE, "Dark roast coffee beans, 1 kg. Order now at any time.", "offer"),
        (COFFEE, "Dark roast coffee beans, 1 kg. Order your next day's special today.", "offer"),
    )
    for facts, text, code in cases:
        assert code in {f.code for f in guards_check(text, fact_index(facts)).findings}, text
    fine = "A quilted gilet with two zipped hand pockets; sizes S to XL; olive green."
    assert "field_list" not in {f.code for f in guards_check(fine, fact_index(GILET)).findings}


def test_twelfth_set_rerun_picks_are_findings() -> None:
    """The twelfth set's rerun with the rules above: beans roasted where they grew, a pick-up promise, and a
    collar to choose for a shirt that has one."""
    index = fact_index(COFFEE)
    assert misattributed_measures("100% Arabica, roasted in the heart of Colombia.", index) == [
        "roasted in the heart of Colombia"
    ]
    assert misattributed_measures("Dark roast beans, made in Colombia.", index) == ["made in Colombia"]
    assert misattributed_measures("100% Arabica from Colombia, roasted dark.", index) == []
    assert misattributed_measures("Roasted in small batches.", index) == []  # no place of the data
    passata = ProductFacts(
        sku="HO-FMCG-1199",
        title="Tomato Passata 690 g",
        brand="Vallerossa",
        category="FMCG",
        description="Passata made in Italy from Italian tomatoes.",
        attributes={"weight": "690 g"},
    )
    assert misattributed_measures("A passata made in Italy.", fact_index(passata)) == []  # the data says so
    shirt = fact_index(LINEN_SHIRT)
    collar = guards_check("A linen shirt. Choose your perfect collar.", shirt).findings
    assert "unsupported_feature" in {f.code for f in collar}
    assert "offer" in {f.code for f in guards_check("A linen shirt. You can pick up at any shop.", shirt).findings}


def test_fourteenth_set_picks_are_findings() -> None:
    """The fourteenth set's first reading: a measure said as a material, a range of colours for a navy top,
    types of one rice, a value pack, and pick-ups and specials nobody offered."""
    backpack = ProductFacts(
        sku="HO-APP-1404",
        title="Canvas Backpack 20 L",
        brand="Roamly",
        category="Apparel",
        description="20 L backpack in waxed cotton canvas with leather straps. Olive.",
        attributes={"volume": "20 L", "material": "waxed cotton canvas", "colour": "olive"},
    )
    index = fact_index(backpack)
    assert misattributed_measures("The Canvas Backpack 20 L is made of 20 l, the perfect way.", index) == [
        "made of 20 l"
    ]
    assert misattributed_measures("Made of waxed cotton canvas.", index) == []
    assert misattributed_measures("Made of 100% waxed cotton canvas.", index) == []
    cases = (
        (backpack, "A canvas backpack. Choose from a treasure of colors.", "unsupported_feature"),
        (backpack, "A canvas backpack in a few types.", "unsupported_feature"),
        (backpack, "A canvas backpack. The value pack is worth it.", "price_claim"),
        (backpack, "A canvas backpack for your daily pick up today.", "offer"),
        (backpack, "A canvas backpack. Here Comes a Special!", "offer"),
        (backpack, "A canvas backpack. You can order the next day.", "offer"),
    )
    for facts, text, code in cases:
        assert code in {f.code for f in guards_check(text, fact_index(facts)).findings}, text
    fine = "A linen shirt in a range of colours: white or sage."
    assert "unsupported_feature" not in {f.code for f in guards_check(fine, fact_index(LINEN_SHIRT)).findings}
