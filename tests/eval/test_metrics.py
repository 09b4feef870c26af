import numpy as np
import pytest
from skimage import data

from translate.eval import metrics

# The hand-written metrics translate.eval.metrics had before it went to scikit-image / scikit-learn, kept as
# the references that pin the library calls to the same figures.


def ssim_by_hand(a, b, data_range):
    """Wang et al. SSIM, 11-tap Gaussian (sigma 1.5), separable 'valid' filtering, mean over the map."""
    x = np.arange(11, dtype=np.float64) - 5.0
    taps = np.exp(-(x**2) / (2 * 1.5**2))
    taps /= taps.sum()

    def blur(img):
        for axis in (0, 1):
            n = img.shape[axis] - 10
            img = sum(t * np.take(img, np.arange(i, i + n), axis=axis) for i, t in enumerate(taps))
        return img

    a, b = a.astype(np.float64), b.astype(np.float64)
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    return float(np.mean((2 * mu_a * mu_b + c1) * (2 * cov + c2) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))))


def auc_by_hand(labels, scores):
    """Mann-Whitney U over average ranks (ties count one half)."""
    y, s = np.asarray(labels, bool), np.asarray(scores, np.float64)
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    starts = np.r_[True, sorted_s[1:] != sorted_s[:-1]]
    first = np.flatnonzero(starts)
    mean_rank = (first + np.r_[first[1:], len(s)] - 1) / 2.0 + 1.0
    ranks = np.empty(len(s))
    ranks[order] = mean_rank[np.cumsum(starts) - 1]
    n_pos, n_neg = y.sum(), (~y).sum()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def ap_by_hand(labels, scores):
    """Sum over distinct thresholds, high to low, of recall gained x precision there."""
    y, s = np.asarray(labels, bool), np.asarray(scores, np.float64)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    tps = np.cumsum(y_sorted)[last_of_tie]
    precision = tps / (np.flatnonzero(last_of_tie) + 1)
    return float(np.sum(np.diff(np.r_[0.0, tps / y.sum()]) * precision))


@pytest.fixture(scope="module")
def photo():
    return data.astronaut()[100:228, 150:278]  # 128x128x3 uint8, a face


def test_psnr_of_known_gaussian_noise():
    rng = np.random.default_rng(0)
    a = rng.uniform(0.2, 0.8, size=(256, 256, 3))
    b = a + rng.normal(0, 0.01, size=a.shape)  # MSE ~ 1e-4 -> 40 dB on a range of 1
    assert metrics.psnr(a, b, 1.0) == pytest.approx(40.0, abs=0.05)
    assert metrics.psnr(a, a, 1.0) == float("inf")


def test_psnr_uint8_defaults_to_255():
    a = np.full((8, 8), 100, np.uint8)
    b = a.copy()
    b[0, 0] = 110  # MSE = 100 / 64
    expected = 10 * np.log10(255**2 / (100 / 64))
    assert metrics.psnr(a, b) == pytest.approx(expected, rel=1e-12)


def test_ssim_identical_is_one_and_falls_with_noise(photo):
    assert metrics.ssim(photo, photo) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(1)
    values = []
    for sigma in (2, 8, 25):
        noisy = np.clip(photo + rng.normal(0, sigma, photo.shape), 0, 255).astype(np.uint8)
        values.append(metrics.ssim(photo, noisy))
    assert values[0] > values[1] > values[2]
    assert values[2] < 0.7


@pytest.mark.parametrize("channels", [None, 3])
def test_psnr_and_ssim_equal_the_hand_written_figures(photo, channels):
    rng = np.random.default_rng(2)
    a = photo if channels else photo[..., 1]
    b = np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    assert metrics.psnr(a, b) == pytest.approx(10 * np.log10(255**2 / mse), rel=1e-12)
    assert metrics.psnr(a / 127.5 - 1, b / 127.5 - 1) == pytest.approx(10 * np.log10(4 / (mse / 127.5**2)), rel=1e-12)
    if channels:  # channels averaged
        ref = np.mean([ssim_by_hand(a[..., c], b[..., c], 255) for c in range(3)])
    else:
        ref = ssim_by_hand(a, b, 255)
    assert metrics.ssim(a, b) == pytest.approx(ref, abs=1e-12)
    assert metrics.ssim(a / 255, b / 255) == pytest.approx(ref, abs=1e-12)  # floats in [0, 1]: range 1


def test_ssim_batch_equals_per_image(photo):
    rng = np.random.default_rng(3)
    batch = np.stack([photo, photo[::-1]])
    noisy = np.clip(batch + rng.normal(0, 10, batch.shape), 0, 255).astype(np.uint8)
    per = metrics.ssim_per_image(batch, noisy)
    assert per.shape == (2,)
    assert per[0] == pytest.approx(metrics.ssim(batch[0], noisy[0]), abs=1e-12)
    assert per[1] == pytest.approx(metrics.ssim(batch[1], noisy[1]), abs=1e-12)


def test_rgb_to_y_reference_values():
    px = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], np.uint8)
    y = metrics.rgb_to_y(px)
    assert y[0, 0] == pytest.approx(16.0)
    assert y[0, 1] == pytest.approx(235.0, abs=1e-9)  # 16 + 219
    assert y[0, 2] == pytest.approx(16 + 65.481)
    assert np.allclose(metrics.rgb_to_y(px / 255.0), y)  # float input is 0..1


def test_sr_psnr_ssim_crops_border_and_uses_y(photo):
    sr = photo.copy()
    sr[:4] = 0  # damage only inside the 4-pixel border that x4 evaluation crops
    p, s = metrics.sr_psnr_ssim(sr, photo, scale=4)
    assert p == float("inf") and s == pytest.approx(1.0)
    p_full, _ = metrics.sr_psnr_ssim(sr, photo, scale=0)
    assert np.isfinite(p_full)
    # Y-channel PSNR equals the PSNR of the Y images computed by hand
    rng = np.random.default_rng(4)
    noisy = np.clip(photo + rng.normal(0, 5, photo.shape), 0, 255).astype(np.uint8)
    y1, y2 = metrics.rgb_to_y(noisy)[2:-2, 2:-2], metrics.rgb_to_y(photo)[2:-2, 2:-2]
    mse = np.mean((y1 - y2) ** 2)
    assert metrics.sr_psnr_ssim(noisy, photo, 2)[0] == pytest.approx(10 * np.log10(255**2 / mse))


def test_auc_and_ap_equal_the_hand_written_figures_with_ties():
    rng = np.random.default_rng(5)
    for trial in range(20):
        n = int(rng.integers(5, 300))
        labels = rng.integers(0, 2, n)
        if labels.min() == labels.max():
            labels[0] = 1 - labels[0]
        # coarse rounding makes many ties; shift positives so AUC is not ~0.5 only
        scores = np.round(rng.normal(size=n) + 0.7 * labels, 1 if trial % 2 else 0)
        assert metrics.roc_auc(labels, scores) == pytest.approx(auc_by_hand(labels, scores), abs=1e-12)
        assert metrics.average_precision(labels, scores) == pytest.approx(ap_by_hand(labels, scores), abs=1e-12)


def test_auc_extremes_and_errors():
    assert metrics.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert metrics.roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert metrics.roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert metrics.average_precision([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    with pytest.raises(ValueError, match="both real"):
        metrics.roc_auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="at least one generated"):
        metrics.average_precision([0, 0], [0.1, 0.2])


def test_accuracy_at_threshold():
    labels = [0, 0, 1, 1]
    scores = [0.1, 0.6, 0.4, 0.9]
    assert metrics.accuracy_at(labels, scores, 0.5) == 0.5
    assert metrics.accuracy_at(labels, scores, 0.35) == 0.75
    assert metrics.accuracy_at(labels, scores, 0.6) == 0.75  # flagged iff score > threshold


@pytest.mark.parametrize("fpr", [0.0, 0.01, 0.05, 0.1, 0.5])
def test_threshold_at_fpr_gives_that_fpr(fpr):
    real = np.random.default_rng(6).uniform(size=1000)
    t = metrics.threshold_at_fpr(real, fpr)
    measured = np.mean(real > t)
    assert measured <= fpr
    assert measured == pytest.approx(np.floor(fpr * 1000) / 1000)  # the lowest such threshold


def test_threshold_at_fpr_with_ties_never_exceeds_fpr():
    real = np.array([0.9, 0.9, 0.9, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    t = metrics.threshold_at_fpr(real, 0.2)  # 2 of 10 allowed, but 3 are tied at 0.9
    assert np.mean(real > t) == 0.0
    assert metrics.threshold_at_fpr(real, 1.0) == float("-inf")


def test_threshold_at_fpr_agrees_with_sklearns_roc_curve():
    """sklearn's roc_curve flags score >= t: the FPR our threshold gives (score > t) is the largest FPR on
    sklearn's curve that stays within the target."""
    from sklearn.metrics import roc_curve

    rng = np.random.default_rng(7)
    real, fake = np.round(rng.normal(size=200), 1), np.round(rng.normal(1, 1, 50), 1)  # many ties
    curve_fpr, _, _ = roc_curve(np.r_[np.zeros(200), np.ones(50)], np.r_[real, fake], drop_intermediate=False)
    for target in (0.01, 0.05, 0.1, 0.3):
        t = metrics.threshold_at_fpr(real, target)
        assert np.mean(real > t) == pytest.approx(curve_fpr[curve_fpr <= target + 1e-12].max())
