import numpy as np
import pytest

from generator import scorers


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=float)
    return v / np.linalg.norm(v)


def test_set_diversity_of_identical_orthogonal_and_opposite_vectors():
    same = np.vstack([unit(1, 0), unit(1, 0), unit(1, 0)])
    assert scorers.set_diversity(same) == pytest.approx(0.0)
    orthogonal = np.eye(3)
    assert scorers.set_diversity(orthogonal) == pytest.approx(1.0)
    assert scorers.set_diversity(np.vstack([unit(1, 0), unit(-1, 0)])) == pytest.approx(2.0)
    assert scorers.set_diversity(np.vstack([unit(1, 0)])) == 0.0


def test_set_diversity_is_one_minus_mean_pairwise_cosine():
    vectors = np.vstack([unit(1, 0), unit(1, 1), unit(0, 1)])
    # pairs: cos 45° = 0.7071 twice, cos 90° = 0
    assert scorers.set_diversity(vectors) == pytest.approx(1 - (2 * 0.70710678) / 3)


def test_candidate_diversity_averages_to_set_diversity():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(5, 8))
    shares = scorers.candidate_diversity(vectors)
    assert np.mean(shares) == pytest.approx(scorers.set_diversity(vectors))


def test_novelty_counts_the_control_copy():
    a, b = unit(1, 0), unit(0, 1)
    # Without a control each candidate is orthogonal to the other: novelty 1.
    assert scorers.candidate_novelty(np.vstack([a, b])) == pytest.approx([1.0, 1.0])
    # The control equals a: a's mean similarity is (0 + 1) / 2, b's is (0 + 0) / 2.
    assert scorers.candidate_novelty(np.vstack([a, b]), control=a) == pytest.approx([0.5, 1.0])
    assert scorers.candidate_novelty(np.vstack([a])) == [1.0]
    assert scorers.candidate_novelty(np.zeros((0, 2))) == []


def test_relevance_is_clipped_cosine():
    assert scorers.relevance(unit(1, 0), unit(1, 0)) == pytest.approx(1.0)
    assert scorers.relevance(unit(1, 0), unit(-1, 0)) == 0.0
    assert scorers.relevance(unit(1, 1), unit(1, 0)) == pytest.approx(0.7071, abs=1e-4)


def test_sentiment_polarity_signs_and_range():
    assert scorers.sentiment_polarity("We love these amazing, wonderful socks!") > 0.5
    assert scorers.sentiment_polarity("Terrible, awful, broken junk.") < -0.5
    assert scorers.sentiment_polarity("The box contains six bags.") == pytest.approx(0.0)
    assert scorers.sentiment_polarity("") == 0.0


def test_cta_presence_and_density_use_the_brand_pattern():
    assert scorers.cta_presence("Warm socks. Shop now.")
    assert not scorers.cta_presence("Warm socks for cold days.")
    assert scorers.cta_count("Shop now! Limited edition. Add to cart.") == 3
    assert scorers.cta_density("Shop now") == pytest.approx(0.5)
    assert scorers.cta_density("") == 0.0


def test_readability_is_flesch_reading_ease_clipped():
    easy = scorers.readability("The cat sat. The dog ran. We had fun.")
    hard = scorers.readability(
        "Multifunctional thermoregulatory instrumentation facilitates comprehensive physiological optimization."
    )
    assert easy == 100.0
    assert hard == 0.0
    middle = scorers.readability("Keeps drinks cold for a whole day and fits every cup holder in your car.")
    assert 60 < middle < 100
    assert scorers.readability("") == 0.0


def test_syllable_counts():
    assert scorers.count_syllables("cat") == 1
    assert scorers.count_syllables("conversion") == 3


def test_keyword_strength_saturates_and_matches_phrases_and_plurals():
    keywords = ["battery life", "fast charging", "spec", "wireless", "warranty"]
    assert scorers.keyword_strength("Nothing relevant here.", keywords) == 0.0
    assert scorers.keyword_strength("Great battery life.", keywords) == pytest.approx(1 / 3)
    assert scorers.keyword_strength("Battery life, fast charging and full specs.", keywords) == pytest.approx(1.0)
    assert scorers.keyword_strength("wireless, warranty, specs, battery life", keywords) == 1.0
    assert scorers.keyword_strength("anything", []) == 0.0
    assert scorers.keyword_hits("Batterylife", ["battery life"]) == []


def test_length_fit():
    assert scorers.length_fit(0) == 0.0
    assert scorers.length_fit(6) == pytest.approx(0.5)
    assert scorers.length_fit(30) == 1.0
    assert 0 < scorers.length_fit(60) < 1


def test_text_scores_bundle():
    scores = scorers.text_scores("Fast charging earbuds with great battery life. Shop now!", ["battery life"])
    assert scores.cta_present and scores.words == 9 and scores.length_chars == 56
    assert scores.keyword_strength == 1.0 and scores.sentiment > 0
    assert set(scores.as_dict()) >= {"sentiment", "cta_density", "readability", "length_fit"}


def test_specificity_counts_figures_and_saturates():
    assert scorers.specificity("Soft cotton in a relaxed fit.") == 0.0
    assert scorers.specificity("30 hours of battery and a 65W charger.") == pytest.approx(2 / 3)
    assert scorers.specificity("1.5 l, 2 pack, 20% off, 3 colours, 4 sizes") == 1.0


def test_hype_counts_exclamations_and_shouted_words_but_not_acronyms():
    assert scorers.hype("USB-C charging with an LED display.") == 0.0
    assert scorers.hype("A 4K OLED panel with two HDMI ports.") == 0.0
    assert scorers.hype("Great sound!") == pytest.approx(1 / 3)
    assert scorers.hype("THE BEST EARBUDS EVER!!!") == 1.0
