"""Image-quality and detection metrics: scikit-image and scikit-learn, with this project's conventions.

Image quality (PSNR, SSIM) follows the conventions of the super-resolution literature: SSIM is the
Wang et al. (2004) formulation with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, averaged
over the "valid" part of the image (no padded borders), as ``skimage.metrics.structural_similarity`` computes
it with ``gaussian_weights=True, use_sample_covariance=False``; SR papers report both on the Y channel of
YCbCr with ``scale`` pixels cropped from every border (``sr_psnr_ssim``).

Detection metrics (ROC AUC, average precision) are scikit-learn's. Throughout, label 1 means generated
("fake") and a higher score means "more likely generated"; a sample is flagged when ``score > threshold``.
"""
from __future__ import annotations

import numpy as np

# scikit-image and scikit-learn are imported where they are used: together they cost ~1.5 s of start-up
# (scipy.stats, pandas), which every `translate train` process would otherwise pay through the detector method.

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


# ----------------------------------------------------------------------------------------------- quality
def _default_range(*arrays: np.ndarray) -> float:
    """Pixel range implied by the dtype (integers) or by the values (floats in [0, 1] or [-1, 1])."""
    dtype = arrays[0].dtype
    if np.issubdtype(dtype, np.integer):
        return float(np.iinfo(dtype).max - min(np.iinfo(dtype).min, 0))
    lo = min(float(np.min(a)) for a in arrays)
    hi = max(float(np.max(a)) for a in arrays)
    if lo >= 0.0 and hi <= 1.0:
        return 1.0
    if lo >= -1.0 and hi <= 1.0:
        return 2.0
    raise ValueError(f"float images with values in [{lo:g}, {hi:g}]: pass max_val/data_range explicitly")


def _check_pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    return a, b


def psnr(a, b, max_val: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB over all pixels: 10 log10(max_val^2 / MSE); inf when identical.

    ``max_val`` defaults to 255 for uint8 (the dtype's maximum for integers) and to 1 (or 2 for values
    in [-1, 1]) for floats.
    """
    a, b = _check_pair(a, b)
    if max_val is None:
        max_val = _default_range(a, b)
    from skimage.metrics import peak_signal_noise_ratio

    with np.errstate(divide="ignore"):  # identical images: MSE 0 -> inf dB
        return float(peak_signal_noise_ratio(a.astype(np.float64), b.astype(np.float64), data_range=max_val))


def ssim(a, b, data_range: float | None = None) -> float:
    """Mean SSIM of two images (H, W) or (H, W, C), channels averaged (scikit-image's
    ``structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``).
    A batch (N, H, W, C) gives the mean over all images; see ``ssim_per_image``."""
    a, b = _check_pair(a, b)
    if a.ndim == 4:
        return float(np.mean(ssim_per_image(a, b, data_range)))
    if a.ndim not in (2, 3):
        raise ValueError(f"expected (H, W), (H, W, C) or (N, H, W, C), got shape {a.shape}")
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got shape {a.shape}")
    if data_range is None:
        data_range = _default_range(a, b)
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a.astype(np.float64), b.astype(np.float64), data_range=data_range,
                                       gaussian_weights=True, sigma=SSIM_SIGMA, use_sample_covariance=False,
                                       K1=SSIM_K1, K2=SSIM_K2, channel_axis=-1 if a.ndim == 3 else None))


def ssim_per_image(a, b, data_range: float | None = None) -> np.ndarray:
    """SSIM of each image of a batch (N, H, W[, C]) -> (N,)."""
    a, b = _check_pair(a, b)
    if data_range is None:
        data_range = _default_range(a, b)  # one range for the whole batch
    return np.array([ssim(x, y, data_range) for x, y in zip(a, b)])


def rgb_to_y(img) -> np.ndarray:
    """Luma Y of YCbCr (ITU-R BT.601, studio swing) as float64 on the 0..255 scale (16..235).

    Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 for R, G, B in 0..255. Integer images are taken as
    0..255, float images as 0..1. No rounding (as BasicSR's ``rgb2ycbcr(y_only=True)``; MATLAB rounds
    uint8 output, which moves PSNR by a few hundredths of a dB). Channels last, RGB order.
    """
    img = np.asarray(img)
    if img.shape[-1] != 3:
        raise ValueError(f"expected RGB channels last, got shape {img.shape}")
    x = img.astype(np.float64)
    if not np.issubdtype(img.dtype, np.integer):
        x = x * 255.0
    return 16.0 + (x[..., 0] * 65.481 + x[..., 1] * 128.553 + x[..., 2] * 24.966) / 255.0


def sr_psnr_ssim(sr, hr, scale: int) -> tuple[float, float]:
    """PSNR (dB) and SSIM of a super-resolved image against its ground truth as SR papers report them:
    Y channel, ``scale`` pixels cropped from each border, data range 255. uint8 RGB (or float 0..1) in."""
    sr, hr = _check_pair(sr, hr)
    y_sr, y_hr = rgb_to_y(sr), rgb_to_y(hr)
    if scale > 0:
        y_sr = y_sr[..., scale:-scale, scale:-scale]
        y_hr = y_hr[..., scale:-scale, scale:-scale]
    return psnr(y_sr, y_hr, 255.0), ssim(y_sr, y_hr, 255.0)


# --------------------------------------------------------------------------------------------- detection
def _binary(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 (real) or 1 (generated)")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return y.astype(bool), s


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve (scikit-learn's ``roc_auc_score``): the probability that a random
    positive scores above a random negative, ties counting one half."""
    y, s = _binary(labels, scores)
    if y.all() or not y.any():
        raise ValueError("ROC AUC needs both real (0) and generated (1) samples")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


def average_precision(labels, scores) -> float:
    """Average precision (scikit-learn's ``average_precision_score``): sum over distinct score
    thresholds, high to low, of (recall gained) x (precision there); no interpolation."""
    y, s = _binary(labels, scores)
    if not y.any():
        raise ValueError("average precision needs at least one generated (1) sample")
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, s))


def accuracy_at(labels, scores, threshold: float) -> float:
    """Fraction classified correctly when a sample is called generated iff ``score > threshold``."""
    y, s = _binary(labels, scores)
    return float(np.mean((s > threshold) == y))


# Hand-written: sklearn's roc_curve needs both classes and flags score >= t; this flags score > t, from reals alone.
def threshold_at_fpr(real_scores, fpr: float) -> float:
    """The lowest threshold at which at most ``fpr`` of ``real_scores`` are flagged (``score > t``).

    It is the (k+1)-th highest real score with k = floor(fpr * n): exactly k reals lie above it when
    scores are distinct, fewer when it sits in a tie. ``fpr >= 1`` gives -inf (flag everything).
    """
    s = np.sort(np.asarray(real_scores, dtype=np.float64).ravel())[::-1]
    if s.size == 0:
        raise ValueError("threshold_at_fpr needs at least one real score")
    if not 0.0 <= fpr <= 1.0:
        raise ValueError(f"fpr must be in [0, 1], got {fpr}")
    k = int(np.floor(fpr * s.size + 1e-9))
    if k >= s.size:
        return float("-inf")
    return float(s[k])
