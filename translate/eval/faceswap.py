"""Face-swap quality: did the identity change to the target's, while pose and expression stayed the source's?

For each frame of SRC (a video, an image, or a folder of images) and the same frame of OUT, faces are found in SRC
(detected and tracked) and in OUT; each SRC face is paired with the OUT face whose box overlaps it most. Then:

- identity: dlib's 128-d embeddings (translate.faces.identity). ``target_distance`` is the distance of the OUT face
  to the target identity (the mean embedding of the faces in --target-faces), ``source_distance`` its distance to the
  SRC face of that frame. A good swap has a small target distance and a large source distance; dlib calls two faces
  one person below 0.6, so ``swapped`` counts OUT faces within 0.6 of the target and beyond 0.6 of the source.
  ``target_similarity`` is 1 - target_distance, the usual way face-swap papers report ID retrieval.
- pose and expression: the mean distance between the 68 landmarks of the SRC face and of the OUT face, normalised
  by the SRC face's outer-eye-corner distance (the 300-W NME convention). 0 when OUT keeps SRC's geometry.
- flicker of the face region (videos): the warping error (translate.eval.warp) of OUT's aligned face crops
  against the motion of SRC's crops, both cut with SRC's alignment, and the same on SRC for reference.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from translate.errors import UserError
from translate.faces import align

OUTER_EYE_CORNERS = (36, 45)
SAME_PERSON = 0.6


@dataclass
class FacePair:
    frame: int
    target_distance: float
    source_distance: float
    pose_nme: float


@dataclass
class FaceSwapResult:
    src: str
    out: str
    target_faces: int
    frames: int = 0
    frames_without_pair: int = 0
    pairs: list[FacePair] = field(default_factory=list)
    flicker_out: float | None = None
    flicker_src: float | None = None

    def _mean(self, key: str) -> float:
        values = [getattr(p, key) for p in self.pairs]
        return float(np.mean(values)) if values else float("nan")

    def summary(self) -> dict:
        swapped = sum(p.target_distance < SAME_PERSON <= p.source_distance for p in self.pairs)
        return {"src": self.src, "out": self.out, "frames": self.frames, "faces": len(self.pairs),
                "frames_without_pair": self.frames_without_pair, "target_faces": self.target_faces,
                "target_distance": round(self._mean("target_distance"), 4),
                "target_similarity": round(1 - self._mean("target_distance"), 4),
                "source_distance": round(self._mean("source_distance"), 4),
                "swapped_fraction": round(swapped / len(self.pairs), 4) if self.pairs else 0.0,
                "pose_nme": round(self._mean("pose_nme"), 4),
                "flicker_out": None if self.flicker_out is None else round(self.flicker_out, 6),
                "flicker_src": None if self.flicker_src is None else round(self.flicker_src, 6)}

    def table(self) -> str:
        s = self.summary()
        rows = [("identity distance to the target (lower is better)", s["target_distance"]),
                ("identity distance to the source (higher is better)", s["source_distance"]),
                (f"faces swapped (target < {SAME_PERSON} <= source)", f"{s['swapped_fraction']:.1%}"),
                ("pose/expression change, landmark NME (lower is better)", s["pose_nme"]),
                ("face-region flicker E_warp, output / source", f"{s['flicker_out']} / {s['flicker_src']}")]
        width = max(len(r[0]) for r in rows)
        head = f"{s['faces']} face pairs in {s['frames']} frames ({s['frames_without_pair']} without a pair)"
        return "\n".join([head] + [f"{name:<{width}}  {value}" for name, value in rows])

    def to_json(self) -> dict:
        return {**self.summary(), "per_face": [asdict(p) for p in self.pairs]}


def landmark_nme(src: np.ndarray, out: np.ndarray) -> float:
    """Mean landmark distance normalised by the source's outer-eye-corner distance."""
    a, b = OUTER_EYE_CORNERS
    scale = float(np.linalg.norm(src[a] - src[b]))
    return float(np.linalg.norm(src - out, axis=1).mean() / max(scale, 1e-6))


def _frames(path: Path) -> Iterator[np.ndarray]:
    from translate.data.images import is_image_path, list_images, load_rgb

    if path.is_dir():
        for p in list_images(path, "frames"):
            yield load_rgb(p)
    elif is_image_path(path):
        yield load_rgb(path)
    else:
        from translate.eval.warp import iter_video_frames

        yield from iter_video_frames(path)


def target_identity(folder: str | Path, detector, embedder) -> tuple[np.ndarray, int]:
    """The mean embedding of the faces in the images of ``folder`` (aligned crops or photos)."""
    from translate.data.images import list_images, load_rgb

    embeddings = []
    for p in list_images(folder, "target faces"):
        rgb = load_rgb(p)
        faces = detector.detect(rgb)
        if not faces and min(rgb.shape[:2]) < 200:  # tight crops: give the detector some margin
            pad = min(rgb.shape[:2]) // 2
            rgb = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
            faces = detector.detect(rgb)
        if faces:
            face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
            embeddings.append(embedder(rgb, face.landmarks, face.box))
    if not embeddings:
        raise UserError(f"no face found in the images of {folder}: give photos or crops of the target person")
    return np.mean(embeddings, axis=0), len(embeddings)


def _best_match(box, faces):
    from translate.faces.track import box_iou

    scored = [(box_iou(box, f.box), f) for f in faces]
    iou, face = max(scored, key=lambda t: t[0], default=(0.0, None))
    return face if iou >= 0.3 else None


def evaluate_faceswap(src: str | Path, out: str | Path, target_faces: str | Path, landmarks: str = "dlib",
                      crop_size: int = 128, min_face: int = 0, detector=None, embedder=None) -> FaceSwapResult:
    """Identity, pose and face-region flicker of OUT (a swap of SRC towards the person in TARGET_FACES).

    min_face: smallest face to look for, in px (0: a tenth of the frame). ``detector``/``embedder``: already
    loaded ones to reuse (make_detector, FaceEmbedder), for evaluating many outputs.
    """
    from translate.eval.warp import FlickerMeter
    from translate.faces.identity import FaceEmbedder, identity_distance
    from translate.faces.landmarks import make_detector
    from translate.faces.track import FaceTracker
    from translate.video.flow import make_flow

    src, out = Path(src), Path(out)
    for p in (src, out, Path(target_faces)):
        if not p.exists():
            raise UserError(f"{p} does not exist")
    detector = detector or make_detector(landmarks, min_face=min_face)
    embedder = embedder or FaceEmbedder()
    target, n_target = target_identity(target_faces, detector, embedder)
    result = FaceSwapResult(str(src), str(out), n_target)
    tracker = FaceTracker(detector, redetect_every=1, smooth=False)  # every frame: SRC geometry is the reference
    meter, flicker = FlickerMeter(make_flow("dis")), []
    src_frames, out_frames = _frames(src), _frames(out)
    for index, frame_src in enumerate(src_frames):
        frame_out = next(out_frames, None)
        if frame_out is None:
            raise UserError(f"{out} ends at frame {index}, before {src}: compare an output with its own source")
        if frame_out.shape != frame_src.shape:
            raise UserError(f"frame {index}: {out} is {frame_out.shape[1]}x{frame_out.shape[0]}, {src} is "
                            f"{frame_src.shape[1]}x{frame_src.shape[0]}: a face swap keeps the frame size")
        result.frames += 1
        src_faces = tracker(frame_src)
        out_faces = detector.detect(frame_out) if src_faces else []
        paired = False
        for face in src_faces:
            match = _best_match(face.box, out_faces)
            if match is None:
                continue
            paired = True
            e_out = embedder(frame_out, match.landmarks, match.box)
            e_src = embedder(frame_src, face.raw_landmarks, face.box)
            result.pairs.append(FacePair(index, identity_distance(e_out, target), identity_distance(e_out, e_src),
                                         landmark_nme(face.raw_landmarks, match.landmarks)))
        result.frames_without_pair += not paired
        if len(src_faces) == 1 and paired:  # face-region flicker: one tracked face, crops cut with SRC's alignment
            m = align.align_matrix(src_faces[0].landmarks, crop_size, "face")
            record = meter.add(index, align.warp_to_crop(frame_src, m, crop_size),
                               align.warp_to_crop(frame_out, m, crop_size))
            if record is not None:
                flicker.append((record.e_warp_out, record.e_warp_in))
        else:
            meter = FlickerMeter(meter.flow)  # the face track broke: restart the pairs of consecutive crops
    if next(out_frames, None) is not None:
        raise UserError(f"{out} has more frames than {src}: compare an output with its own source")
    if result.frames == 0:
        raise UserError(f"{src} has no frames")
    if flicker:
        result.flicker_out = float(np.mean([f[0] for f in flicker]))
        result.flicker_src = float(np.mean([f[1] for f in flicker]))
    return result


def json_line(result: FaceSwapResult) -> str:
    return json.dumps(result.summary())
