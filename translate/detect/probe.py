"""`translate train detector --backbone clip`: a linear (or one-hidden-layer) probe on frozen CLIP embeddings.

UniversalFakeDetect's recipe (Ojha et al., CVPR 2023): the backbone never trains, so each crop is embedded
once (EmbeddingCache, on disk in the run folder) and the head trains full-batch in seconds. Data as for the
srm net: split by source photo (methods.detector.split_items), ``views`` degraded crops per image with the
same degradations for both classes; validation crops get one fixed degradation each. Calibration is the
shared one (temperature, fake threshold at ``fpr``, uncertain at ``uncertain_fpr``; validation_facts).
The model file holds the head ("embedding-probe") and names its backbone, so `translate detect` embeds first.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from translate.data.images import load_rgb
from translate.detect.backbones.clip import BACKBONE_WEIGHTS, EmbeddingCache
from translate.detect.calibrate import DEFAULT_FPR, DEFAULT_UNCERTAIN_FPR
from translate.detect.data import DetectorDataset
from translate.methods.detector import TRAIN_DEGRADATIONS, split_items, validation_facts
from translate.weights.modelfile import ModelInfo, save_model


@dataclass
class ProbeConfig:
    crop: int = 224  # CLIP's own input size: crops are not resized before the encoder's centre crop
    views: int = 2  # degraded crops per training image
    hidden: int = 0  # 0: linear probe
    steps: int = 300
    lr: float = 1e-2
    weight_decay: float = 1e-3
    val_split: float = 0.2
    fpr: float = DEFAULT_FPR
    uncertain_fpr: float = DEFAULT_UNCERTAIN_FPR
    seed: int = 0
    preprocess: str = "crop"


def degraded_crops(items: list, crop: int, views: int, seed: int, train: bool) -> tuple[list, np.ndarray]:
    """uint8 crops and labels: ``views`` differently degraded crops of every item (one for validation)."""
    ds = DetectorDataset(items, crop, TRAIN_DEGRADATIONS, train=train, seed=seed)
    crops, labels = [], []
    for view in range(views if train else 1):
        ds.set_epoch(view)
        for i, (source, label) in enumerate(items):
            image = load_rgb(source) if isinstance(source, (str, Path)) else np.asarray(source, np.uint8)
            crops.append(ds.degrade(image, i))
            labels.append(label)
    return crops, np.asarray(labels, np.int64)


def fit_head(e: np.ndarray, y: np.ndarray, cfg: ProbeConfig) -> torch.nn.Module:
    """Full-batch AdamW on BCE with the classes weighted equally."""
    from translate.nets import build_discriminator

    torch.manual_seed(cfg.seed)
    head = build_discriminator("embedding-probe", in_dim=int(e.shape[1]), hidden=cfg.hidden)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    x, t = torch.from_numpy(e), torch.from_numpy(y.astype(np.float32))
    pos = max(float(t.mean()), 1e-6)
    weight = torch.where(t > 0, 0.5 / pos, 0.5 / max(1.0 - pos, 1e-6))
    head.train()
    for _ in range(cfg.steps):
        loss = F.binary_cross_entropy_with_logits(head(x), t, weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return head.eval()


def probe_extra(cfg: ProbeConfig, summary: str, facts: dict) -> dict:
    """What the model file says about a probe: backbone, head, preprocessing, data and calibration
    (``facts`` from validation_facts; without them T = 1 and threshold 0.5, uncalibrated)."""
    extra = {"temperature": 1.0, "threshold": 0.5, "threshold_fpr": None, "backbone": "clip",
             "backbone_weights": BACKBONE_WEIGHTS, "head": "linear" if not cfg.hidden else f"mlp-{cfg.hidden}",
             "preprocessing": f"{cfg.crop}px crops at native resolution, then CLIP's short side 224 and centre crop",
             "training_data": summary, "train_views": cfg.views}
    extra.update(facts)
    return extra


def train_probe(real: str, fake: str, out_dir: str | Path, cfg: ProbeConfig, encoder=None,
                name: str | None = None) -> Path:
    """Train, calibrate and save ``out_dir/model.safetensors``; embeddings cached in ``out_dir/embeddings.npz``."""
    out_dir = Path(out_dir)
    train, val, summary = split_items(real, fake, cfg.val_split, cfg.seed, cfg.preprocess)
    cache = EmbeddingCache(encoder, out_dir / "embeddings.npz")
    crops, y = degraded_crops(train, cfg.crop, cfg.views, cfg.seed, train=True)
    e = cache.embed(crops)
    head = fit_head(e, y, cfg)
    facts = {}
    if val:
        vcrops, vy = degraded_crops(val, cfg.crop, 1, cfg.seed + 7919, train=False)
        with torch.no_grad():
            logits = head(torch.from_numpy(cache.embed(vcrops))).numpy().astype(np.float64)
        facts = validation_facts(logits, vy, cfg.fpr, cfg.uncertain_fpr)
    extra = probe_extra(cfg, summary, facts)
    cache.save()
    info = ModelInfo(task="detect", method="detector", nets={}, directions={}, name=name or out_dir.name, extra=extra)
    out_dir.mkdir(parents=True, exist_ok=True)
    return save_model(out_dir / "model.safetensors", {"detector": head}, info)
