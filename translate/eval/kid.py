"""KID (Bińkowski et al. 2018): the unbiased MMD^2 of Inception features under the cubic polynomial kernel.

k(x, y) = (x.y / d + 1)^3. As in the reference implementations (the authors' TF code, torch-fidelity), the
estimate is averaged over ``subsets`` random subsets of ``subset_size`` features from each side (all of
them when a side has fewer), with a fixed seed so the figure is reproducible; its std is reported too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


@dataclass
class KID:
    mean: float
    std: float
    subsets: int
    subset_size: int


def polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between feature sets x (m, d) and y (n, d) with k(a, b) = (a.b / d + 1)^3."""
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2.0 * kxy.mean())


def kernel_inception_distance(fa: np.ndarray, fb: np.ndarray, subsets: int = KID_SUBSETS,
                              subset_size: int = KID_SUBSET_SIZE, seed: int = 0) -> KID:
    """KID of feature sets ``fa`` and ``fb`` (each at least 2 rows)."""
    fa, fb = np.asarray(fa, np.float64), np.asarray(fb, np.float64)
    if min(len(fa), len(fb)) < 2:
        raise ValueError("KID needs at least 2 images on each side")
    size = min(subset_size, len(fa), len(fb))
    if size == len(fa) == len(fb):  # every subset would be the whole set
        return KID(polynomial_mmd2(fa, fb), 0.0, 1, size)
    rng = np.random.default_rng(seed)
    values = [polynomial_mmd2(fa[rng.choice(len(fa), size, replace=False)],
                              fb[rng.choice(len(fb), size, replace=False)]) for _ in range(subsets)]
    return KID(float(np.mean(values)), float(np.std(values)), subsets, size)
