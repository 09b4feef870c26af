import numpy as np
import pytest

from translate.detect.calibrate import (
    Calibration,
    apply_temperature,
    binary_nll,
    calibrate,
    fit_temperature,
    sigmoid,
    verdict,
)
from translate.eval.metrics import roc_auc


def miscalibrated(n=4000, overconfidence=5.0, seed=0):
    """Labels drawn from sigmoid(true logit); the model reports overconfidence x the true logit."""
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(0, 2, n)
    labels = (rng.uniform(size=n) < sigmoid(true_logits)).astype(int)
    return overconfidence * true_logits, labels


@pytest.mark.parametrize("factor", [5.0, 0.3])
def test_temperature_recovers_the_miscalibration_and_lowers_nll(factor):
    logits, labels = miscalibrated(overconfidence=factor)
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(factor, rel=0.1)
    before, after = binary_nll(logits, labels), binary_nll(logits, labels, t)
    assert after < before
    if factor > 1:
        assert before - after > 0.3  # overconfidence is expensive in NLL
    # the optimum: nudging T either way does not help
    assert after <= binary_nll(logits, labels, t * 1.05) and after <= binary_nll(logits, labels, t / 1.05)


def test_ranking_unchanged():
    logits, labels = miscalibrated()
    t = fit_temperature(logits, labels)
    probs = apply_temperature(logits, t)
    assert np.array_equal(np.argsort(probs, kind="stable"), np.argsort(logits, kind="stable"))
    assert roc_auc(labels, probs) == roc_auc(labels, logits)


def test_separable_data_hits_the_bound_not_zero():
    logits = np.r_[np.full(50, -3.0), np.full(50, 3.0)]
    labels = np.r_[np.zeros(50), np.ones(50)]
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(0.05, rel=1e-6)


def test_calibrate_threshold_gives_stated_fpr_on_reals():
    logits, labels = miscalibrated(n=5000, seed=1)
    cal = calibrate(logits, labels, fpr=0.05)
    real_probs = cal.probabilities(logits[labels == 0])
    fpr = np.mean(real_probs > cal.threshold)
    assert fpr <= 0.05 and fpr > 0.049  # as close as the count of reals allows
    assert cal.threshold_fpr == 0.05
    assert Calibration.from_extra(cal.to_extra()) == cal


def test_uncalibrated_defaults_and_errors():
    cal = Calibration.from_extra({})
    assert cal.temperature == 1.0 and cal.threshold == 0.5
    with pytest.raises(ValueError):
        calibrate([1.0, 2.0], [1, 1])
    with pytest.raises(ValueError):
        fit_temperature([1.0], [0, 1])


def test_nll_is_stable_for_huge_logits():
    assert np.isfinite(binary_nll([1e4, -1e4], [0, 1]))
    assert binary_nll([1e4, -1e4], [1, 0]) == pytest.approx(0.0)


def test_two_thresholds_at_2_and_10_percent_and_three_verdicts():
    logits, labels = miscalibrated(n=6000, seed=2)
    cal = calibrate(logits, labels)  # defaults: fake at 2%, uncertain at 10% of reals
    real = cal.probabilities(logits[labels == 0])
    assert 0.019 < np.mean(real > cal.threshold) <= 0.02
    assert 0.099 < np.mean(real > cal.uncertain) <= 0.10
    said = [cal.verdict(s) for s in real]
    assert said.count("fake") / len(real) <= 0.02 and 0.07 < said.count("uncertain") / len(real) < 0.081
    assert Calibration.from_extra(cal.to_extra()) == cal
    with pytest.raises(ValueError, match="at least the fake one"):
        calibrate(logits, labels, fpr=0.1, uncertain_fpr=0.02)


def test_one_threshold_model_file_has_no_uncertain_band():
    old = Calibration.from_extra({"temperature": 1.5, "threshold": 0.7, "threshold_fpr": 0.01})
    assert old.single_threshold and old.uncertain == 0.7
    assert [old.verdict(s) for s in (0.9, 0.7, 0.69, 0.1)] == ["fake", "real", "real", "real"]
    assert verdict(0.5, 0.7, 0.4) == "uncertain" and verdict(0.5, 0.7) == "real"


def test_grouped_thresholds_hold_the_rate_within_every_condition():
    """Re-encoded real video scoring higher than clean photos: one threshold over all of them lets that
    condition carry most false positives; with groups, each condition stays within the rate."""
    rng = np.random.default_rng(0)
    clean, h264 = rng.normal(-3, 1, 500), rng.normal(-1.5, 1, 500)
    logits = np.r_[clean, h264, rng.normal(2, 1, 200)]
    labels = np.r_[np.zeros(1000), np.ones(200)].astype(int)
    groups = np.r_[["clean"] * 500, ["h264"] * 500, ["clean"] * 200]
    pooled = calibrate(logits, labels, fpr=0.02, uncertain_fpr=0.1)
    grouped = calibrate(logits, labels, fpr=0.02, uncertain_fpr=0.1, groups=groups)
    p = grouped.probabilities(logits)
    assert np.mean(pooled.probabilities(h264) > pooled.threshold) > 0.03  # pooled: h264 over its share
    for real in (p[:500], p[500:1000]):
        assert np.mean(real > grouped.threshold) <= 0.02 and np.mean(real > grouped.uncertain) <= 0.10
    assert grouped.threshold >= pooled.threshold and grouped.uncertain <= grouped.threshold
