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
    result = fit_logistic(_simulated_rows(theta), target="cvr", prior_strength=0.01)
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
    assert abs(tight["intercept"] - prior["intercept"]) < abs(loose["intercept"] - prior["intercept"])
    assert tight["cta_present"] == pytest.approx(prior["cta_present"], abs=0.05)


def test_too_little_data_is_refused():
    with pytest.raises(InsufficientData):
        fit_logistic([], target="cvr")
    with pytest.raises(InsufficientData):
        fit_logistic([OutcomeRow(features=TYPICAL, impressions=10, orders=1)] * 3, min_impressions=100)
    with pytest.raises(ValueError, match="unknown target"):
        fit_logistic([], target="revenue")
