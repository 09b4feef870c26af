"""Put a translated face crop back into its frame: mask, colour correction, inverse warp, composite.

Everything works on the aligned crop (masks are drawn from the landmarks mapped into crop space) and only the
frame region under the warped crop is touched, so the cost does not grow with the frame size.
"""
from __future__ import annotations

import cv2
import numpy as np

from translate.faces import align

MASKS = ("components", "extended")
COLOURS = ("mean", "reinhard", "hist", "none")


def face_mask(landmarks: np.ndarray, size: int, kind: str = "components", erode: float = 0.03,
              feather: float = 0.04) -> np.ndarray:
    """Float32 (size, size) mask in [0, 1] from crop-space landmarks (68, 2).

    `components`: convex hull of the 68 points. `extended`: the brows pushed up to cover the forehead (each
    brow point moved away from its eye by the brow-eye distance). `erode` and `feather` are fractions of the
    crop size (erode with an ellipse, then a gaussian blur of sigma = feather * size / 2).
    """
    if kind not in MASKS:
        raise ValueError(f"mask must be one of {MASKS}, got {kind!r}")
    pts = np.asarray(landmarks, np.float64).copy()
    if kind == "extended":
        eye_l, eye_r = pts[36:42].mean(0), pts[42:48].mean(0)
        pts[17:22] += pts[17:22] - eye_l
        pts[22:27] += pts[22:27] - eye_r
    mask = np.zeros((size, size), np.uint8)
    hull = cv2.convexHull(np.round(pts * 16).astype(np.int32))  # 4 fractional bits: sub-pixel hull
    cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_AA, shift=4)
    k = int(round(erode * size))
    if k > 0:
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    out = mask.astype(np.float32) / 255.0
    sigma = feather * size / 2.0
    if sigma > 0:
        out = np.clip(cv2.GaussianBlur(out, (0, 0), sigma), 0.0, 1.0)
    return out


def _masked_stats(img: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = weights.reshape(-1, 1).astype(np.float64)
    x = img.reshape(-1, img.shape[-1]).astype(np.float64)
    total = max(w.sum(), 1e-6)
    mean = (w * x).sum(0) / total
    std = np.sqrt((w * (x - mean) ** 2).sum(0) / total)
    return mean, std


def correct_colour(src: np.ndarray, ref: np.ndarray, mask: np.ndarray, method: str = "mean") -> np.ndarray:
    """Recolour `src` (uint8 RGB crop) so that inside `mask` its colours match `ref` (the original crop).

    mean: shift the mean colour (faceswap's default). reinhard: match mean and std per channel in Lab
    (Reinhard et al. 2001). hist: match each channel's histogram (weighted by the mask). none: unchanged.
    """
    if method not in COLOURS:
        raise ValueError(f"colour correction must be one of {COLOURS}, got {method!r}")
    if method == "none":
        return src
    weight = (mask > 0.5).astype(np.float32)
    if weight.sum() < 16:
        return src
    if method == "mean":
        ms, _ = _masked_stats(src, weight)
        mr, _ = _masked_stats(ref, weight)
        return np.clip(src.astype(np.float32) + (mr - ms).astype(np.float32), 0, 255).astype(np.uint8)
    if method == "reinhard":
        s = cv2.cvtColor(src.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
        r = cv2.cvtColor(ref.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
        ms, ss = _masked_stats(s, weight)
        mr, sr = _masked_stats(r, weight)
        out = (s - ms) * (sr / np.maximum(ss, 1e-6)) + mr
        out = cv2.cvtColor(out.astype(np.float32), cv2.COLOR_LAB2RGB)
        return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return _hist_match(src, ref, weight > 0)


def _hist_match(src: np.ndarray, ref: np.ndarray, inside: np.ndarray) -> np.ndarray:
    out = np.empty_like(src)
    levels = np.arange(256)
    for c in range(src.shape[-1]):
        hs = np.bincount(src[..., c][inside], minlength=256).astype(np.float64)
        hr = np.bincount(ref[..., c][inside], minlength=256).astype(np.float64)
        cs, cr = np.cumsum(hs) / hs.sum(), np.cumsum(hr) / hr.sum()
        lut = np.interp(cs, cr, levels)
        out[..., c] = np.clip(lut + 0.5, 0, 255).astype(np.uint8)[src[..., c]]
    return out


def _roi(matrix: np.ndarray, size: int, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Frame region (x0, y0, x1, y1) the crop lands on, clipped to the frame; None when off-frame."""
    corners = align.transform_points(np.array([[0, 0], [size, 0], [0, size], [size, size]], float),
                                     align.invert(matrix))
    h, w = shape
    x0, y0 = np.clip(np.floor(corners.min(0)).astype(int) - 1, 0, [w, h])
    x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int) + 2, 0, [w, h])
    if x1 <= x0 or y1 <= y0:
        return None
    return int(x0), int(y0), int(x1), int(y1)


def paste_face(frame: np.ndarray, crop: np.ndarray, matrix: np.ndarray, mask: np.ndarray,
               seamless: bool = False) -> np.ndarray:
    """Composite `crop` (aligned, uint8) into a copy of `frame` through the inverse of `matrix`, weighted by
    the crop-space `mask`. `seamless` uses Poisson blending (cv2.seamlessClone) instead of the alpha mask.
    """
    out = frame.copy()
    size = crop.shape[0]
    roi = _roi(matrix, size, frame.shape[:2])
    if roi is None:
        return out
    x0, y0, x1, y1 = roi
    m = np.asarray(matrix, np.float64).copy()
    m[:, 2] += m[:, :2] @ np.array([x0, y0], float)  # frame-ROI pixels -> crop pixels
    shape = (y1 - y0, x1 - x0)
    face = align.warp_back(crop, m, shape)
    alpha = align.warp_back(mask.astype(np.float32), m, shape)
    np.clip(alpha, 0.0, 1.0, out=alpha)
    region = out[y0:y1, x0:x1]
    if seamless:
        binary = (alpha > 0.5).astype(np.uint8) * 255
        ys, xs = np.nonzero(binary)
        if len(xs) < 16:
            return out
        center = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
        out[y0:y1, x0:x1] = cv2.seamlessClone(face, np.ascontiguousarray(region), binary, center, cv2.NORMAL_CLONE)
        return out
    a = alpha[..., None]
    out[y0:y1, x0:x1] = np.clip(face * a + region * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
    return out


def blend_face(frame: np.ndarray, original_crop: np.ndarray, translated: np.ndarray, matrix: np.ndarray,
               landmarks: np.ndarray, mask: str = "components", colour: str = "mean", erode: float = 0.03,
               feather: float = 0.04, seamless: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The whole paste-back for one face: (new frame, crop-space mask).

    `landmarks` are in frame pixels; `original_crop` is the aligned crop the translation started from (the
    colour reference); a translated crop of another size is resized to the crop size first.
    """
    size = original_crop.shape[0]
    if translated.shape[:2] != original_crop.shape[:2]:
        interp = cv2.INTER_AREA if translated.shape[0] > size else cv2.INTER_CUBIC
        translated = cv2.resize(translated, (size, size), interpolation=interp)
    crop_pts = align.transform_points(landmarks, matrix)
    m = face_mask(crop_pts, size, mask, erode, feather)
    recoloured = correct_colour(translated, original_crop, m, colour)
    return paste_face(frame, recoloured, matrix, m, seamless), m
