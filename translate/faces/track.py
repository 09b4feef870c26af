"""Faces across frames: identities by box overlap, landmarks smoothed over time, detection only when needed.

`FaceTracker(detector)(rgb) -> list[TrackedFace]`, one call per frame in order. A full detection runs on the
first frame, every `redetect_every` frames (to find new faces) and whenever a tracked face fails its checks;
in between, each face's landmarks are re-fitted in a box predicted from its previous landmarks (twice, so the
box settles on the face). That box is the last detection box carried along by the landmarks' similarity
transform, so on a still face it equals the detector's box and the result is the same as re-detecting,
while skipping the detector (the slow part: 10-100x the landmark cost with dlib HOG). A re-fitted face must
also still look like the tracked one (normalised correlation of a 32 px aligned grey patch), so a cut or an
occlusion falls back to detection. Faces lost for up to `max_missed` frames keep their id when they return
in an overlapping box.

Smoothing is a One-Euro filter (Casiez et al. 2012) on the whole landmark set: the cut-off frequency rises
with the face's speed (measured as a fraction of the face's size per frame), so a still face barely moves
while a moving face is followed with little lag.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from translate.faces import align
from translate.faces.landmarks import Face, LandmarkDetector

Box = tuple[float, float, float, float]


@dataclass
class TrackedFace:
    track_id: int
    box: Box
    landmarks: np.ndarray  # (68, 2) float32, smoothed
    raw_landmarks: np.ndarray  # (68, 2) float32, as the backend returned them
    score: float
    detected: bool  # True when a full detection produced it this frame


def box_iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_by_iou(old: list[Box], new: list[Box], min_iou: float = 0.3) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of old to new boxes by descending IoU, pairs above min_iou."""
    pairs = sorted(((box_iou(o, n), i, j) for i, o in enumerate(old) for j, n in enumerate(new)), reverse=True)
    used_o, used_n, out = set(), set(), []
    for iou, i, j in pairs:
        if iou < min_iou:
            break
        if i not in used_o and j not in used_n:
            used_o.add(i)
            used_n.add(j)
            out.append((i, j))
    return out


def face_size(landmarks: np.ndarray) -> float:
    """Size of a face in pixels: the scale of its fit to the unit mean face."""
    return 1.0 / max(align.matrix_scale(align.umeyama(np.asarray(landmarks)[align.INNER], align.MEAN_FACE)), 1e-9)


class OneEuroLandmarks:
    """One-Euro filter over a (68, 2) landmark set, with speed measured relative to the face's size.

    min_cutoff (cycles/frame) sets the smoothing of a still face; beta how fast the cut-off rises with speed
    (per percent of the face size per frame).
    """

    def __init__(self, min_cutoff: float = 0.02, beta: float = 0.3, d_cutoff: float = 0.5):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x: np.ndarray | None = None
        self.speed = 0.0

    @staticmethod
    def alpha(cutoff: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau)  # sample period: one frame

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self.x is None:
            self.x = x
            return x.astype(np.float32)
        size = face_size(x)
        speed = float(np.linalg.norm(x - self.x, axis=1).mean()) / size * 100.0  # % of face size per frame
        a_d = self.alpha(self.d_cutoff)
        self.speed = a_d * speed + (1 - a_d) * self.speed
        a = self.alpha(self.min_cutoff + self.beta * self.speed)
        self.x = a * x + (1 - a) * self.x
        return self.x.astype(np.float32)


@dataclass
class _Track:
    track_id: int
    box_in_face: np.ndarray  # (4, 2) corners of the detection box in unit mean-face coordinates
    raw: np.ndarray
    box: Box
    smoother: OneEuroLandmarks | None
    patch: np.ndarray | None = None  # small aligned grey crop of the last accepted frame
    lost_at: int | None = None  # frame number it was last missed on (None: active)


def _unit_fit(landmarks: np.ndarray) -> np.ndarray:
    return align.umeyama(np.asarray(landmarks)[align.INNER], align.MEAN_FACE)  # frame -> unit face


def _box_corners(box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], np.float64)


def _corners_to_box(c: np.ndarray) -> Box:
    lo, hi = c.min(0), c.max(0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


PATCH = 32


def face_patch(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """32x32 aligned grey crop, zero mean and unit norm: what the face looks like, for appearance checks."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    patch = align.warp_to_crop(grey, align.align_matrix(landmarks, PATCH, "legacy"), PATCH).astype(np.float32)
    patch -= patch.mean()
    return patch / max(float(np.linalg.norm(patch)), 1e-6)


def landmarks_box(landmarks: np.ndarray) -> Box:
    lo, hi = np.asarray(landmarks).min(0), np.asarray(landmarks).max(0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


@dataclass
class TrackerStats:
    frames: int = 0
    frames_without_faces: int = 0
    faces: int = 0
    detections: int = 0  # frames on which the full detector ran
    tracks: int = 0
    rejected: int = 0  # fits dropped by the quality checks


class FaceTracker:
    """Detect/track faces frame by frame. Call once per frame, in order."""

    def __init__(self, detector: LandmarkDetector, redetect_every: int = 8, min_iou: float = 0.3,
                 smooth: bool = True, max_missed: int = 30, max_align_error: float = 0.12,
                 min_score: float = 0.0, min_size: float = 0.0,
                 min_cutoff: float = 0.02, beta: float = 0.3, min_similarity: float = 0.6):
        self.detector = detector
        self.redetect_every = max(1, redetect_every)
        self.min_iou, self.smooth, self.max_missed = min_iou, smooth, max_missed
        self.max_align_error, self.min_score, self.min_size = max_align_error, min_score, min_size
        self.min_cutoff, self.beta, self.min_similarity = min_cutoff, beta, min_similarity
        self.tracks: list[_Track] = []
        self.stats = TrackerStats()
        self._next_id = 0
        self._since_detect = 0

    def _good(self, face: Face) -> bool:
        m = align.umeyama(face.landmarks[align.INNER], align.template(1, "legacy"))
        ok = align.eyes_above_mouth(face.landmarks, m) and \
            align.alignment_error(face.landmarks, m, 1, "legacy") <= self.max_align_error
        return ok and face_size(face.landmarks) >= self.min_size

    def _refit(self, rgb: np.ndarray, track: _Track) -> Face | None:
        raw = track.raw
        face = None
        for _ in range(2):  # box from the landmarks, landmarks in the box; twice so the box settles
            corners = align.transform_points(track.box_in_face, align.invert(_unit_fit(raw)))
            box = _corners_to_box(corners)
            face = self.detector.refine(rgb, [box])[0]
            raw = face.landmarks
        if not self._good(face) or box_iou(face.box, landmarks_box_to_detect_box(track, raw)) < 0.5:
            return None
        # The landmark model always returns a face shape: check the face still looks like the tracked one
        # (a cut, an occlusion or a face leaving the frame fails this and triggers a full detection).
        patch = face_patch(rgb, face.landmarks)
        if track.patch is not None and float((patch * track.patch).sum()) < self.min_similarity:
            return None
        track.patch = patch
        return face

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        self.stats.detections += 1
        self._since_detect = 0
        faces = [f for f in self.detector.detect(rgb) if f.score >= self.min_score]
        good = [f for f in faces if self._good(f)]
        self.stats.rejected += len(faces) - len(good)
        return good

    def _new_track(self, face: Face) -> _Track:
        box_in_face = align.transform_points(_box_corners(face.box), _unit_fit(face.landmarks))
        smoother = OneEuroLandmarks(self.min_cutoff, self.beta) if self.smooth else None
        t = _Track(self._next_id, box_in_face, face.landmarks, face.box, smoother)
        self._next_id += 1
        self.stats.tracks += 1
        return t

    def __call__(self, rgb: np.ndarray) -> list[TrackedFace]:
        self.stats.frames += 1
        self._since_detect += 1
        active = [t for t in self.tracks if t.lost_at is None]
        fitted: list[tuple[_Track, Face, bool]] = []
        need_detect = not active or self._since_detect >= self.redetect_every
        if not need_detect:
            for t in active:
                face = self._refit(rgb, t)
                if face is None:
                    need_detect = True
                    break
                fitted.append((t, face, False))
        if need_detect:
            fitted = self._assign(self._detect(rgb))
        out = []
        for t, face, detected in fitted:
            t.raw, t.box, t.lost_at = face.landmarks, face.box, None
            if detected:  # re-anchor the box and the appearance to this detection
                t.box_in_face = align.transform_points(_box_corners(face.box), _unit_fit(face.landmarks))
                t.patch = face_patch(rgb, face.landmarks)
            lm = t.smoother(face.landmarks) if t.smoother is not None else face.landmarks
            out.append(TrackedFace(t.track_id, face.box, np.asarray(lm, np.float32),
                                   face.landmarks, face.score, detected))
        if not out:
            self.stats.frames_without_faces += 1
        self.stats.faces += len(out)
        return sorted(out, key=lambda f: f.track_id)

    def _assign(self, faces: list[Face]) -> list[tuple[_Track, Face, bool]]:
        """Match detections to tracks (active or recently lost) by box IoU; start tracks for the rest.

        A track not seen for more than max_missed frames is forgotten; one that comes back in time keeps its
        id (its smoother restarts, as the face may have moved while hidden).
        """
        now = self.stats.frames
        self.tracks = [t for t in self.tracks if t.lost_at is None or now - t.lost_at <= self.max_missed]
        pairs = match_by_iou([t.box for t in self.tracks], [f.box for f in faces], self.min_iou)
        matched_t = {i for i, _ in pairs}
        matched_f = {j for _, j in pairs}
        fitted = []
        for i, j in pairs:
            t = self.tracks[i]
            if t.lost_at is not None and t.smoother is not None:
                t.smoother = OneEuroLandmarks(self.min_cutoff, self.beta)
            fitted.append((t, faces[j], True))
        for i, t in enumerate(self.tracks):
            if i not in matched_t and t.lost_at is None:
                t.lost_at = now
        for j, f in enumerate(faces):
            if j not in matched_f:
                t = self._new_track(f)
                self.tracks.append(t)
                fitted.append((t, f, True))
        return fitted


def landmarks_box_to_detect_box(track: _Track, landmarks: np.ndarray) -> Box:
    """The detection-style box that these landmarks imply for this track."""
    return _corners_to_box(align.transform_points(track.box_in_face, align.invert(_unit_fit(landmarks))))
