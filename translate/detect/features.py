"""Fixed (non-learned) features of generated content: high-pass residuals and the radial power spectrum.

- ``HighPassResidual``: the three SRM-style kernels used for manipulation detection (Fridrich & Kodovsky's
  rich models as picked by Zhou et al. 2018: a 5x5 "KV" kernel, a 3x3 second-order and a first-order
  kernel) applied to every colour channel. They cancel image content and keep the pixel-level noise where
  up-sampling layers and blending leave their traces.
- ``radial_spectrum``: the azimuthally averaged log power spectrum of the grayscale image (Durall et al.
  2020), resampled to a fixed number of bins over normalised frequency 0..sqrt(2)/2 cycles per pixel (so
  the corners, where transposed-convolution checkerboards show, are included) and standardised per image
  (zero mean, unit variance over bins), which makes it independent of image size, brightness and contrast.

Both run on batched torch tensors (N, 3, H, W) in any value range; ``spectrum_feature`` wraps the
spectrum for one uint8 image.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SPECTRUM_BINS = 64
MAX_RADIUS = float(np.sqrt(0.5))  # normalised frequency of the spectrum's corner (0.5, 0.5)
LUMA = (0.299, 0.587, 0.114)


def srm_kernels() -> torch.Tensor:
    """The three SRM high-pass kernels, (3, 5, 5), each normalised as in Zhou et al. (1/12, 1/4, 1/2)."""
    kv = torch.tensor([[-1, 2, -2, 2, -1],
                       [2, -6, 8, -6, 2],
                       [-2, 8, -12, 8, -2],
                       [2, -6, 8, -6, 2],
                       [-1, 2, -2, 2, -1]], dtype=torch.float32) / 12.0
    second = torch.zeros(5, 5)
    second[1:4, 1:4] = torch.tensor([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]], dtype=torch.float32) / 4.0
    first = torch.zeros(5, 5)
    first[2, 1:4] = torch.tensor([1, -2, 1], dtype=torch.float32) / 2.0
    return torch.stack([kv, second, first])


class HighPassResidual(nn.Module):
    """Fixed depthwise high-pass filtering: (N, C, H, W) -> (N, 3*C, H, W), channel order
    [c0k0, c0k1, c0k2, c1k0, ...]. Reflect padding keeps the size; ``clamp`` (if > 0) truncates residuals
    to [-clamp, clamp] like SRM's truncation (in the input's units). The kernels are a non-persistent
    buffer: constants rebuilt by the constructor, never trained and not stored in model files."""

    def __init__(self, in_channels: int = 3, clamp: float = 0.0):
        super().__init__()
        k = srm_kernels()
        self.in_channels = in_channels
        self.clamp = clamp
        weight = k.unsqueeze(1).repeat(in_channels, 1, 1, 1)  # (3*C, 1, 5, 5)
        self.register_buffer("weight", weight, persistent=False)

    @property
    def out_channels(self) -> int:
        return self.weight.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (2, 2, 2, 2), mode="reflect")
        r = F.conv2d(x, self.weight.to(x.dtype), groups=self.in_channels)
        if self.clamp > 0:
            r = r.clamp(-self.clamp, self.clamp)
        return r


def to_gray(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB or (N, 1, H, W) -> (N, H, W) luma (BT.601 weights)."""
    if x.shape[1] == 1:
        return x[:, 0]
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1)


@lru_cache(maxsize=32)
def _radial_layout(h: int, w: int, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For an HxW spectrum: each frequency's bin (-1 = excluded DC), the Hann window, and a (bins, bins)
    matrix that fills bins no frequency falls in (small images) by linear interpolation between the
    centres of the bins that are filled."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    r = np.sqrt(fy**2 + fx**2)
    idx = np.minimum((r / MAX_RADIUS * bins).astype(np.int64), bins - 1)
    idx[0, 0] = -1  # DC carries only the (removed) mean
    counts = np.bincount(idx[idx >= 0].ravel(), minlength=bins)
    centres = (np.arange(bins) + 0.5)
    filled = np.flatnonzero(counts)
    interp = np.zeros((bins, bins))
    for j, c in enumerate(centres):  # bins x bins, once per image size
        if counts[j]:
            interp[j, j] = 1.0
            continue
        hi = np.searchsorted(filled, j)
        if hi == 0:
            interp[filled[0], j] = 1.0
        elif hi == len(filled):
            interp[filled[-1], j] = 1.0
        else:
            lo_b, hi_b = filled[hi - 1], filled[hi]
            t = (c - centres[lo_b]) / (centres[hi_b] - centres[lo_b])
            interp[lo_b, j], interp[hi_b, j] = 1.0 - t, t
    window = np.outer(np.hanning(h) if h > 1 else np.ones(1), np.hanning(w) if w > 1 else np.ones(1))
    return idx.ravel(), window, interp


def radial_spectrum(x: torch.Tensor, bins: int = SPECTRUM_BINS, eps: float = 1e-8) -> torch.Tensor:
    """Azimuthally averaged log power spectrum, (N, C, H, W) or (N, H, W) -> (N, bins), standardised per
    image. The mean is removed under a Hann window (no edge cross, no DC leakage) before the FFT."""
    gray = to_gray(x) if x.dim() == 4 else x
    gray = gray.float()
    n, h, w = gray.shape
    idx_np, window_np, interp_np = _radial_layout(h, w, bins)
    window = torch.as_tensor(window_np, dtype=gray.dtype, device=gray.device)
    mean = (gray * window).sum(dim=(1, 2), keepdim=True) / window.sum()
    spec = torch.fft.fft2((gray - mean) * window)
    power = (spec.real**2 + spec.imag**2).reshape(n, -1) / (h * w)
    idx = torch.as_tensor(idx_np, device=gray.device)
    keep = idx >= 0
    sums = torch.zeros(n, bins, dtype=power.dtype, device=power.device)
    sums.index_add_(1, idx[keep], power[:, keep])
    counts = torch.bincount(idx[keep], minlength=bins).to(power.dtype)
    profile = torch.log(sums / counts.clamp(min=1) + eps)
    profile = profile @ torch.as_tensor(interp_np, dtype=profile.dtype, device=profile.device)
    profile = profile - profile.mean(dim=1, keepdim=True)
    return profile / (profile.std(dim=1, keepdim=True) + 1e-6)


def spectrum_feature(image: np.ndarray, bins: int = SPECTRUM_BINS) -> np.ndarray:
    """``radial_spectrum`` of one image (H, W) or (H, W, 3), any dtype -> float32 (bins,)."""
    t = torch.as_tensor(np.ascontiguousarray(image), dtype=torch.float32)
    t = t.permute(2, 0, 1)[None] if t.dim() == 3 else t[None]
    with torch.no_grad():
        return radial_spectrum(t, bins)[0].numpy()
