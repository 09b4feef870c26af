"""Calibration of detector logits: temperature scaling, and two thresholds at stated false-positive rates.

Temperature scaling (Guo et al. 2017) divides every logit by one T > 0 fitted by minimising the binary
negative log-likelihood on validation logits. It fixes over- and under-confidence without changing the
ranking (AUC and AP are unchanged). The NLL is convex in 1/T, so a bracketing 1-D search over log T
finds the optimum; T is kept within [T_MIN, T_MAX] (a perfectly separated validation set would otherwise
drive T to 0, i.e. probabilities of exactly 0 or 1).

Two thresholds are then chosen on calibrated probabilities of *real* validation images: ``threshold``
(the `fake` verdict) so that at most ``fpr`` (2%) of them score above it, and ``uncertain_threshold`` at
``uncertain_fpr`` (10%). A score above the first is `fake`, between the two `uncertain`, else `real`
(``verdict``). They travel in the model file's ``info.extra`` as {"temperature", "threshold",
"threshold_fpr", "uncertain_threshold", "uncertain_fpr"} (``Calibration.to_extra``). A model file written
before the uncertain band has one threshold: it loads with uncertain_threshold = threshold (no band), and
``Calibration.single_threshold`` says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from translate.eval.metrics import threshold_at_fpr

T_MIN = 0.05
T_MAX = 20.0
DEFAULT_FPR = 0.02  # the `fake` verdict: 1 real validation crop in 50 above it
DEFAULT_UNCERTAIN_FPR = 0.10  # the `uncertain` band starts here: 1 in 10
VERDICTS = ("fake", "uncertain", "real")


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


def verdict(score: float, threshold: float, uncertain_threshold: float | None = None) -> str:
    """ "fake" when ``score > threshold``, "uncertain" when above ``uncertain_threshold`` (None: no band),
    else "real"."""
    if score > threshold:
        return "fake"
    if uncertain_threshold is not None and score > uncertain_threshold:
        return "uncertain"
    return "real"


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    threshold: float = 0.5  # on calibrated probabilities; `fake` iff score > threshold
    threshold_fpr: float | None = None  # the false-positive rate it was chosen for, None if not fitted
    uncertain_threshold: float | None = None  # `uncertain` iff above it (and not fake); None = threshold
    uncertain_fpr: float | None = None

    @property
    def uncertain(self) -> float:
        """The lower edge of the uncertain band (the fake threshold itself when there is no band)."""
        return self.threshold if self.uncertain_threshold is None else min(self.uncertain_threshold, self.threshold)

    @property
    def single_threshold(self) -> bool:
        """True for a model file from before the uncertain band (one threshold, no `uncertain` verdicts)."""
        return self.uncertain_threshold is None

    def probabilities(self, logits) -> np.ndarray:
        return apply_temperature(logits, self.temperature)

    def verdict(self, score: float) -> str:
        return verdict(score, self.threshold, self.uncertain)

    def to_extra(self) -> dict:
        """What goes into ModelInfo.extra."""
        return {"temperature": self.temperature, "threshold": self.threshold, "threshold_fpr": self.threshold_fpr,
                "uncertain_threshold": self.uncertain, "uncertain_fpr": self.uncertain_fpr}

    @classmethod
    def from_extra(cls, extra: dict) -> "Calibration":
        """From ModelInfo.extra; an uncalibrated model gets T = 1 and threshold 0.5; one with a single
        threshold gets no uncertain band (``single_threshold``)."""
        band = extra.get("uncertain_threshold")
        return cls(float(extra.get("temperature", 1.0)), float(extra.get("threshold", 0.5)),
                   extra.get("threshold_fpr"), None if band is None else float(band), extra.get("uncertain_fpr"))


def calibrate(logits, labels, fpr: float = DEFAULT_FPR, uncertain_fpr: float = DEFAULT_UNCERTAIN_FPR,
              groups=None) -> Calibration:
    """Fit T on validation logits, then the fake threshold at ``fpr`` and the uncertain one at
    ``uncertain_fpr`` on the calibrated scores of the reals. ``groups`` (one label per sample, e.g. the
    condition: clean, degraded, h264): each threshold holds its rate within every group, not only over all
    of them, so one condition (re-encoded video) cannot carry most of the false positives."""
    z = np.asarray(logits, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if not (y == 0).any():
        raise ValueError("calibration needs real (label 0) validation samples to set the threshold")
    if uncertain_fpr < fpr:
        raise ValueError(f"the uncertain band's false-positive rate ({uncertain_fpr}) must be at least the fake one ({fpr})")
    t = fit_temperature(z, y)
    real = apply_temperature(z[y == 0], t)
    parts = [real] if groups is None else [real[g == k] for g in [np.asarray(groups).ravel()[y == 0]]
                                           for k in np.unique(g)]
    threshold = max(threshold_at_fpr(r, fpr) for r in parts if r.size)
    band = min(max(threshold_at_fpr(r, uncertain_fpr) for r in parts if r.size), threshold)
    return Calibration(temperature=t, threshold=threshold, threshold_fpr=fpr, uncertain_threshold=band,
                       uncertain_fpr=uncertain_fpr)
