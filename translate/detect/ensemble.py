"""Detector ensembles in one model file: members that read the same crops, their calibrated log-odds summed.

    z = sum_i  weight_i * z_i / T_i        (z_i: member i's raw logit, T_i: its own temperature)

z then gets a temperature and the two thresholds like any detector's logit (calibrate.py). Dividing by each
member's temperature first puts the members on one scale (calibrated log-odds), so a weight says how much
that member's evidence counts. The bundled `detector` pairs the fine-tuned EfficientNet-Lite0 (pixels: its
tuned high-frequency features catch the up-scalers and the face swap) with a linear probe on frozen CLIP
embeddings (UniversalFakeDetect's recipe: semantic features that carry over to generators it never saw);
docs/README-detector.md has the figures.

The file's nets are named in ``extra["members"]``, each with its own backbone facts and calibration, so a
member can score alone: when the CLIP backbone cannot be had, the Lite0 member scores with its own
thresholds instead of falling back to the small offline model.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from translate.weights.modelfile import ModelInfo, save_model

BACKBONE = "ensemble"
CALIBRATION_KEYS = ("temperature", "threshold", "threshold_fpr", "uncertain_threshold", "uncertain_fpr")
# what a member keeps of its own model file's header: enough to describe it and to score with it alone
MEMBER_KEYS = ("backbone", "backbone_weights", "backbone_sha256", "head", "fine_tuned", "tune_from", "bn",
               "preprocessing", *CALIBRATION_KEYS)


def member(extra: dict, net: str, weight: float) -> dict:
    """One member's entry: which net in the file, its weight, and its own header's facts and calibration."""
    entry = {k: extra[k] for k in MEMBER_KEYS if k in extra}
    entry.update({"net": net, "weight": float(weight)})
    if "validation" in extra:
        entry["validation_auc"] = extra["validation"]["auc"]
    return entry


def combine(member_logits: Sequence[np.ndarray], members: Sequence[dict]) -> np.ndarray:
    """The ensemble's raw logit from each member's raw logits (in ``members`` order)."""
    if len(member_logits) != len(members):
        raise ValueError(f"{len(member_logits)} logit arrays for {len(members)} members")
    return sum(m["weight"] * np.asarray(z, np.float64) / m["temperature"] for z, m in zip(member_logits, members))


def ensemble_extra(members: Sequence[dict], facts: dict, summary: str, cut: dict) -> dict:
    """The ensemble file's header: the members, how frames are cut (``cut``: tile, max_side, max_tiles, the
    same for every member), the data and the calibration of the combined logit (``facts``)."""
    names = " + ".join(m["backbone"] for m in members)
    return {"backbone": BACKBONE, "members": list(members), **cut,
            "preprocessing": f"{cut['tile']}px crops at native resolution, read by each member: {names}",
            "training_data": summary, **facts}


def save_ensemble(path: str | Path, nets: dict[str, torch.nn.Module], extra: dict, name: str) -> Path:
    """Every member's net (fp16) and the header; the nets' names are those ``extra["members"]`` gives."""
    missing = [m["net"] for m in extra["members"] if m["net"] not in nets]
    if missing:
        raise ValueError(f"no net for member(s) {', '.join(missing)}")
    info = ModelInfo(task="detect", method="detector", nets={}, directions={}, name=name, extra=extra)
    return save_model(path, {k: v.eval() for k, v in nets.items()}, info, half=True)
