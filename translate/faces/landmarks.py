"""Face boxes and 68 iBUG landmarks per face, behind one interface: a box detector and a landmark model.

`make_detector(landmarks="auto"|"dlib"|"fan", detector="auto"|"retinaface"|"dlib"|"sfd")` returns a
`LandmarkDetector`; `.name` says what runs ("dlib", "fan", or "retinaface+dlib" when the boxes come from another
detector than the landmark model's own). `detect(rgb)` finds faces; `refine(rgb, boxes)` puts landmarks in known
boxes (used by the tracker so a confidently tracked face is not re-detected on every frame).

Box detectors: dlib's HOG (offline, misses profile and small faces), face-alignment's S3FD (needs its file) and
RetinaFace mobilenet0.25 (ONNX, fetched from a PyPI wheel; translate/faces/retinaface.py). `detector="auto"` takes
RetinaFace when its file is fetched, else the landmark model's own detector. Each landmark model was trained on its
own detector's boxes, so boxes from another detector are first mapped to that convention (BOX_MAPS).

Detection runs on a resized copy of the frame (small enough for speed, large enough for the minimum face size)
and boxes are mapped back; landmarks always run at full resolution.
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
BACKENDS = ("auto", "dlib", "fan")  # landmark models
DETECTORS = ("auto", "retinaface", "dlib", "sfd")  # face box detectors
NATIVE_DETECTOR = {"dlib": "dlib", "fan": "sfd"}
# Boxes of another detector in a landmark model's native convention. The dlib predictor wants HOG-style boxes
# (brows to chin); RetinaFace's reach the forehead. Two maps, fitted on the faces both detectors find in
# ../shared/data/faces/300w_* (scripts/bench/faces.py --real measures the result):
# - from RetinaFace's 5 points: the HOG box corners in a face frame (origin between the eyes, x along the eyes, unit
#   = eyes-to-mouth distance); medians of 65 faces. The predictor is then averaged over 5 jittered boxes (scale
#   0.95/1/1.05, shift +-3%): mean NME 0.0277 on the 46 faces both find, dlib on its own boxes 0.0285, the bare
#   box map 0.0421;
# - from a box alone (S3FD, of RetinaFace's kind; not measured here, its file is not fetchable offline): fractions
#   of the box (x0, y0, x1, y1). FAN takes S3FD-style boxes (centre and scale), so those pass as they are.
HOG_CORNERS_IN_FACE_FRAME = (-1.1773, -0.695, 1.175, 1.5998)
HOG_BOX_FROM_BOX = (-0.059, 0.133, 1.042, 0.957)
BOX_JITTER = ((1.0, 0.0), (0.95, 0.0), (1.05, 0.0), (1.0, 0.03), (1.0, -0.03))  # (scale, shift in box heights)


Box = tuple[float, float, float, float]


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

    def boxes(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        rgb = _check_rgb(rgb)
        h, w = rgb.shape[:2]
        # HOG's window is 80 px: scale so the smallest wanted face is ~80 px (down for big frames, up for small).
        scale = detection_scale(h, w, self.min_face, 80, self.max_side)
        small = _resize(rgb, scale)
        rects, scores, _ = self._detector.run(small, 0, self.threshold)
        return [((r.left() / scale, r.top() / scale, (r.right() + 1) / scale, (r.bottom() + 1) / scale), float(s))
                for r, s in zip(rects, scores)]

    def detect(self, rgb: np.ndarray) -> list[Face]:
        found = self.boxes(rgb)
        return self._landmarks(_check_rgb(rgb), [b for b, _ in found], [s for _, s in found])

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

    def boxes(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        return sfd_boxes(self._fa.face_detector, _check_rgb(rgb), self.min_face, self.max_side)

    def detect(self, rgb: np.ndarray) -> list[Face]:
        found = self.boxes(rgb)
        return self._landmarks(_check_rgb(rgb), [b for b, _ in found], [s for _, s in found])

    def refine(self, rgb: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[Face]:
        return self._landmarks(_check_rgb(rgb), boxes, [1.0] * len(boxes))

    def _landmarks(self, rgb: np.ndarray, boxes, scores) -> list[Face]:
        if not boxes:
            return []
        pts = self._fa.get_landmarks_from_image(rgb, detected_faces=[np.array(b) for b in boxes])
        return [Face(tuple(b), np.asarray(p, np.float32)[:, :2], s) for b, p, s in zip(boxes, pts, scores)]


def sfd_boxes(detector, rgb: np.ndarray, min_face: int, max_side: int) -> list[tuple[Box, float]]:
    h, w = rgb.shape[:2]
    scale = detection_scale(h, w, min_face, 32, max_side)  # S3FD finds faces down to ~16-32 px
    dets = detector.detect_from_image(_resize(rgb, scale).copy())  # RGB in (S3FD flips to BGR itself)
    return [(tuple(float(v) / scale for v in d[:4]), float(d[4])) for d in dets]


class SfdBoxes:
    """face-alignment's S3FD alone (for its boxes with the dlib landmark model); local file only."""

    name = "sfd"

    def __init__(self, device: str = "auto", min_face: int = 0, max_side: int = 640):
        path = next((d / FAN_FILES[1] for d in weight_dirs() if (d / FAN_FILES[1]).is_file()), None)
        if path is None:
            raise UserError(f"the sfd detector needs {FAN_FILES[1]} ({FAN_URL}{FAN_FILES[1]}): download it into "
                            f"{weight_dirs()[-1]} (or $TRANSLATE_WEIGHTS), or use --detector retinaface|dlib")
        import torch
        from face_alignment.detection.sfd.sfd_detector import SFDDetector

        device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        self._sfd = SFDDetector(device, path_to_detector=str(path))
        self.min_face, self.max_side = min_face, max_side

    def boxes(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        return sfd_boxes(self._sfd, _check_rgb(rgb), self.min_face, self.max_side)


class RetinaFaceBoxes:
    name = "retinaface"

    def __init__(self, min_face: int = 0, max_side: int = 960):
        from translate.faces.retinaface import RetinaFace

        # RetinaFace's smallest anchors are 16 px: detect on a copy where the smallest wanted face is >= 20 px.
        self._net = RetinaFace(max_side=max_side)
        self.min_face = min_face

    def boxes(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        return [(box, score) for box, score, _ in self.boxes_and_points(rgb)]

    def boxes_and_points(self, rgb: np.ndarray) -> list[tuple[Box, float, np.ndarray]]:
        """Boxes, scores and the 5 points (eyes, nose, mouth corners) in frame pixels."""
        rgb = _check_rgb(rgb)
        if self.min_face and self.min_face < 20:
            up = 20.0 / self.min_face
            return [(tuple(v / up for v in box), score, pts / up)
                    for box, score, pts in self._net.detect(_resize(rgb, up))]
        return self._net.detect(rgb)


def hog_box_from_points(points: np.ndarray) -> Box:
    """A dlib-HOG-style box from RetinaFace's 5 points (see HOG_CORNERS_IN_FACE_FRAME)."""
    eyes = (points[0] + points[1]) / 2
    ex = (points[1] - points[0]) / max(float(np.linalg.norm(points[1] - points[0])), 1e-6)
    ey = np.array([-ex[1], ex[0]])
    unit = float(np.linalg.norm((points[3] + points[4]) / 2 - eyes))
    x0, y0, x1, y1 = HOG_CORNERS_IN_FACE_FRAME
    corners = np.array([eyes + unit * (u * ex + v * ey) for u, v in ((x0, y0), (x1, y1), (x0, y1), (x1, y0))])
    return (*corners.min(0), *corners.max(0))


def jittered(box: Box, scale: float, shift: float) -> Box:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2 + shift * (box[3] - box[1])
    w, h = (box[2] - box[0]) * scale / 2, (box[3] - box[1]) * scale / 2
    return (cx - w, cy - h, cx + w, cy + h)


class BoxesThenLandmarks(LandmarkDetector):
    """Boxes from one detector, mapped to the landmark model's own box convention, then its 68 landmarks."""

    def __init__(self, boxes, landmarks: LandmarkDetector):
        self._boxes, self._landmarks = boxes, landmarks
        self.name = f"{boxes.name}+{landmarks.name}"

    def _to_hog(self, box: Box) -> Box:
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        a, b, c, d = HOG_BOX_FROM_BOX
        return (x0 + a * w, y0 + b * h, x0 + c * w, y0 + d * h)

    def detect(self, rgb: np.ndarray) -> list[Face]:
        if self._landmarks.name != "dlib":
            found = self._boxes.boxes(rgb)
            faces = self._landmarks.refine(rgb, [b for b, _ in found])
            return [Face(f.box, f.landmarks, s) for f, (_, s) in zip(faces, found)]
        if hasattr(self._boxes, "boxes_and_points"):
            found = [(hog_box_from_points(p), s) for _, s, p in self._boxes.boxes_and_points(rgb)]
        else:
            found = [(self._to_hog(b), s) for b, s in self._boxes.boxes(rgb)]
        return [Face(box, self._jittered_fit(rgb, box), score) for box, score in found]

    def _jittered_fit(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        """The dlib predictor averaged over jittered boxes: closer to the truth and steadier than one box."""
        fits = self._landmarks.refine(rgb, [jittered(box, k, d) for k, d in BOX_JITTER])
        return np.mean([f.landmarks for f in fits], axis=0).astype(np.float32)

    def refine(self, rgb: np.ndarray, boxes: list[Box]) -> list[Face]:
        if self._landmarks.name != "dlib":
            return self._landmarks.refine(rgb, boxes)
        return [Face(tuple(float(v) for v in box), self._jittered_fit(rgb, box), 1.0) for box in boxes]


def retinaface_available() -> bool:
    from translate.faces.retinaface import model_file

    try:
        return model_file() is not None
    except UserError:
        return False


def make_detector(backend: str = "auto", device: str = "auto", min_face: int = 0,
                  detector: str = "auto") -> LandmarkDetector:
    """Landmarks `backend` (fan, dlib, or auto: fan when its weights are at hand, else dlib) on the boxes of
    `detector` (retinaface, dlib HOG, sfd, or auto: retinaface when fetched, else the landmark model's own)."""
    if backend not in BACKENDS:
        raise UserError(f"unknown landmark backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if detector not in DETECTORS:
        raise UserError(f"unknown face detector {detector!r}: use one of {', '.join(DETECTORS)}")
    if backend == "fan" or (backend == "auto" and find_fan_weights() is not None):
        landmarks = FanDetector(device=device, min_face=min_face)
    else:
        landmarks = DlibDetector(min_face=min_face)
    if detector == "auto":
        detector = "retinaface" if retinaface_available() else NATIVE_DETECTOR[landmarks.name]
    if detector == NATIVE_DETECTOR[landmarks.name]:
        return landmarks
    if detector == "retinaface":
        return BoxesThenLandmarks(RetinaFaceBoxes(min_face=min_face), landmarks)
    if detector == "dlib":
        return BoxesThenLandmarks(DlibDetector(min_face=min_face), landmarks)
    return BoxesThenLandmarks(SfdBoxes(device=device, min_face=min_face), landmarks)
