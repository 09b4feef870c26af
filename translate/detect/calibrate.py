"""Calibration of detector logits: temperature scaling, and a threshold at a stated false-positive rate.

Temperature scaling (Guo et al. 2017) divides every logit by one T > 0 fitted by minimising the binary
negative log-likelihood on validation logits. It fixes over- and under-confidence without changing the
ranking (AUC and AP are unchanged). The NLL is convex in 1/T, so a bracketing 1-D search over log T
finds the optimum; T is kept within [T_MIN, T_MAX] (a perfectly separated validation set would otherwise
drive T to 0, i.e. probabilities of exactly 0 or 1).

The decision threshold is then chosen on calibrated probabilities of *real* validation images so that at
most ``fpr`` of them are flagged (``score > threshold``). Both travel in the model file's
``info.extra`` as {"temperature", "threshold", "threshold_fpr"} (``Calibration.to_extra``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from translate.eval.metrics import threshold_at_fpr

T_MIN = 0.05
T_MAX = 20.0
DEFAULT_FPR = 0.01


def sigmoid(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -x))


def binary_nll(logits, labels, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of labels (0/1) under sigmoid(logits / T), computed stably."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    y = np.asarray(labels, dtype=np.float64)
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def fit_temperature(logits, labels, t_min: float = T_MIN, t_max: float = T_MAX, iters: int = 100) -> float:
    """The T in [t_min, t_max] minimising ``binary_nll(logits, labels, T)`` (golden-section on log T)."""
    z = np.asarray(logits, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if z.shape != y.shape or z.size == 0:
        raise ValueError(f"need as many labels as logits (got {z.size} logits, {y.size} labels)")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 (real) or 1 (generated)")
    lo, hi = np.log(t_min), np.log(t_max)
    golden = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
    fa, fb = binary_nll(z, y, np.exp(a)), binary_nll(z, y, np.exp(b))
    for _ in range(iters):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - golden * (hi - lo)
            fa = binary_nll(z, y, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + golden * (hi - lo)
            fb = binary_nll(z, y, np.exp(b))
    candidates = [lo, (lo + hi) / 2.0, hi, np.log(t_min), np.log(t_max)]
    best = min(candidates, key=lambda v: binary_nll(z, y, np.exp(v)))
    return float(np.exp(best))


def apply_temperature(logits, temperature: float) -> np.ndarray:
    """Calibrated probabilities sigmoid(logits / T)."""
    return sigmoid(np.asarray(logits, dtype=np.float64) / temperature)


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    threshold: float = 0.5  # on calibrated probabilities; flagged iff score > threshold
    threshold_fpr: float | None = None  # the false-positive rate it was chosen for, None if not fitted

    def probabilities(self, logits) -> np.ndarray:
        return apply_temperature(logits, self.temperature)

    def to_extra(self) -> dict:
        """What goes into ModelInfo.extra."""
        return {"temperature": self.temperature, "threshold": self.threshold, "threshold_fpr": self.threshold_fpr}

    @classmethod
    def from_extra(cls, extra: dict) -> "Calibration":
        """From ModelInfo.extra; an uncalibrated model gets T = 1 and threshold 0.5."""
        return cls(float(extra.get("temperature", 1.0)), float(extra.get("threshold", 0.5)),
                   extra.get("threshold_fpr"))


def calibrate(logits, labels, fpr: float = DEFAULT_FPR) -> Calibration:
    """Fit T on validation logits, then the threshold at ``fpr`` on the calibrated scores of the reals."""
    z = np.asarray(logits, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if not (y == 0).any():
        raise ValueError("calibration needs real (label 0) validation samples to set the threshold")
    t = fit_temperature(z, y)
    threshold = threshold_at_fpr(apply_temperature(z[y == 0], t), fpr)
    return Calibration(temperature=t, threshold=threshold, threshold_fpr=fpr)
