"""The closed vocabulary of generated copy (`catalog.guards.closed_vocabulary`): every content word
comes from the product's data or from plain shop language, whatever kind of claim it would make."""

from __future__ import annotations

from dataclasses import replace

import pytest

from catalog.guards import GROUNDING, PUBLISHABLE, ProductFacts, fact_index, guards_check
from catalog.guards.closed_vocabulary import allowed_words, closed_vocabulary_check, invented_names, unsupported_terms
from catalog.guards.trim import guards_trim
from tests.catalog.test_guards import CRISPS, HEADPHONES, SHIRT, STICK, YOGURT

BOOTS = ProductFacts(
    sku="HO-APP-202",
    title="Waterproof Leather Hiking Boots",
    brand="Craghold",
    category="Apparel",
    description="Leather hiking boots with a waterproof membrane, a padded ankle collar and a rubber lug sole.",
    attributes={"upper": "leather", "waterproof": True, "sole": "rubber", "sizes": "EU 38-46", "colour": "brown"},
    price=119.0,
)
LAMP = ProductFacts(
    sku="HO-ELEC-203",
    title="Dimmable LED Desk Lamp",
    brand="Brightnook",
    category="Electronics",
    description="10 W LED desk lamp with a foldable arm, colour temperature adjustable from 2700 K to 6500 K, "
    "and a USB-A port for charging a phone.",
    attributes={"power_w": 10, "colour_temperature": "2700-6500 K", "dimmable": True, "arm": "foldable"},
    price=39.0,
)


# The generator's picks on the fresh held-out products (stop 22) that the kind-by-kind rules missed or
# caught only once read: the closed vocabulary catches each by a word it does not know.
@pytest.mark.parametrize(
    ("facts", "text", "term"),
    [
        (BOOTS, "Waterproof leather hiking boots crafted by the finest leather artisans.", "artisans"),
        (STICK, "Meet the 4K Streaming Stick, a powerhouse gaming device.", "gaming"),
        (LAMP, "The Dimmable LED Desk Lamp is powered by a 2700K capacity.", "capacity"),
        (STICK, "The 4K Streaming Stick offers high-resolution 4k audio streaming.", "audio"),
        (YOGURT, "Greek-Style Natural Yogurt can be used as a breakfast replacement.", "replacement"),
        (SHIRT, "A linen button-down shirt made by the finest mills.", "mills"),
        (HEADPHONES, "These ANC over-ear headphones are lightweight and quiet.", "lightweight"),
        (CRISPS, "Baked lentil crisps with sea salt, healthy and gentle on the stomach.", "healthy"),
    ],
)
def test_a_word_beyond_the_data_and_plain_shop_language_is_a_finding(facts, text, term) -> None:
    index = fact_index(facts)
    assert term in unsupported_terms(text, index)
    finding = next(f for f in closed_vocabulary_check(text, index) if f.claim == term)
    assert finding.guard == GROUNDING and finding.code == "unsupported_term"
    assert f'"{term}"' in finding.message
    assert not guards_check(text, index, closed_vocabulary=True).passed


@pytest.mark.parametrize(
    ("facts", "text"),
    [
        (LAMP, "Meet the Dimmable LED Desk Lamp: a foldable arm, 2700 K to 6500 K and a USB-A port. Order today."),
        (BOOTS, "Craghold's leather hiking boots have a waterproof membrane and a rubber lug sole. Shop now."),
        (CRISPS, "Baked lentil crisps seasoned with sea salt, six 30 g bags to a pack. You will love them."),
        (HEADPHONES, "Enjoy active noise cancellation and up to thirty hours of battery life. Order today."),
        # inflections and hyphenated words count by their stems and parts
        (BOOTS, "Leather hiking boots, padded at the ankle collar and waterproof, on rubber lug soles."),
        (STICK, "A 4K streaming stick with Wi-Fi 6 and a voice remote. Order yours today."),
    ],
)
def test_copy_in_the_datas_words_and_plain_shop_language_passes(facts, text) -> None:
    index = fact_index(facts)
    assert [f for f in guards_check(text, index, closed_vocabulary=True).findings if f.code == "unsupported_term"] == []


def test_the_data_admits_a_word_the_closed_list_does_not() -> None:
    text = "Waterproof leather hiking boots made by artisans."
    assert "artisans" in unsupported_terms(text, fact_index(BOOTS))
    made_by_hand = replace(BOOTS, description=BOOTS.description + " Stitched by artisans in Portugal.")
    assert "artisans" not in unsupported_terms(text, fact_index(made_by_hand))


def test_it_is_off_unless_asked_for() -> None:
    """Hand-written copy in the review screens keeps the reviewer-facing guards: a copywriter's true
    "Drop it in the pool" is no warning there."""
    text = "Up to thirty hours of battery life for the daily commute. Order today."
    index = fact_index(HEADPHONES)
    assert guards_check(text, index).passed
    strict = guards_check(text, index, closed_vocabulary=True)
    assert [f.claim for f in strict.findings if f.code == "unsupported_term"] == ["commute"]


def test_the_cut_removes_the_sentence_with_the_unknown_word() -> None:
    index = fact_index(STICK)
    text = (
        "The 4K Streaming Stick brings 4K HDR video over HDMI. "
        "It turns any room into a home cinema. Use the voice remote to find what you want."
    )
    assert guards_trim(text, index) is None  # without the closed vocabulary the copy already passes
    trimmed = guards_trim(text, index, closed_vocabulary=True)
    assert trimmed is not None
    assert trimmed.text == (
        "The 4K Streaming Stick brings 4K HDR video over HDMI. Use the voice remote to find what you want."
    )
    assert [c.sentence for c in trimmed.cuts] == ["It turns any room into a home cinema."]
    assert any('"cinema"' in reason for reason in trimmed.cuts[0].reasons)


def test_short_words_and_other_scripts_count_too() -> None:
    """Read in the first closed-vocabulary decoding run: the model escaped into spelled-out letters and
    accented non-words, which a rule for words of three letters or more never saw."""
    index = fact_index(LAMP)
    found = unsupported_terms("A one-of-a-th i m r o g y wo m e n lamp. The arm is kuçal arás.", index)
    assert {"th", "m", "r", "g", "wo", "kuçal", "arás"} <= set(found)
    assert not {"a", "i", "o", "y", "e", "n"} - set(found) - {"a", "i"}  # only English's one-letter words pass
    assert unsupported_terms("A 10 W lamp at 2700 K, with a USB-A port. It is up to you.", index) == []
    accented = replace(LAMP, brand="Lumière")
    assert unsupported_terms("Lumière's desk lamp.", fact_index(accented)) == []


SCARF = ProductFacts(
    sku="T-SCARF",
    title="Lambswool Check Scarf",
    brand="Brackenby",
    category="Apparel",
    description="Scarf woven from 100% lambswool in a navy and green check, with fringed ends. Hand wash.",
    price=39.0,
)


def test_a_compound_of_allowed_words_must_be_the_datas_own() -> None:
    """Read in the third held-out set's picks: "hand" (of "hand wash") and "woven" are both the data's
    words, and "hand-woven" is a claim it never makes; "top-of-the-prickets" is no word at all."""
    index = fact_index(SCARF)
    found = unsupported_terms("A hand-woven scarf, top-of-the-line and well-loved, in a navy and green check.", index)
    assert {"hand-woven", "top-of-the-line", "well-loved"} <= set(found)
    assert unsupported_terms("A must-have scarf woven from 100% lambswool, a go-to for any day.", index) == []
    assert unsupported_terms("A rubber-lug sole.", fact_index(BOOTS)) == ["rubber-lug"]
    assert unsupported_terms("Wi-Fi 6 and a 4K stick.", fact_index(STICK)) == []


def test_a_word_glued_to_a_figure_and_a_capital_inside_a_word() -> None:
    """Read in the fourth held-out set's picks ("cooked in 100greater milk") and the third's ("sizeS")."""
    index = fact_index(LAMP)
    assert "0greater" in unsupported_terms("A 10 W lamp, 100greater than ever.", index)
    assert unsupported_terms("A 10W lamp at 2700K.", index) == []
    report = guards_check("A dimmable LED desk lamp with a foldable arM.", index)
    assert any(f.claim == "arM" for f in report.findings), report.findings
    assert guards_check("A dimmable LED desk lamp with a foldable arm and a USB-A port.", index).passed


@pytest.mark.parametrize(
    ("text", "term"),
    [
        # Read in the final runs on the third and fourth held-out sets (stop 23).
        ("A desk lamp, hand made by a talented team.", "hand"),
        ("A desk lamp to save your life.", "save"),
        ("A desk lamp with a delicate feel.", "delicate"),
        # Read in the picks on the fifth held-out set (stop 24): VADER's positive words that state a
        # property, a maker, a ranking, a change or where to buy it.
        ("A smart desk lamp for your entertainment.", "smart"),
        ("Made by a talented and dedicated team.", "talented"),
        ("Made by a talented and dedicated team.", "dedicated"),
        ("A top contender for the best desk lamps.", "contender"),
        ("A desk lamp you can find at any store.", "store"),
        ("Upgrade your desk lamp.", "upgrade"),
        ("A desk lamp that boosts your day.", "boosts"),
        ("A desk lamp designed to optimize your Wi-Fi.", "optimize"),
        ("A desk lamp made of a beautiful, vibrant color.", "vibrant"),  # a grey mouse's pick
        ("A desk lamp with vitamin power.", "vitamin"),
    ],
)
def test_sentiment_words_that_claim_something_are_not_plain_shop_language(text, term) -> None:
    assert term in unsupported_terms(text, fact_index(LAMP))


def test_can_as_a_packaging_noun_is_the_datas_to_say() -> None:
    index = fact_index(LAMP)
    for text in ("Now in a 100g can.", "A can of light for your desk.", "Sold in 330 ml cans."):
        assert "can" in unsupported_terms(text, index) or "cans" in unsupported_terms(text, index), text
    for text in ("You can dim it.", "This can light your desk.", "It can, of course, charge a phone."):
        assert "can" not in unsupported_terms(text, index), text
    water = fact_index(replace(LAMP, description="Twelve 330 ml cans of sparkling water."))
    assert "can" not in unsupported_terms("Sparkling water in a 330 ml can.", water)


def test_made_to_order_and_made_by_a_maker_are_claims_of_the_data() -> None:
    index = fact_index(LAMP)
    for text, claim in (
        ("A desk lamp made to order.", "made to order"),
        ("A bespoke desk lamp.", "bespoke"),
        ("A desk lamp made by a family of makers.", "made by a"),
    ):
        findings = guards_check(text, index).findings  # the reviewer-facing guard too, not only generated copy
        assert any(f.guard == GROUNDING and f.claim.lower() == claim for f in findings), (text, findings)
    assert not [f for f in guards_check("A desk lamp made for desks.", index).findings if f.guard == GROUNDING]


def test_all_day_is_a_claim_of_how_long_it_lasts() -> None:
    """ "Keep your Wi-Fi on all day" (a router, stop 23's third set): a duration the data must give."""
    claims = [
        f.claim for f in guards_check("Keep your desk lit all day.", fact_index(LAMP)).findings if f.guard == GROUNDING
    ]
    assert claims == ["all day"]
    for text in ("Music all day long.", "Listen all-day, then recharge."):
        assert not guards_check(text, fact_index(HEADPHONES), guards=[GROUNDING]).findings, text  # 30 h of battery


@pytest.mark.parametrize(
    ("text", "claim"),
    [
        # Read in the fifth held-out set's picks (stop 25): a retailer, rankings, a maker, a price, an offer.
        ("A desk lamp that is a top pick on the Best Buy Shop.", "Best Buy"),
        ("A desk lamp that is a top pick on the Best Buy Shop.", "top pick"),
        ("A desk lamp, sold at Walmart.", "Walmart"),
        ("A desk lamp designed by the team.", "designed by the"),
        ("A desk lamp designed by the best in electronics.", "the best in electronics"),
        ("The best value for your desk.", "best value"),
        ("Your holiday special: a desk lamp.", "holiday special"),
        # and in the third set's (stop 25)
        ("A desk lamp made from the best of the best.", "made from the best"),
        ("A desk lamp in any other colour you want.", "any other colour you"),
        ("One of the best lamps ever made.", "best lamps ever made"),  # and the fourth set's
        ("A desk lamp, best loved by style lovers.", "best loved by style lovers"),  # the fifth set's, rerun
        ("A desk lamp made in your own shop.", "made in your own"),
        # the third set's rerun (stop 25)
        ("A desk lamp with 110+ year's worth of light.", "110+ year"),
        ("A desk lamp that will last you until the end of the year.", "until the end of the year"),
        ("A desk lamp to keep you alive.", "keep you alive"),
        ("A gift from the best in Japan.", "the best in japan"),
        # and the final runs' (stop 25)
        ("A desk lamp made from the very best.", "made from the very best"),
        ("A top of the range pick for the ultimate in light.", "top of the range"),
        ("A top of the range pick for the ultimate in light.", "the ultimate in"),
        ("The promise of a daily 500 ml refill.", "a daily 500 ml"),
        # the sixth set's first run (stop 25), read after it
        ("A desk lamp, so you can choose from any color.", "choose from any color"),
        ("Its ability to be made just about anywhere.", "made just about anywhere"),
        ("It has a special advantage over the next greatest.", "advantage over"),
        ("Packed for your next pick up day.", "pick up day"),
        # the seventh set's first run (stop 26), read after it
        ("We are happy to give you a complimentary gift this day.", "complimentary"),
        ("Order this every day or make a special order.", "special order"),
        ("Enjoy the best wireless lamps in the electronics.", "the best wireless lamps in the electronics"),
        # the eighth set's first run (stop 26), read after it
        ("Meet the desk lamp, a top control makes by the best!", "makes by the"),
        ("A desk lamp made with her own hands.", "with her own hands"),
        ("Its hours are just a few more than you would find on any desk lamp.", "than you would find on any"),
        ("You can order it at the next shop tonight.", "at the next shop"),
        ("You can choose any sizes you want.", "any sizes"),
        ("A desk lamp, perfect for any style you want.", "any style you"),  # the seventh set's rerun
        ("Order now, and you will be rewarded with a wonderful treat.", "you will be rewarded"),
        ("The desk lamp is a top of its time.", "top of its time"),
        ("Designed to light better than ever before.", "than ever before"),  # the eighth set's rerun
        ("You can order it at any time.", "order it at any time"),
        # the final reruns' picks (stop 26), read after them
        ("Your order will be on its own pick up at the end of the day.", "your order will be on its"),
        ("Your order will be ready when you want it.", "your order will be ready"),
        # the eleventh set's picks (stop 26), the final reading
        ("You will find more than just any other desk lamp.", "than just any other"),
        ("You won' find another top desk lamp.", "won' find another"),
        ("Perfect for your pick from Italy's best.", "italy's best"),  # the ninth set's
        # the twelfth and thirteenth sets' picks (stop 27)
        ("You can make a daily order at your next pick up shop.", "pick up shop"),
        ("Start with this wonderful value.", "wonderful value"),
        ("A desk lamp, ready for you tonight.", "ready for you tonight"),
        ("With the desk lamp on its way, you can find everything.", "on its way"),
        ("A desk lamp. Order now at any time.", "order now at any time"),
        ("A desk lamp, carefully prepared by a friendly and welcoming shop.", "prepared by a"),  # the fifteenth set
    ],
)
def test_claims_read_in_the_fifth_sets_picks_are_findings_for_any_copy(text, claim) -> None:
    findings = guards_check(text, fact_index(LAMP)).findings  # the reviewer-facing guards, not only generated copy
    assert any(claim.lower() in f.message.lower() for f in findings), findings


def test_a_figure_that_counts_nothing_is_a_fragment() -> None:
    index = fact_index(LAMP)
    for text in ("This desk lamp is made of 2.", "It has a 1.", "With a 10.", "With the desk lamp, you get 9."):
        assert any(f.code == "fragment" for f in guards_check(text, index).findings), text
    for text in ("A pack of 6.", "Colour temperature from 2700 to 6500.", "With 10 W of light."):
        assert not any(f.code == "fragment" for f in guards_check(text, index).findings), text


def test_a_word_or_measure_said_twice_in_a_row_is_a_repetition() -> None:
    index = fact_index(LAMP)
    for text, said in (
        ("A 10 W, 10 W desk lamp.", "10 W"),
        ("A loyal loyal lamp.", "loyal"),
        ("USB-A, USB-A port.", "USB-A"),
        ("The Desk Lamp 10 W, 100g, 340g, 340g. Order yours today.", "340g"),  # at a sentence's end too
    ):
        assert any(f.code == "repetition" and said in f.message for f in guards_check(text, index).findings), text
    assert not any(f.code == "repetition" for f in guards_check("10 W of light, 10 W of calm.", index).findings)


def test_chat_slang_and_a_codes_inflection_are_no_words_of_shop_copy() -> None:
    jacket = ProductFacts(
        sku="HO-APP-501",
        title="Waterproof Rain Jacket",
        brand="Coastline",
        category="Apparel",
        description="Waterproof rain jacket with taped seams. Navy; sizes XS to XXL.",
        attributes={"colour": "navy", "sizes": "XS-XXL"},
    )
    index = fact_index(jacket)
    assert unsupported_terms("A beautiful colour - navy - xxled - xoxo, on the leet.", index) == [
        "xxled",
        "xoxo",
        "leet",
    ]
    assert unsupported_terms("A lovely navy jacket in sizes XS to XXL, taped and waterproof.", index) == []
    assert "xxled" not in allowed_words(index) and "xoxo" not in allowed_words(index)


def test_made_by_hand_with_a_space_is_the_handmade_claim() -> None:
    index = fact_index(SCARF)
    for text in ("A hand made scarf.", "A hand woven scarf.", "A hand-knitted scarf."):
        assert any(f.code == "unsupported_certification" for f in guards_check(text, index).findings), text
    handmade = fact_index(replace(SCARF, description=SCARF.description + " Hand woven in Scotland."))
    assert guards_check("A hand woven lambswool scarf. Order yours today.", handmade).passed


TOTE = ProductFacts(
    sku="HO-APP-402",
    title="Canvas Tote Bag",
    brand="Weftworks",
    category="Apparel",
    description="Tote bag in 100% cotton canvas with two long handles and an inside pocket. 38 x 42 cm.",
    price=18.0,
)


def test_a_plural_s_on_a_plural_is_no_word_of_the_data() -> None:
    """Read in the review's reading of the fourth set: "handless" (the tote has two handles) passed as a
    form of "handles", and "headphoness", "minutess" came from adding an s to a plural."""
    index = fact_index(TOTE)
    assert "handless" in unsupported_terms("A canvas tote bag, handless.", index)
    assert unsupported_terms("A canvas tote bag with two long handles.", index) == []
    allowed = allowed_words(index)
    assert {"handles", "bags", "pockets"} <= allowed
    assert not {"handless", "handleses", "bages"} & allowed
    glass = fact_index(replace(TOTE, description="A glass box."))
    assert {"glasses", "boxes"} <= allowed_words(glass)


def test_a_profane_looking_word_is_no_word_of_shop_copy() -> None:
    """VADER rates "shittah" (a tree) positive; "400ml of coconut shittah" was a seventh-set pick."""
    from catalog.guards import english
    from catalog.guards.vocabulary import closed_words

    words = closed_words()
    assert "shittah" not in words
    assert not any(w.startswith(english.PROFANE_STARTS) for w in words)
    assert {"great", "lovely"} <= words  # the rest of the list stays
    shampoo = ProductFacts(
        sku="HO-FMCG-702", title="Coconut Shampoo 400 ml", brand="Palmwell", category="FMCG",
        description="Moisturising shampoo with coconut oil for dry hair.", attributes={"volume": "400 ml"},
    )  # fmt: skip
    findings = closed_vocabulary_check("A shampoo with coconut shittah.", fact_index(shampoo))
    assert any("shittah" in f.message for f in findings)


def test_asides_web_addresses_and_reception_words_are_not_generated_copy() -> None:
    """The eighth set's picks: "(Escape) Cleanloop (Escape)", "a cleanloops.comedienne", "a daily commended
    day"."""
    from catalog.guards.vocabulary import closed_words

    index = fact_index(LAMP)
    for text, said in (
        ("A desk lamp (Escape) for your desk.", "(Escape)"),
        ("Start your day with a desklamp.comedienne from the top.", "desklamp.comedienne"),
    ):
        findings = closed_vocabulary_check(text, index)
        assert any(f.guard == PUBLISHABLE and said in f.message for f in findings), (text, findings)
    assert not any(f.guard == PUBLISHABLE for f in closed_vocabulary_check("A desk lamp, 10 W. Shop now.", index))
    assert "commended" not in closed_words() and "honourable" not in closed_words()


def test_a_name_of_the_data_takes_no_inflection_and_faille_is_a_fabric() -> None:
    """Ninth-set picks: "top koroneikiing olives" of Koroneiki olives; "six panels of faille" for a cotton cap."""
    oil = ProductFacts(
        sku="HO-FMCG-904", title="Extra Virgin Olive Oil 500 ml", brand="Terravera", category="FMCG",
        description="Cold-pressed extra virgin olive oil from Greek Koroneiki olives, in a 500 ml dark glass bottle. "
        "Brew nothing.",
        attributes={"volume": "500 ml", "olives": "Koroneiki", "origin": "Greece"},
    )  # fmt: skip
    index = fact_index(oil)
    assert "koroneikiing" in unsupported_terms("Made with koroneikiing olives.", index)
    assert unsupported_terms("Made with Koroneiki olives, cold-pressed, in a dark glass bottle.", index) == []
    assert "brewed" not in unsupported_terms("Brewed nothing.", index)  # a sentence's first word is no name
    assert "faille" in unsupported_terms("A cap with six panels of faille.", fact_index(LAMP))


def test_tenth_set_picks_are_findings() -> None:
    """ "You won’s be happy!" disparages; "misericorde" (a dagger VADER rates positive) is no shop word."""
    from catalog.guards.vocabulary import closed_words

    findings = guards_check("Order this desk lamp today. You won’s be happy!", fact_index(LAMP)).findings
    assert any(f.code == "disparaging" for f in findings), findings
    assert "misericorde" not in closed_words()


def test_an_echoed_instruction_is_a_chat_artefact() -> None:
    """'End with a bold promise of "buy now"' (a tenth-set pick) is the prompt's instruction, not copy."""
    findings = guards_check('A desk lamp, 10 W. End with a bold promise of "buy now".', fact_index(LAMP)).findings
    assert any(f.code == "chat_artefact" for f in findings), findings


def test_words_in_quotes_are_a_name_the_data_must_hold() -> None:
    """'your next pick from the "Everyday" set' (a twelfth-set pick on a GPU): the quotes make a name."""
    index = fact_index(LAMP)
    assert invented_names('Order your next pick from the "Everyday" set.', index) == ["Everyday"]
    assert invented_names("Order your next pick from the “Everyday” set.", index) == ["Everyday"]
    title = LAMP.title
    assert invented_names(f'Meet the "{title}".', index) == []
    assert invented_names('A 10" screen.', index) == []
