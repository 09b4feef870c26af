import numpy as np
import pytest

from translate.detect.aggregate import (
    aggregate_scores,
    frames_flagged,
    min_confident_frames,
)


def test_confident_fakes_average_only_the_confident_frames():
    # 32 frames (the DFDC setting): 14 frames > 0.8 (> 12.8 and > 11) -> mean of those, not of all
    scores = [0.95] * 7 + [0.85] * 7 + [0.1] * 18
    v = aggregate_scores(scores)
    assert v.rule == "confident_fake"
    assert v.score == pytest.approx(0.9)
    assert v.n_used == 14
    assert np.mean(scores) < 0.5  # a plain mean (0.45) would have called it real


def test_confident_reals():
    scores = [0.05] * 29 + [0.9, 0.6, 0.5]  # 29/32 = 90.6% below 0.2
    v = aggregate_scores(scores)
    assert v.rule == "confident_real"
    assert v.score == pytest.approx(0.05)
    assert v.n_high == 1 and v.n_low == 29


def test_mixed_falls_back_to_mean():
    scores = [0.9] * 12 + [0.1] * 20  # 12 confident fakes: not more than 12.8
    v = aggregate_scores(scores)
    assert v.rule == "mean"
    assert v.score == pytest.approx(np.mean(scores))
    scores = [0.05] * 28 + [0.5] * 4  # 87.5% low: not more than 90%
    assert aggregate_scores(scores).rule == "mean"


def test_boundaries_are_strict():
    assert aggregate_scores([0.8] * 32).rule == "mean"  # 0.8 is not "above 0.8"
    assert aggregate_scores([0.2] * 32).rule == "mean"
    assert aggregate_scores([0.81] * 13 + [0.5] * 19).rule == "confident_fake"
    assert aggregate_scores([0.81] * 12 + [0.5] * 20).rule == "mean"


def test_count_threshold_scales_with_frames():
    assert min_confident_frames(32) == 11  # the original
    assert [min_confident_frames(n) for n in (1, 2, 4, 8, 16, 64, 300)] == [1, 1, 1, 3, 6, 22, 103]
    # a short clip: 5 of 8 frames confidently fake. The unscaled rule (> 11 frames) could never fire.
    v = aggregate_scores([0.95] * 5 + [0.1] * 3)
    assert v.rule == "confident_fake" and v.score == pytest.approx(0.95)
    # 3 of 8 is not more than 8 / 2.5 = 3.2
    assert aggregate_scores([0.95] * 3 + [0.1] * 5).rule == "mean"
    # a long sampling (every frame of 10 s at 30 fps): 121 of 300 needed (> 120)
    assert aggregate_scores([0.9] * 121 + [0.4] * 179).rule == "confident_fake"
    assert aggregate_scores([0.9] * 120 + [0.4] * 180).rule == "mean"
    # the same clip sampled densely or sparsely gets the same verdict rule
    pattern = [0.95, 0.95, 0.3, 0.95, 0.1]
    assert aggregate_scores(pattern * 2).rule == aggregate_scores(pattern * 20).rule == "confident_fake"


def test_tiny_clips():
    assert aggregate_scores([0.97]).score == pytest.approx(0.97)  # one frame: its own score
    assert aggregate_scores([0.97, 0.1]).rule == "mean"  # one confident frame of two is not enough
    assert aggregate_scores([0.97, 0.91]).rule == "confident_fake"


def test_bad_input():
    with pytest.raises(ValueError, match="no frame scores"):
        aggregate_scores([])
    with pytest.raises(ValueError, match="NaN"):
        aggregate_scores([0.5, float("nan")])


def test_frames_flagged():
    assert frames_flagged([0.1, 0.6, 0.7, 0.95], 0.6) == 2
