"""Image-quality and detection metrics, numpy only.

Image quality (PSNR, SSIM) follows the conventions of the super-resolution literature: SSIM is the
Wang et al. (2004) formulation with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, computed
on the "valid" part of the image (no padded borders); SR papers report both on the Y channel of YCbCr
with ``scale`` pixels cropped from every border (``sr_psnr_ssim``).

Detection metrics (ROC AUC, average precision) follow scikit-learn's definitions exactly, ties included,
without importing it. Throughout, label 1 means generated ("fake") and a higher score means "more likely
generated"; a sample is flagged when ``score > threshold``.
"""
from __future__ import annotations

import numpy as np

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
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(max_val**2 / mse))


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian taps; SSIM's 2-D window is their outer product (separable)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(x: np.ndarray, taps: np.ndarray, axes: tuple[int, int]) -> np.ndarray:
    """Separable 'valid' correlation of ``x`` with ``taps`` along both ``axes`` (shifted slices, no loops
    over pixels)."""
    k = len(taps)
    for axis in axes:
        n = x.shape[axis] - k + 1
        out = None
        for i, t in enumerate(taps):
            part = t * np.take(x, np.arange(i, i + n), axis=axis)
            out = part if out is None else out + part
        x = out
    return x


def ssim_map(a, b, data_range: float | None = None) -> np.ndarray:
    """Per-pixel SSIM over the valid region (each side shrinks by 10 pixels).

    Arrays are (H, W), (H, W, C) or (N, H, W, C) (channels last); the map keeps the non-spatial axes.
    """
    a, b = _check_pair(a, b)
    if a.ndim not in (2, 3, 4):
        raise ValueError(f"expected (H, W), (H, W, C) or (N, H, W, C), got shape {a.shape}")
    if data_range is None:
        data_range = _default_range(a, b)
    axes = (0, 1) if a.ndim in (2, 3) else (1, 2)
    if a.shape[axes[0]] < SSIM_WINDOW or a.shape[axes[1]] < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got shape {a.shape}")
    x, y = a.astype(np.float64), b.astype(np.float64)
    taps = gaussian_window()
    mu_x, mu_y = _filter_valid(x, taps, axes), _filter_valid(y, taps, axes)
    var_x = _filter_valid(x * x, taps, axes) - mu_x**2
    var_y = _filter_valid(y * y, taps, axes) - mu_y**2
    cov = _filter_valid(x * y, taps, axes) - mu_x * mu_y
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))


def ssim(a, b, data_range: float | None = None) -> float:
    """Mean SSIM of two images (H, W) or (H, W, C), channels averaged (as scikit-image's
    ``structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``).
    A batch (N, H, W, C) gives the mean over all images; see ``ssim_per_image``."""
    return float(np.mean(ssim_map(a, b, data_range)))


def ssim_per_image(a, b, data_range: float | None = None) -> np.ndarray:
    """SSIM of each image of a batch (N, H, W[, C]) -> (N,)."""
    a, b = _check_pair(a, b)
    if a.ndim == 3:  # (N, H, W) grayscale batch
        a, b = a[..., None], b[..., None]
    m = ssim_map(a, b, data_range)
    return m.reshape(m.shape[0], -1).mean(axis=1)


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


def _average_ranks(s: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their mean rank (scipy.stats.rankdata 'average')."""
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    starts = np.r_[True, sorted_s[1:] != sorted_s[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(s)] - 1
    mean_rank = (first + last) / 2.0 + 1.0
    ranks = np.empty(len(s))
    ranks[order] = mean_rank[group]
    return ranks


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve (= scikit-learn's ``roc_auc_score``): the probability that a random
    positive scores above a random negative, ties counting one half (Mann-Whitney U)."""
    y, s = _binary(labels, scores)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both real (0) and generated (1) samples")
    ranks = _average_ranks(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(labels, scores) -> float:
    """Average precision (= scikit-learn's ``average_precision_score``): sum over distinct score
    thresholds, high to low, of (recall gained) x (precision there); no interpolation."""
    y, s = _binary(labels, scores)
    n_pos = int(y.sum())
    if n_pos == 0:
        raise ValueError("average precision needs at least one generated (1) sample")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    tps = np.cumsum(y_sorted)[last_of_tie]
    flagged = (np.flatnonzero(last_of_tie) + 1).astype(np.float64)
    precision = tps / flagged
    recall = tps / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def accuracy_at(labels, scores, threshold: float) -> float:
    """Fraction classified correctly when a sample is called generated iff ``score > threshold``."""
    y, s = _binary(labels, scores)
    return float(np.mean((s > threshold) == y))


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
