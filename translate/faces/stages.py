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
from translate.video.frames import FrameBatch, Stage, StreamInfo


class FacesStage(Stage):
    """Find, track and align faces.

    face_index: keep only the face whose track id is N (ids count faces in order of first appearance and
    stay with a person across frames, as in the alignments file of `faces extract`); None keeps all.
    alignments: an alignments JSON from `faces extract` (possibly edited): its landmarks are used as they are
    instead of detecting; frames it does not list have no face.
    reference_face: a photo of the person to keep; other people's faces are left out (so left untouched by the
    stages after this one). reference_threshold: identity distance below which a face is that person.
    """

    name = "faces"

    def __init__(self, landmarks: str = "auto", size: int | None = 256, centering: str | None = "face",
                 face_index: int | None = None, alignments: str | Path | None = None, smooth: bool = True,
                 redetect_every: int = 8, min_face: int = 0, device: str = "auto",
                 reference_face: str | Path | None = None, reference_threshold: float = 0.6,
                 detector: str = "auto"):
        if centering is not None and centering not in align.CENTERINGS:
            raise UserError(f"centering must be one of {', '.join(align.CENTERINGS)}, got {centering!r}")
        if size is not None and size < 16:
            raise UserError(f"face crop size {size} is too small (at least 16 px)")
        # None: taken from the model of the translate stage that follows (see link), else 256 px / face
        self.backend, self.size, self.centering = landmarks, size, centering
        self.crop_source = "option" if size is not None else "default"
        self.face_index, self.smooth, self.redetect_every = face_index, smooth, redetect_every
        self.min_face, self.device = min_face, device
        self.alignments_path = alignments
        self.reference_face, self.reference_threshold = reference_face, reference_threshold
        self.reference = None  # identity.ReferenceFilter, made in open()
        self.box_detector = detector
        self.tracker: FaceTracker | None = None
        self.detector_name = "alignments" if alignments else None
        self._table: dict[int, list[dict]] | None = None
        self._counts = {"frames": 0, "faces": 0, "frames_without_faces": 0}

    def link(self, following: list[Stage]) -> None:
        """Take the crop size and centering from the model of the first translate stage after this one.

        Called by the pipeline once the chain is built. A size or centering given explicitly that does not
        match a face model is refused (see crop_for_model)."""
        translator = next((s.translator for s in following if getattr(s, "translator", None) is not None), None)
        if translator is None:
            return
        self.size, self.centering, self.crop_source = crop_for_model(
            translator.info, self.size, self.centering, getattr(translator, "model_name", "the model"))

    def open(self, info: StreamInfo) -> StreamInfo:
        self.size = self.size or 256
        self.centering = self.centering or "face"
        if self.alignments_path:
            from translate.faces.extract import read_alignments

            data = read_alignments(self.alignments_path)
            src = data.get("source_size")
            if src and (int(src[0]), int(src[1])) != (info.width, info.height):
                raise UserError(f"alignments {self.alignments_path} are for {src[0]}x{src[1]} frames, this video "
                                f"is {info.width}x{info.height}: extract them from this video")
            self._table = {int(f["index"]): f["faces"] for f in data["frames"]}
        else:
            detector = make_detector(self.backend, device=self.device, min_face=self.min_face,
                                     detector=self.box_detector)
            self.detector_name = detector.name
            self.tracker = FaceTracker(detector, redetect_every=self.redetect_every, smooth=self.smooth)
        if self.reference_face:
            from translate.faces.identity import ReferenceFilter

            ref_detector = self.tracker.detector if self.tracker else \
                make_detector(self.backend, device=self.device, detector=self.box_detector)
            self.reference = ReferenceFilter.from_photo(self.reference_face, ref_detector, self.reference_threshold)
        return info

    def _faces_of(self, frame: np.ndarray, index: int) -> list[dict]:
        if self._table is not None:
            found = [{"landmarks": np.asarray(f["landmarks"], np.float32), "box": tuple(f["box"]),
                      "track": int(f.get("track", i)), "score": float(f.get("score", 1.0))}
                     for i, f in enumerate(self._table.get(index, []))]
            if self.reference is not None:
                found = [f for f in found
                         if self.reference.matches(frame, f["landmarks"], f["box"], f["track"], fresh=False)]
        else:
            tracked = self.tracker(frame)
            if self.reference is not None:  # identity once per track, again whenever the tracker re-detects it
                tracked = [t for t in tracked
                           if self.reference.matches(frame, t.raw_landmarks, t.box, t.track_id, fresh=t.detected)]
            found = [{"landmarks": t.landmarks, "box": t.box, "track": t.track_id, "score": t.score}
                     for t in tracked]
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
        stats = {"landmarks": self.detector_name, "size": self.size, "centering": self.centering,
                 "crop_from": self.crop_source, **self._counts}
        if self.tracker is not None:
            stats["detections"] = self.tracker.stats.detections
            stats["tracks"] = self.tracker.stats.tracks
        if self.reference is not None:
            stats["reference_kept"], stats["reference_dropped"] = self.reference.kept, self.reference.dropped
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


def crop_for_model(info, size: int | None, centering: str | None, name: str) -> tuple[int, str, str]:
    """(crop size, centering, where they came from) for running ``info``'s model on aligned face crops.

    Face models (task faces) record the crop size and centering they were trained on: those are used, and an
    explicit size or centering that differs is refused (the encoder's dense layers fix the size; another
    framing shows the model faces it never saw). Image-translation models (CycleGAN, Pix2Pix, DiscoGAN trained
    on face crops; task translate) are fully convolutional: an explicit size wins, else the model's recorded
    crop_size or train_size; the centering is explicit, else recorded, else face.
    """
    extra = dict(getattr(info, "extra", {}) or {})
    if info.task == "faces":
        model_size, model_centering = extra.get("crop_size"), extra.get("centering")
        if not model_size or not model_centering:
            raise UserError(f"face model {name} does not record its crop size and centering; re-export it with this version")
        model_size = int(model_size)
        if size is not None and size != model_size:
            raise UserError(f"face model {name} was trained on {model_size} px crops, not {size} px: leave the "
                            f"crop size unset (--face-size, faces --size); the model's is used by default")
        if centering is not None and centering != model_centering:
            raise UserError(f"face model {name} was trained on '{model_centering}' centered crops, not '{centering}': "
                            "leave --centering unset; the model's is used by default")
        return model_size, model_centering, "model"
    if info.task == "translate":
        chosen = size or extra.get("crop_size") or extra.get("train_size")
        if not chosen:
            raise UserError(f"model {name} records no training size: give the face crop size it was trained on "
                            "(--face-size, or faces size=N)")
        multiple = max(1, int(getattr(info, "multiple", 1) or 1))
        if int(chosen) % multiple:
            raise UserError(f"face crop size {chosen} does not fit model {name} (needs a multiple of {multiple})")
        source = "option" if size else "model"
        return int(chosen), centering or extra.get("centering") or "face", source
    raise UserError(f"model {name} is a {info.task} model: --faces needs a face-swap model (task faces) or an "
                    "image-translation model trained on face crops (CycleGAN, Pix2Pix, DiscoGAN)")


def build_faces_stage(landmarks: str = "auto", size: int | None = None, centering: str | None = None,
                      face_index: int | None = None, alignments: str | None = None, smooth: bool = True,
                      redetect_every: int = 8, min_face: int = 0, device: str = "auto",
                      reference_face: str | None = None, reference_threshold: float = 0.6,
                      detector: str = "auto") -> FacesStage:
    """The `faces` stage of chains and pipelines: size and centering default to the following model's."""
    return FacesStage(landmarks, size, centering, face_index, alignments, smooth, redetect_every, min_face, device,
                      reference_face, reference_threshold, detector)


def build_blend_stage(mask: str = "components", colour: str = "mean", erode: float = 0.03, feather: float = 0.04,
                      seamless: bool = False) -> BlendStage:
    """The `blend` stage of chains and pipelines."""
    return BlendStage(mask, colour, erode, feather, seamless)
