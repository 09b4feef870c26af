"""One score per video from per-frame scores: the DFDC winner's confident-frames rule, scaled to any n.

The rule (Seferbekov's winning DFDC solution, 32 frames per video):
  1. if more than n/2.5 frames, and more than 11, score above 0.8: the mean of those frames;
  2. else if more than 90% of the frames score below 0.2: the mean of those frames;
  3. else the mean of all frames.
Confident frames decide when there are enough of them, so a face swap that is obvious in part of a clip is
not averaged away by frames where it is not, and a clean clip is not pulled up by a few noisy frames.

Scaling: the absolute "more than 11" was written for n = 32 sampled frames. With fewer frames (short clips,
``--every N``) it can never fire (a 10-frame clip could never be called confidently fake) and with many it
is meaningless. We keep its proportion: more than max(1, round(11 * n / 32)) frames. Since 11/32 < 1/2.5,
the n/2.5 condition is the binding one for every n >= 3, exactly as it is at n = 32 (more than 12.8, i.e.
13 frames); the scaled count only matters for n <= 2, where it asks for two confident frames (one frame
alone never takes rule 1; n = 1 reduces to that frame's score whichever rule applies). The 0.8 / 0.2 levels are on
calibrated probabilities (see calibrate.py), which is what makes fixed levels meaningful across models.

Scores are probabilities in [0, 1] that a frame is generated; several regions per frame (faces, tiles) are
combined into the frame's score first (crops.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DFDC_FRAMES = 32
DFDC_MIN_CONFIDENT = 11
HIGH = 0.8
LOW = 0.2


@dataclass(frozen=True)
class VideoScore:
    """The aggregated score and how it was reached."""

    score: float
    rule: str  # "confident_fake" | "confident_real" | "mean"
    n_frames: int
    n_used: int  # frames averaged into ``score``
    n_high: int  # frames above ``high``
    n_low: int  # frames below ``low``


def min_confident_frames(n: int) -> int:
    """The scaled "more than 11" count for n frames: max(1, round(11 * n / 32))."""
    return max(1, int(round(DFDC_MIN_CONFIDENT * n / DFDC_FRAMES)))


def aggregate_scores(scores, high: float = HIGH, low: float = LOW) -> VideoScore:
    """Confident-frames aggregation of per-frame probabilities (see module docstring)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    n = s.size
    if n == 0:
        raise ValueError("no frame scores to aggregate")
    if np.isnan(s).any():
        raise ValueError("frame scores contain NaN")
    is_high, is_low = s > high, s < low
    n_high, n_low = int(is_high.sum()), int(is_low.sum())
    if n_high > n / 2.5 and n_high > min_confident_frames(n):
        return VideoScore(float(s[is_high].mean()), "confident_fake", n, n_high, n_high, n_low)
    if n_low > 0.9 * n:
        return VideoScore(float(s[is_low].mean()), "confident_real", n, n_low, n_high, n_low)
    return VideoScore(float(s.mean()), "mean", n, n, n_high, n_low)


def frames_flagged(scores, threshold: float) -> int:
    """How many frames score above the verdict threshold (``score > threshold``, as everywhere)."""
    return int(np.count_nonzero(np.asarray(scores, dtype=np.float64) > threshold))
