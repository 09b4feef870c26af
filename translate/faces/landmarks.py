"""Face boxes and 68 iBUG landmarks per face, behind one interface with two backends (dlib, fan).

`make_detector("auto"|"dlib"|"fan")` returns a `LandmarkDetector`; `.name` says which backend runs.
`detect(rgb)` finds faces; `refine(rgb, boxes)` puts landmarks in known boxes (used by the tracker so a
confidently tracked face is not re-detected on every frame).

Both backends detect on a resized copy of the frame (small enough for speed, large enough for the minimum
face size) and map boxes back; landmarks always run at full resolution.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from translate.errors import UserError

FAN_FILES = ("2DFAN4-11f355bf06.pth.tar", "s3fd-619a316812.pth")
FAN_URL = "https://www.adrianbulat.com/downloads/python-fan/"
DLIB_PREDICTOR = "shape_predictor_68_face_landmarks.dat"
BACKENDS = ("auto", "dlib", "fan")


@dataclass
class Face:
    """One face in frame pixels: box (x0, y0, x1, y1), landmarks (68, 2) float32 in iBUG order, score."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float


class LandmarkDetector:
    """Interface: `detect(rgb uint8 HxWx3) -> list[Face]`, `refine(rgb, boxes) -> list[Face]`."""

    name = "base"

    def detect(self, rgb: np.ndarray) -> list[Face]:
        raise NotImplementedError

    def refine(self, rgb: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[Face]:
        raise NotImplementedError


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
        raise ValueError(f"expected an RGB uint8 HxWx3 array, got {getattr(rgb, 'shape', type(rgb))}")
    return np.ascontiguousarray(rgb)


def detection_scale(height: int, width: int, min_face: int, detector_face: int, max_side: int) -> float:
    """Scale for the detection copy: the smallest wanted face becomes `detector_face` px, capped at max_side."""
    if min_face <= 0:  # auto: faces down to a tenth of the short side (at least 32 px)
        min_face = max(32, min(height, width) // 10)
    scale = detector_face / float(min_face)
    return min(scale, max_side / float(max(height, width)))


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-3:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


# ---------------------------------------------------------------------------------------------- dlib


def dlib_predictor_path() -> Path:
    """The 68-point predictor shipped by face-recognition-models (found without importing the package)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the dlib landmark backend needs the 'face-recognition-models' package: "
                        "pip install 'translate[faces]'")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / DLIB_PREDICTOR
    if not path.is_file():
        raise UserError(f"{path} is missing: reinstall face-recognition-models")
    return path


class DlibDetector(LandmarkDetector):
    """dlib HOG face detector + the 68-point shape predictor (works offline, CPU)."""

    name = "dlib"

    def __init__(self, min_face: int = 0, max_side: int = 1280, threshold: float = 0.3):
        # threshold: HOG score to keep a box. dlib's own 0 keeps textured non-faces (0.03-0.11 on the
        # astronaut photo's suit); real frontal faces score about 0.5-2.5.
        try:
            import dlib
        except ImportError as e:
            raise UserError("the dlib landmark backend needs dlib: pip install dlib-bin") from e
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(dlib_predictor_path()))
        self.min_face, self.max_side, self.threshold = min_face, max_side, threshold

    def detect(self, rgb: np.ndarray) -> list[Face]:
        rgb = _check_rgb(rgb)
        h, w = rgb.shape[:2]
        # HOG's window is 80 px: scale so the smallest wanted face is ~80 px (down for big frames, up for small).
        scale = detection_scale(h, w, self.min_face, 80, self.max_side)
        small = _resize(rgb, scale)
        rects, scores, _ = self._detector.run(small, 0, self.threshold)
        boxes = [(r.left() / scale, r.top() / scale, (r.right() + 1) / scale, (r.bottom() + 1) / scale)
                 for r in rects]
        return self._landmarks(rgb, boxes, list(scores))

    def refine(self, rgb: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[Face]:
        return self._landmarks(_check_rgb(rgb), boxes, [1.0] * len(boxes))

    def _landmarks(self, rgb: np.ndarray, boxes, scores) -> list[Face]:
        faces = []
        for box, score in zip(boxes, scores):
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            shape = self._predictor(rgb, self._dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
            pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
            faces.append(Face(tuple(float(v) for v in box), pts, float(score)))
        return faces


# ----------------------------------------------------------------------------------------------- fan


def weight_dirs() -> list[Path]:
    """Where model files are looked up, in order: $TRANSLATE_WEIGHTS, translate/weights/, torch hub cache."""
    dirs = []
    if os.environ.get("TRANSLATE_WEIGHTS"):
        dirs.append(Path(os.environ["TRANSLATE_WEIGHTS"]))
    dirs.append(Path(__file__).resolve().parent.parent / "weights")
    try:
        import torch.hub

        dirs.append(Path(torch.hub.get_dir()) / "checkpoints")
    except ImportError:
        pass
    return dirs


def find_fan_weights() -> dict[str, Path] | None:
    """Paths of both FAN files (landmarks, detector) if every one is present somewhere, else None."""
    found = {}
    for name in FAN_FILES:
        for d in weight_dirs():
            if (d / name).is_file():
                found[name] = d / name
                break
    return found if len(found) == len(FAN_FILES) else None


def fan_missing_message() -> str:
    dirs = weight_dirs()
    where = str(dirs[0]) if os.environ.get("TRANSLATE_WEIGHTS") else str(dirs[-1])
    files = ", ".join(f"{n} ({FAN_URL}{n})" for n in FAN_FILES)
    return (f"the fan landmark backend needs {files}: download them into {where} "
            f"(or $TRANSLATE_WEIGHTS), or use --landmarks dlib")


class FanDetector(LandmarkDetector):
    """face-alignment's S3FD detector + 2D-FAN-4 landmarks, loaded from local files only (never downloads)."""

    name = "fan"

    def __init__(self, device: str = "auto", min_face: int = 0, max_side: int = 640,
                 compile: bool | None = None, flip_input: bool = False):
        paths = find_fan_weights()
        if paths is None:
            raise UserError(fan_missing_message())
        try:
            import face_alignment
            import torch
        except ImportError as e:
            raise UserError("the fan landmark backend needs face-alignment: pip install face-alignment") from e
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if compile is None:
            compile = device.startswith("cuda")
        fan_path = paths[FAN_FILES[0]]

        class _LocalFaceAlignment(face_alignment.FaceAlignment):
            def _load_native(self, network_name, network_size, device, dtype):  # no download, weights only
                net = face_alignment.models.FAN(network_size)
                net.load_state_dict(torch.load(fan_path, map_location=device, weights_only=True))
                return net.to(device, dtype=dtype).eval()

        self._fa = _LocalFaceAlignment(
            face_alignment.LandmarksType.TWO_D, device=device, face_detector="sfd", flip_input=flip_input,
            compile=compile, face_detector_kwargs={"path_to_detector": str(paths[FAN_FILES[1]])})
        self.device, self.min_face, self.max_side = device, min_face, max_side

    def detect(self, rgb: np.ndarray) -> list[Face]:
        rgb = _check_rgb(rgb)
        h, w = rgb.shape[:2]
        scale = detection_scale(h, w, self.min_face, 32, self.max_side)  # S3FD finds faces down to ~16-32 px
        small = _resize(rgb, scale)
        dets = self._fa.face_detector.detect_from_image(small.copy())  # RGB in (S3FD flips to BGR itself)
        boxes = [tuple(float(v) / scale for v in d[:4]) for d in dets]
        return self._landmarks(rgb, boxes, [float(d[4]) for d in dets])

    def refine(self, rgb: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[Face]:
        return self._landmarks(_check_rgb(rgb), boxes, [1.0] * len(boxes))

    def _landmarks(self, rgb: np.ndarray, boxes, scores) -> list[Face]:
        if not boxes:
            return []
        pts = self._fa.get_landmarks_from_image(rgb, detected_faces=[np.array(b) for b in boxes])
        return [Face(tuple(b), np.asarray(p, np.float32)[:, :2], s) for b, p, s in zip(boxes, pts, scores)]


def make_detector(backend: str = "auto", device: str = "auto", min_face: int = 0) -> LandmarkDetector:
    """Build a backend: `fan`, `dlib`, or `auto` (fan when its weights are at hand, else dlib)."""
    if backend not in BACKENDS:
        raise UserError(f"unknown landmark backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if backend == "fan" or (backend == "auto" and find_fan_weights() is not None):
        return FanDetector(device=device, min_face=min_face)
    return DlibDetector(min_face=min_face)
