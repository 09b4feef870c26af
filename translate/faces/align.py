"""Similarity alignment of a face to a canonical template, the aligned crop, and the inverse warp.

The transform is Umeyama's least-squares similarity (rotation, uniform scale, translation) from the 51 inner
landmarks (iBUG 17-67: brows, nose, eyes, mouth; the jaw line is left out because it slides with pose) to a
mean face in [0, 1]. Centering (faceswap's names) sets how much of the crop the unit mean face fills:
legacy 1 - 0.375, face 1 - 0.5, head 1 - 0.625; face and head also move the crop centre up (forehead, hair).
"""
from __future__ import annotations

import cv2
import numpy as np

# Mean face, landmarks 17-67, in [0, 1]. Provenance: the 51-point dlib mean shape used by the original
# deepfakes/faceswap `umeyama` aligner and by DeepFaceLab (facelib/LandmarksProcessor.py, mean_face_x/y).
MEAN_FACE_X = np.array([
    0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
    0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
    0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
    0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
    0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
    0.553364, 0.490127, 0.42689])
MEAN_FACE_Y = np.array([
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
    0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
    0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
    0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
    0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
    0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
    0.784792, 0.824182, 0.831803, 0.824182])
MEAN_FACE = np.stack([MEAN_FACE_X, MEAN_FACE_Y], axis=1).astype(np.float64)  # (51, 2)
INNER = slice(17, 68)

# Fraction of the crop that is padding around the unit mean face (faceswap's _EXTRACT_RATIOS).
CENTERING_RATIO = {"legacy": 0.375, "face": 0.5, "head": 0.625}
# Upward shift of the crop centre in mean-face units (ours: approximates faceswap's pose-based re-centering,
# so "face" keeps the forehead and "head" the top of the head in view).
CENTERING_SHIFT = {"legacy": 0.0, "face": 0.1, "head": 0.2}
CENTERINGS = tuple(CENTERING_RATIO)


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (with scale) mapping src (N,2) onto dst (N,2): a 2x3 matrix (Umeyama 1991)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    from skimage.transform import SimilarityTransform  # here, not at import: scipy costs every CLI call ~0.6 s

    fit = SimilarityTransform.from_estimate(src, dst)
    if not fit:  # all points in one place: nothing to rotate or scale, only the shift is known
        return np.hstack([np.eye(2), (dst.mean(0) - src.mean(0))[:, None]])
    return fit.params[:2].copy()


def template(size: int, centering: str = "face") -> np.ndarray:
    """The 51 mean-face points in crop pixels for this crop size and centering."""
    if centering not in CENTERING_RATIO:
        raise ValueError(f"centering must be one of {CENTERINGS}, got {centering!r}")
    inner = size * (1.0 - CENTERING_RATIO[centering])  # pixels spanned by the unit mean face
    pad = (size - inner) / 2.0
    pts = MEAN_FACE * inner + pad
    pts[:, 1] += CENTERING_SHIFT[centering] * inner
    return pts


def align_matrix(landmarks: np.ndarray, size: int, centering: str = "face") -> np.ndarray:
    """2x3 matrix taking frame pixels to crop pixels (landmarks: (68,2) in the frame)."""
    return umeyama(np.asarray(landmarks, np.float64)[INNER], template(size, centering))


def invert(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix (crop pixels back to frame pixels)."""
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, np.float64)
    m = np.asarray(matrix, np.float64)
    return pts @ m[:, :2].T + m[:, 2]


def matrix_scale(matrix: np.ndarray) -> float:
    """Uniform scale of a similarity matrix (crop px per frame px)."""
    return float(np.sqrt(abs(np.linalg.det(np.asarray(matrix, np.float64)[:, :2]))))


def align_face(frame: np.ndarray, landmarks: np.ndarray, size: int = 256,
               centering: str = "face") -> tuple[np.ndarray, np.ndarray]:
    """Aligned square crop of the face and the frame->crop 2x3 matrix.

    Enlarging uses cubic interpolation; shrinking first area-resizes the needed region of the frame (warpAffine
    itself cannot area-average), then warps it linearly.
    """
    matrix = align_matrix(landmarks, size, centering)
    return warp_to_crop(frame, matrix, size), matrix


def warp_to_crop(frame: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    scale = matrix_scale(matrix)
    if scale >= 1.0:
        return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    # Region of the frame the crop sees, area-resized to the crop's scale.
    corners = transform_points(np.array([[0, 0], [size, 0], [0, size], [size, size]], float), invert(matrix))
    h, w = frame.shape[:2]
    x0, y0 = np.clip(np.floor(corners.min(0)).astype(int) - 2, 0, [w, h])
    x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int) + 2, 0, [w, h])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    region = frame[y0:y1, x0:x1]
    rw, rh = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
    small = cv2.resize(region, (rw, rh), interpolation=cv2.INTER_AREA)
    sx, sy = rw / (x1 - x0), rh / (y1 - y0)
    # crop = M @ frame = M @ (diag(1/s) small + offset): fold the region offset and resize into the matrix.
    to_frame = np.array([[1 / sx, 0, x0], [0, 1 / sy, y0], [0, 0, 1]])
    m = np.vstack([matrix, [0, 0, 1]]) @ to_frame
    return cv2.warpAffine(small, m[:2], (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def warp_back(crop: np.ndarray, matrix: np.ndarray, frame_size: tuple[int, int],
              dst: np.ndarray | None = None) -> np.ndarray:
    """Warp a crop (or crop-space mask) back into frame pixels; frame_size is (height, width).

    With `dst`, pixels outside the crop keep dst's values (BORDER_TRANSPARENT); otherwise they are 0.
    """
    h, w = frame_size
    flags = (cv2.INTER_CUBIC if matrix_scale(matrix) <= 1.0 else cv2.INTER_AREA) | cv2.WARP_INVERSE_MAP
    if dst is not None:
        out = dst.copy()
        cv2.warpAffine(crop, np.asarray(matrix, np.float64), (w, h), out, flags=flags,
                       borderMode=cv2.BORDER_TRANSPARENT)
        return out
    return cv2.warpAffine(crop, np.asarray(matrix, np.float64), (w, h), flags=flags,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def alignment_error(landmarks: np.ndarray, matrix: np.ndarray, size: int, centering: str = "face") -> float:
    """Mean distance of the aligned inner landmarks to the template, as a fraction of the crop's face span.

    faceswap rejects faces far from the mean face (bad landmarks, profile views); about 0.1 is a usual limit.
    """
    aligned = transform_points(np.asarray(landmarks)[INNER], matrix)
    inner = size * (1.0 - CENTERING_RATIO[centering])
    return float(np.linalg.norm(aligned - template(size, centering), axis=1).mean() / inner)


def eyes_above_mouth(landmarks: np.ndarray, matrix: np.ndarray) -> bool:
    """In the aligned crop, both eyes (36-47) lie above the mouth (48-67): rejects upside-down fits."""
    aligned = transform_points(np.asarray(landmarks), matrix)
    return bool(aligned[36:48, 1].max() < aligned[48:68, 1].min())


def check_alignment(landmarks: np.ndarray, matrix: np.ndarray, size: int, centering: str = "face",
                    max_error: float = 0.1) -> tuple[bool, float]:
    """(passes, error): error under max_error and eyes above the mouth."""
    err = alignment_error(landmarks, matrix, size, centering)
    return (err <= max_error and eyes_above_mouth(landmarks, matrix)), err
