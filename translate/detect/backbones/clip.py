"""CLIP ViT-B/16 INT8 embeddings for the detector, with an on-disk cache so a probe trains in seconds.

The encoder is H4's ``translate.weights.onnx_models.ClipImageEncoder`` (onnxruntime, CLIP preprocessing:
short side to 224, centre crop). Embeddings are unit-norm 512-d vectors. ``EmbeddingCache`` keys each crop by
the sha256 of its pixels and shape, so the same degraded crop is never embedded twice across runs
(``--leave-out`` runs of scripts/train_default_detector.py share one cache).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from translate.weights.onnx_models import CLIP_DIM, CLIP_WEIGHTS

BACKBONE_WEIGHTS = CLIP_WEIGHTS


def crop_key(crop: np.ndarray) -> str:
    c = np.ascontiguousarray(crop)
    return hashlib.sha256(repr(c.shape).encode() + c.tobytes()).hexdigest()


class EmbeddingCache:
    """``embed(crops)`` -> (N, 512) through ``encoder`` (anything with ``embed(list) -> (N, D)``), reusing
    what ``path`` (an .npz, optional) already holds; ``save()`` writes it back atomically."""

    def __init__(self, encoder=None, path: str | Path | None = None):
        self._encoder = encoder
        self.path = Path(path) if path else None
        self.store: dict[str, np.ndarray] = {}
        if self.path is not None and self.path.is_file():
            with np.load(self.path) as z:
                self.store = dict(zip(z["keys"].tolist(), z["embeds"]))

    @property
    def encoder(self):
        if self._encoder is None:
            from translate.weights.onnx_models import ClipImageEncoder

            self._encoder = ClipImageEncoder(threads=max(1, (os.cpu_count() or 2) // 2))
        return self._encoder

    def embed(self, crops) -> np.ndarray:
        keys = [crop_key(c) for c in crops]
        missing = [i for i, k in enumerate(keys) if k not in self.store]
        if missing:
            new = self.encoder.embed([np.ascontiguousarray(crops[i]) for i in missing])
            for i, e in zip(missing, new):
                self.store[keys[i]] = np.asarray(e, np.float32)
        if not keys:
            return np.zeros((0, CLIP_DIM), np.float32)
        return np.stack([self.store[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        if self.path is None or not self.store:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.stem}.partial-{os.getpid()}.npz")
        keys = sorted(self.store)
        np.savez(tmp, keys=np.array(keys), embeds=np.stack([self.store[k] for k in keys]))
        os.replace(tmp, self.path)
