"""The copy editor's cut (`catalog.guards.trim`): whole sentences out, never words in."""

from __future__ import annotations

import pytest

from catalog.guards import fact_index, guards_check
from catalog.guards.trim import MAX_CUTS, _points_back, guards_trim, split_sentences
from tests.catalog.test_guards import CRISPS, HEADPHONES, TEE


@pytest.fixture(scope="module")
def headphones():
    return fact_index(HEADPHONES)


def test_sentences_split_at_ends_not_at_decimals_or_versions():
    text = 'Pairs over Bluetooth 5.3. Up to 30 hours of play! "Quiet at last." Buy now'
    assert split_sentences(text) == [
        "Pairs over Bluetooth 5.3.",
        "Up to 30 hours of play!",
        '"Quiet at last."',
        "Buy now",
    ]


def test_the_sentence_with_the_invented_figure_is_cut_and_the_rest_kept_word_for_word(headphones):
    text = (
        "Hushwave's over-ear headphones cancel noise with up to 30 hours of battery life. "
        "They charge fully in 10 minutes. Connect over Bluetooth 5.3 and settle in."
    )
    assert not guards_check(text, headphones).passed
    trimmed = guards_trim(text, headphones)
    assert trimmed is not None
    assert trimmed.text == (
        "Hushwave's over-ear headphones cancel noise with up to 30 hours of battery life. "
        "Connect over Bluetooth 5.3 and settle in."
    )
    assert [c.sentence for c in trimmed.cuts] == ["They charge fully in 10 minutes."]
    assert trimmed.report.passed and guards_check(trimmed.text, headphones).passed
    # The reviewer is told what went and why, with the guard's own words.
    (line,) = trimmed.describe()
    assert line.startswith('cut "They charge fully in 10 minutes." (') and "10 minutes" in line


def test_copy_that_passes_is_left_alone(headphones):
    assert (
        guards_trim("Wireless over-ear headphones with up to 30 hours of battery life. Shop now.", headphones) is None
    )


def test_no_cut_when_the_claim_is_in_the_only_sentence(headphones):
    assert guards_trim("Wireless headphones with 45 hours of battery life and Bluetooth 5.3.", headphones) is None


def test_no_cut_that_leaves_a_back_reference_without_its_sentence(headphones):
    # Cutting the first sentence would leave "It …" pointing at nothing.
    text = "These headphones last 45 hours on a charge. It connects over Bluetooth 5.3 with ease, all day long."
    assert guards_trim(text, headphones) is None


def test_no_cut_that_leaves_too_little(headphones):
    # What would stay ("Bluetooth 5.3 inside.") is too short to be copy.
    assert guards_trim("Bluetooth 5.3 inside. Battery life of 45 hours, the longest ever made.", headphones) is None


def test_at_most_max_cuts_sentences(headphones):
    bad = ["Battery life of 45 hours.", "Charges in 5 minutes.", "Waterproof to 50 m."]
    good = "Hushwave's wireless over-ear headphones cancel noise with up to 30 hours of battery life."
    assert MAX_CUTS == 2
    assert guards_trim(" ".join([good, *bad]), headphones) is None
    trimmed = guards_trim(" ".join([good, *bad[:2]]), headphones)
    assert trimmed is not None and trimmed.text == good and len(trimmed.cuts) == 2


def test_off_topic_sentence_is_cut_too():
    crisps = fact_index(CRISPS)
    text = (
        "Pantry Pilot's baked lentil crisps are seasoned with sea salt, six 30 g bags to a pack. "
        "The perfect breakfast burger."
    )
    assert not guards_check(text, crisps).passed
    trimmed = guards_trim(text, crisps)
    assert trimmed is not None and trimmed.text.startswith("Pantry Pilot's baked lentil crisps")
    assert "burger" not in trimmed.text.lower()


def test_the_pipeline_cuts_before_the_call_to_action_and_records_the_cut(headphones):
    """generator.pools.samples_cleaned: the cut happens on the model's text, the stock CTA is added
    after it (a cut sentence may have been the model's own CTA), and the cut travels with the sample."""
    from generator.backend import Generation
    from generator.params import GenerationParams
    from generator.pools import samples_cleaned
    from generator.prompts import PromptSpec

    spec = PromptSpec(messages=(), prompt_type="cta", asks_for_cta=True)
    sample = Generation(
        text="Hushwave's over-ear headphones have active noise cancellation and up to 30 hours of battery life. "
        "Order now for a free case.",
        n_tokens=20,
    )
    cut = samples_cleaned([spec], [sample], params=GenerationParams(), seed=0, facts=headphones)
    (text,) = cut.texts
    assert text.startswith(
        "Hushwave's over-ear headphones have active noise cancellation and up to 30 hours of battery life. "
    )
    assert "free case" not in text and cut.appended == [True] and guards_check(text, headphones).passed
    assert len(cut.cuts[0]) == 1 and "free case" in cut.cuts[0][0]
    # Switched off, the sample stays whole (and fails the guards, so the reranker drops it).
    whole = samples_cleaned([spec], [sample], params=GenerationParams(trim_sentences=False), seed=0, facts=headphones)
    assert "free case" in whole.texts[0] and whole.cuts == [()] and not guards_check(whole.texts[0], headphones).passed


def test_no_cut_that_leaves_copy_without_the_product_or_without_a_fact(headphones):
    # Cutting the invented figure would leave a sentence that no longer says what is sold.
    lost_the_product = (
        "These Hushwave headphones last 45 hours on a charge. Not just about music but about making a difference today!"
    )
    assert guards_trim(lost_the_product, headphones) is None
    # ... or one that names the product and says nothing of it.
    only_the_name = "Meet the ANC Over-Ear Headphones, ready for you today. They last 45 hours. Shop now for yours."
    assert guards_trim(only_the_name, headphones) is None
    # With a fact of the data beside the name, the cut is made.
    kept = guards_trim(
        "Meet the ANC Over-Ear Headphones, with Bluetooth 5.3 for your day. They last 45 hours on a charge.",
        headphones,
    )
    assert kept is not None and kept.text == "Meet the ANC Over-Ear Headphones, with Bluetooth 5.3 for your day."


def test_a_cut_sentence_is_named_with_what_the_guards_find_in_it_alone():
    # "…" is a finding about the copy as a whole (it quotes no claim): the reason comes from the
    # sentence on its own.
    crisps = fact_index(CRISPS)
    trimmed = guards_trim("Pantry Pilot's baked lentil crisps, seasoned with sea salt. Great for the...", crisps)
    assert trimmed is not None and trimmed.text == "Pantry Pilot's baked lentil crisps, seasoned with sea salt."
    assert trimmed.describe() == ['cut "Great for the..." (not publishable: trailing or elided text (…))']


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Fits Dr. Martens boots. Shop now.", ["Fits Dr. Martens boots.", "Shop now."]),
        ("Approx. 250 g on your head. Light.", ["Approx. 250 g on your head.", "Light."]),
        ("The No. 1 speaker. 14 hours.", ["The No. 1 speaker.", "14 hours."]),
        ("Quiet vs. loud rooms alike. Wi-Fi 6. Fast.", ["Quiet vs. loud rooms alike.", "Wi-Fi 6.", "Fast."]),
    ],
)
def test_abbreviations_do_not_end_a_sentence(text, sentences):
    assert split_sentences(text) == sentences


def test_no_cut_that_leaves_a_later_sentence_pointing_at_the_cut_one(headphones):
    tee = fact_index(TEE)
    text = (
        "Crew neck T-shirt made from 180 gsm organic cotton jersey. Silk trims line the collar. "
        "They feel smooth against your neck all day."
    )
    trimmed = guards_trim(text, tee)
    # "They feel smooth" would read as the tee's: both go, or nothing does.
    assert trimmed is None or "They feel smooth" not in trimmed.text
    text = (
        "Hushwave headphones with active noise cancellation and Bluetooth 5.3. The #1 choice of pilots. "
        "That is why they weigh only 250 g."
    )
    trimmed = guards_trim(text, headphones)
    assert trimmed is None or "That is why" not in trimmed.text
    # Read in a held-out pick (a webcam): the first sentence cut, "This will allow…" was left pointing at it.
    assert _points_back("This will allow you to enjoy 1080p video on any monitor.")
    assert not _points_back("This webcam records 1080p video.")


def test_a_cut_never_splits_a_sentence_at_an_abbreviation(headphones):
    text = (
        "ANC Over-Ear Headphones with active noise cancellation vs. the 45 hours of the competition, "
        "and Bluetooth 5.3 for your phone."
    )
    assert guards_trim(text, headphones) is None
