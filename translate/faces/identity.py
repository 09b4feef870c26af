"""Who a face is: 128-d identity embeddings (dlib's face recognition ResNet) and the reference-face filter.

The embedding network is `dlib_face_recognition_resnet_model_v1.dat`, shipped by face-recognition-models (found
without importing that package, as the landmark predictor is). Two photos of one person are typically < 0.6 apart
(Euclidean), different people > 0.6: dlib's own threshold, 99.38% on LFW.

`ReferenceFilter` keeps only the faces that match a reference photo. Tracked faces are embedded once per track and
again whenever the tracker re-detects them, so a video pays for the network on a few frames, not on every one.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from translate.errors import UserError

RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
DEFAULT_THRESHOLD = 0.6


def recognition_model_path() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("--reference-face needs the 'face-recognition-models' package: pip install 'translate[faces]'")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / RECOGNITION_MODEL
    if not path.is_file():
        raise UserError(f"{path} is missing: reinstall face-recognition-models")
    return path


class FaceEmbedder:
    """rgb frame + 68 landmarks -> unit-free 128-d float32 embedding (dlib aligns its own 150 px chip)."""

    def __init__(self):
        try:
            import dlib
        except ImportError as e:
            raise UserError("--reference-face needs dlib: pip install 'translate[faces]'") from e
        self._dlib = dlib
        self._net = dlib.face_recognition_model_v1(str(recognition_model_path()))

    def __call__(self, rgb: np.ndarray, landmarks: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        dlib = self._dlib
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        points = [dlib.point(int(round(x)), int(round(y))) for x, y in np.asarray(landmarks, np.float64)]
        shape = dlib.full_object_detection(dlib.rectangle(x0, y0, x1 - 1, y1 - 1), points)
        return np.asarray(self._net.compute_face_descriptor(np.ascontiguousarray(rgb), shape), np.float32)


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


def reference_embedding(path: str | Path, detector, embedder: FaceEmbedder) -> np.ndarray:
    """The embedding of the largest face in the reference photo (one clear line when there is none)."""
    from translate.data.images import load_rgb

    path = Path(path)
    if not path.is_file():
        raise UserError(f"reference face {path} does not exist: give a photo of the person to keep")
    rgb = load_rgb(path)
    faces = detector.detect(rgb)
    if not faces:
        raise UserError(f"no face found in the reference photo {path}: use a photo where the face is clear and frontal")
    face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    return embedder(rgb, face.landmarks, face.box)


@dataclass
class ReferenceFilter:
    """Keep faces within `threshold` of the reference identity; decisions are cached per track id."""

    reference: np.ndarray
    embedder: FaceEmbedder
    threshold: float = DEFAULT_THRESHOLD
    distances: dict[int, float] = field(default_factory=dict)  # last distance per track, for reports
    kept: int = 0
    dropped: int = 0

    @classmethod
    def from_photo(cls, path: str | Path, detector, threshold: float = DEFAULT_THRESHOLD) -> "ReferenceFilter":
        if not threshold > 0:
            raise UserError(f"--reference-threshold must be positive, got {threshold}")
        embedder = FaceEmbedder()
        return cls(reference_embedding(path, detector, embedder), embedder, threshold)

    def distance(self, rgb: np.ndarray, landmarks: np.ndarray, box, track: int | None = None,
                 fresh: bool = True) -> float:
        """Distance of one face to the reference; a track's cached value is reused unless `fresh`."""
        if track is not None and not fresh and track in self.distances:
            return self.distances[track]
        d = identity_distance(self.embedder(rgb, landmarks, box), self.reference)
        if track is not None:
            self.distances[track] = d
        return d

    def matches(self, rgb: np.ndarray, landmarks: np.ndarray, box, track: int | None = None,
                fresh: bool = True) -> bool:
        ok = self.distance(rgb, landmarks, box, track, fresh) < self.threshold
        self.kept += ok
        self.dropped += not ok
        return ok
