import numpy as np
import pytest

from generator import predictor
from generator.predictor import FEATURE_NAMES, InsufficientData, OutcomeRow, fit_logistic, prior_model

TYPICAL = {
    "keyword_strength": 0.33,
    "cta_present": 1,
    "cta_density": 0.05,
    "sentiment": 0.5,
    "readability": 0.6,
    "relevance": 0.5,
    "length_fit": 1.0,
    "specificity": 0.33,
    "hype": 0.0,
}
BARE = TYPICAL | {"keyword_strength": 0.0, "cta_present": 0, "cta_density": 0.0, "sentiment": 0.0}


def test_prior_puts_typical_copy_near_the_papers_rates():
    assert prior_model("cvr").predict(TYPICAL) == pytest.approx(0.042, abs=0.002)
    assert prior_model("ctr").predict(TYPICAL) == pytest.approx(0.106, abs=0.002)
    assert prior_model("cvr").predict(BARE) == pytest.approx(0.019, abs=0.002)
    for target in predictor.TARGETS:
        coefficients = predictor.PRIOR_COEFFICIENTS[target]
        assert set(coefficients) == {"intercept", *FEATURE_NAMES}
        # the paper's direction: keywords, CTAs and positive sentiment help
        assert (
            coefficients["keyword_strength"] > 0 and coefficients["cta_density"] > 0 and coefficients["sentiment"] > 0
        )


def test_predict_is_sigmoid_of_theta_x():
    model = predictor.LogisticModel(
        target="cvr", coefficients={"intercept": 0.0, "sentiment": 2.0}, feature_names=("sentiment",)
    )
    assert model.predict({"sentiment": 0.0}) == pytest.approx(0.5)
    assert model.predict({"sentiment": 1.0}) == pytest.approx(1 / (1 + np.exp(-2)))
    assert model.predict_many([{"sentiment": 0.0}, {"sentiment": -1.0}])[1] == pytest.approx(1 / (1 + np.exp(2)))
    assert model.predict_many([]) == []


def test_missing_feature_is_an_error():
    with pytest.raises(KeyError, match="relevance"):
        prior_model().predict({k: v for k, v in TYPICAL.items() if k != "relevance"})


def _simulated_rows(theta: dict[str, float], n_rows: int = 300, impressions: int = 2000, seed: int = 7):
    rng = np.random.default_rng(seed)
    truth = predictor.LogisticModel(target="cvr", coefficients=theta)
    rows = []
    for _ in range(n_rows):
        features = {
            "keyword_strength": rng.uniform(0, 1),
            "cta_present": float(rng.integers(0, 2)),
            "cta_density": rng.uniform(0, 0.15),
            "sentiment": rng.uniform(-1, 1),
            "readability": rng.uniform(0, 1),
            "relevance": rng.uniform(0, 1),
            "length_fit": rng.uniform(0, 1),
            "specificity": rng.uniform(0, 1),
            "hype": rng.uniform(0, 1),
        }
        orders = int(rng.binomial(impressions, truth.predict(features)))
        clicks = int(rng.binomial(impressions, min(0.9, 2.5 * truth.predict(features))))
        rows.append(OutcomeRow(features=features, impressions=impressions, orders=orders, clicks=clicks))
    return rows


def test_fit_recovers_known_coefficients_from_plain_rows():
    theta = {
        "intercept": -3.5,
        "keyword_strength": 1.2,
        "cta_present": 0.5,
        "cta_density": 0.0,
        "sentiment": -0.4,
        "readability": 0.8,
        "relevance": 0.3,
        "length_fit": 0.0,
    }
    # No copy effects in these rows: the plain binomial likelihood is the right one.
    result = fit_logistic(_simulated_rows(theta), target="cvr", prior_strength=0.01, copy_sd=0.0)
    fitted = result.model.coefficients
    for name in ("intercept", "keyword_strength", "cta_present", "sentiment", "readability"):
        assert fitted[name] == pytest.approx(theta[name], abs=0.25), name
    assert result.n_samples == 300
    assert result.metrics["log_loss"] <= result.metrics["base_rate_log_loss"]
    assert result.metrics["impressions"] == 600_000


def test_fit_on_clicks_uses_the_ctr_target():
    theta = dict(predictor.PRIOR_COEFFICIENTS["cvr"])
    rows = _simulated_rows(theta, n_rows=50)
    result = fit_logistic(rows, target="ctr")
    assert result.model.target == "ctr"
    assert result.metrics["successes"] == sum(r.clicks for r in rows)


def test_strong_prior_keeps_the_fit_near_the_prior_on_little_data():
    rows = [
        OutcomeRow(features=TYPICAL, impressions=100, orders=50),
        OutcomeRow(features=BARE, impressions=100, orders=0),
    ]
    loose = fit_logistic(rows, prior_strength=0.01).model.coefficients
    tight = fit_logistic(rows, prior_strength=1000.0).model.coefficients
    prior = predictor.PRIOR_COEFFICIENTS["cvr"]
    assert abs(tight["cta_present"] - prior["cta_present"]) < abs(loose["cta_present"] - prior["cta_present"])
    assert tight["cta_present"] == pytest.approx(prior["cta_present"], abs=0.05)


def test_too_little_data_is_refused():
    with pytest.raises(InsufficientData):
        fit_logistic([], target="cvr")
    with pytest.raises(InsufficientData):
        fit_logistic([OutcomeRow(features=TYPICAL, impressions=10, orders=1)] * 3, min_impressions=100)
    with pytest.raises(ValueError, match="unknown target"):
        fit_logistic([], target="revenue")


def test_a_strong_prior_holds_the_slopes_but_not_the_base_rate():
    # Two pieces of copy converting at ~1 %, a quarter of the prior's rate, with the same features.
    rows = [OutcomeRow(features=TYPICAL, impressions=50_000, orders=500) for _ in range(2)]
    fit = fit_logistic(rows, prior_strength=1000).model
    assert fit.predict(TYPICAL) == pytest.approx(0.01, rel=0.05)  # the intercept learned the rate
    prior = prior_model().coefficients
    assert all(abs(fit.coefficients[n] - prior[n]) < 0.05 for n in FEATURE_NAMES)


def test_copy_effects_cap_what_one_piece_of_copy_teaches():
    # One piece of copy with figures converts 30 % better than one without: is it the figures?
    plain = TYPICAL | {"specificity": 0.0}
    rows = [
        OutcomeRow(features=plain, impressions=200_000, orders=8_000),
        OutcomeRow(features=TYPICAL | {"specificity": 1.0}, impressions=200_000, orders=10_400),
    ]
    binomial = fit_logistic(rows, prior_strength=30, copy_sd=0.0).model.coefficients["specificity"]
    quasi = fit_logistic(rows, prior_strength=30, copy_sd=0.2).model.coefficients["specificity"]
    # Under a binomial likelihood 400,000 impressions are 400,000 witnesses; with copy effects,
    # two pieces of copy are two, and the slope moves far less.
    assert binomial > 0.2 and 0 < quasi < binomial / 3
