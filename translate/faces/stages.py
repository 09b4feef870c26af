"""Video pipeline stages for faces: `FacesStage` (detect, track, align) and `BlendStage` (paste back).

FacesStage puts, for every frame, meta["faces"] = [{"crop", "matrix", "landmarks", "box", "track", "score"}]
(crop: aligned uint8 (size, size, 3); matrix: 2x3 frame->crop; landmarks: (68, 2) smoothed, frame pixels).
The translate stage adds "translated" (a uint8 crop) to each face dict; BlendStage composites it back.
A frame with no face gets meta["faces"] = [] and passes through every stage unchanged.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from translate.errors import UserError
from translate.faces import align, blend
from translate.faces.landmarks import make_detector
from translate.faces.track import FaceTracker
from translate.framebatch import FrameBatch, Stage, StreamInfo


class FacesStage(Stage):
    """Find, track and align faces.

    face_index: keep only the face whose track id is N (ids count faces in order of first appearance and
    stay with a person across frames, as in the alignments file of `faces extract`); None keeps all.
    alignments: an alignments JSON from `faces extract` (possibly edited): its landmarks are used as they are
    instead of detecting; frames it does not list have no face.
    """

    name = "faces"

    def __init__(self, landmarks: str = "auto", size: int = 256, centering: str = "face",
                 face_index: int | None = None, alignments: str | Path | None = None, smooth: bool = True,
                 redetect_every: int = 8, min_face: int = 0, device: str = "auto"):
        if centering not in align.CENTERINGS:
            raise UserError(f"centering must be one of {', '.join(align.CENTERINGS)}, got {centering!r}")
        self.backend, self.size, self.centering = landmarks, size, centering
        self.face_index, self.smooth, self.redetect_every = face_index, smooth, redetect_every
        self.min_face, self.device = min_face, device
        self.alignments_path = alignments
        self.tracker: FaceTracker | None = None
        self.detector_name = "alignments" if alignments else None
        self._table: dict[int, list[dict]] | None = None
        self._counts = {"frames": 0, "faces": 0, "frames_without_faces": 0}

    def open(self, info: StreamInfo) -> StreamInfo:
        if self.alignments_path:
            from translate.faces.extract import read_alignments

            data = read_alignments(self.alignments_path)
            src = data.get("source_size")
            if src and (int(src[0]), int(src[1])) != (info.width, info.height):
                raise UserError(f"alignments {self.alignments_path} are for {src[0]}x{src[1]} frames, this video "
                                f"is {info.width}x{info.height}: extract them from this video")
            self._table = {int(f["index"]): f["faces"] for f in data["frames"]}
        else:
            detector = make_detector(self.backend, device=self.device, min_face=self.min_face)
            self.detector_name = detector.name
            self.tracker = FaceTracker(detector, redetect_every=self.redetect_every, smooth=self.smooth)
        return info

    def _faces_of(self, frame: np.ndarray, index: int) -> list[dict]:
        if self._table is not None:
            found = [{"landmarks": np.asarray(f["landmarks"], np.float32), "box": tuple(f["box"]),
                      "track": int(f.get("track", i)), "score": float(f.get("score", 1.0))}
                     for i, f in enumerate(self._table.get(index, []))]
        else:
            found = [{"landmarks": t.landmarks, "box": t.box, "track": t.track_id, "score": t.score}
                     for t in self.tracker(frame)]
        if self.face_index is not None:
            found = [f for f in found if f["track"] == self.face_index]
        for f in found:
            f["crop"], f["matrix"] = align.align_face(frame, f["landmarks"], self.size, self.centering)
        return found

    def process(self, batch: FrameBatch) -> FrameBatch:
        for frame, index, meta in zip(batch.frames, batch.indices, batch.meta):
            meta["faces"] = self._faces_of(frame, index)
            self._counts["frames"] += 1
            self._counts["faces"] += len(meta["faces"])
            self._counts["frames_without_faces"] += not meta["faces"]
        return batch

    def close(self) -> dict:
        stats = {"landmarks": self.detector_name, "size": self.size, "centering": self.centering, **self._counts}
        if self.tracker is not None:
            stats["detections"] = self.tracker.stats.detections
            stats["tracks"] = self.tracker.stats.tracks
        return stats

    def tags(self) -> dict[str, str]:
        return {"faces": f"{self.detector_name} landmarks, {self.size}px {self.centering} crops"}


class BlendStage(Stage):
    """Paste meta["faces"][i]["translated"] back with a feathered landmark mask and colour correction.

    Frames without faces (or whose faces were not translated) pass through unchanged and are counted.
    """

    name = "blend"

    def __init__(self, mask: str = "components", colour: str = "mean", erode: float = 0.03,
                 feather: float = 0.04, seamless: bool = False):
        if mask not in blend.MASKS:
            raise UserError(f"mask must be one of {', '.join(blend.MASKS)}, got {mask!r}")
        if colour not in blend.COLOURS:
            raise UserError(f"colour correction must be one of {', '.join(blend.COLOURS)}, got {colour!r}")
        self.mask, self.colour, self.erode, self.feather, self.seamless = mask, colour, erode, feather, seamless
        self._counts = {"frames": 0, "faces_blended": 0, "frames_unchanged": 0}

    def process(self, batch: FrameBatch) -> FrameBatch:
        frames = batch.frames
        for i, meta in enumerate(batch.meta):
            self._counts["frames"] += 1
            faces = [f for f in meta.get("faces", []) if f.get("translated") is not None]
            if not faces:
                self._counts["frames_unchanged"] += 1
                continue
            frame = frames[i]
            for f in faces:
                frame, f["mask"] = blend.blend_face(
                    frame, f["crop"], np.asarray(f["translated"]), f["matrix"], f["landmarks"], self.mask,
                    self.colour, self.erode, self.feather, self.seamless)
            if frames is batch.frames:  # copy once: the input batch is never written to
                frames = frames.copy()
            frames[i] = frame
            self._counts["faces_blended"] += len(faces)
        return batch.with_frames(frames) if frames is not batch.frames else batch

    def close(self) -> dict:
        return dict(self._counts)
