"""`faces extract`: aligned face crops (PNG) and an alignments JSON from a video or a folder of images.

alignments.json (never pickle):
  {"version": 1, "source": str, "source_size": [w, h] (videos; per frame "size" for folders),
   "size": crop px, "centering": str, "landmarks": backend,
   "frames": [{"index": i, "name": image name (folders), "size": [w, h],
               "faces": [{"track", "box": [x0,y0,x1,y1], "landmarks": [[x,y]*68], "matrix": [[3],[3]],
                          "score", "align_error", "file": crop file name}]}],
   "summary": {"frames", "faces", "frames_without_faces", ...}}
A video's frames are tracked and their landmarks smoothed (see track.py); images of a folder are independent.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from translate.cleanup import StopOnInterrupt
from translate.errors import UserError, ensure_folder
from translate.faces import align
from translate.faces.landmarks import make_detector
from translate.faces.track import FaceTracker

ALIGNMENTS = "alignments.json"
VIDEO_EXTS = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".gif"}


def _folder_frames(folder: Path) -> Iterator[tuple[int, str, np.ndarray]]:
    from translate.data.images import list_images, load_rgb

    for i, path in enumerate(list_images(folder, "input")):
        yield i, str(path.relative_to(folder)), load_rgb(path)


def _video_frames(path: Path) -> Iterator[tuple[int, str, np.ndarray]]:
    from translate.video.reader import FrameReader

    reader = FrameReader(path)
    try:
        for batch in reader:
            for index, frame in zip(batch.indices, batch.frames):
                yield index, "", frame
    finally:
        reader.close()


def read_alignments(path: str | Path) -> dict:
    """Load and sanity-check an alignments JSON (UserError on a missing or malformed file)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"alignments file {path} does not exist")
    try:
        data = json.loads(path.read_text())
        frames = data["frames"]
        for f in frames:
            int(f["index"])
            for face in f["faces"]:
                if np.asarray(face["landmarks"], float).shape != (68, 2):
                    raise ValueError("landmarks must be 68 (x, y) pairs")
    except (OSError, ValueError, KeyError, TypeError, OverflowError, RecursionError) as e:
        raise UserError(f"{path} is not a valid alignments file ({e}): re-run `translate faces extract`") from None
    return data


def _face_record(frame: np.ndarray, face, face_id: int, size: int, centering: str,
                 name: str) -> tuple[dict, np.ndarray]:
    crop, matrix = align.align_face(frame, face.landmarks, size, centering)
    err = align.alignment_error(face.landmarks, matrix, size, centering)
    rec = {"track": int(face_id), "box": [round(float(v), 2) for v in face.box],
           "landmarks": np.round(face.landmarks.astype(np.float64), 2).tolist(),
           "matrix": np.round(matrix, 6).tolist(), "score": round(float(face.score), 4),
           "align_error": round(err, 4), "file": name}
    return rec, crop


def _dumps(data: dict) -> str:
    """JSON with one line per frame: small, diffable and editable by hand."""
    frames = ",\n".join("  " + json.dumps(f) for f in data["frames"])
    head = json.dumps({**data, "frames": "@FRAMES@"}, indent=1)
    return head.replace('"@FRAMES@"', "[\n" + frames + "\n ]") + "\n"


def extract_faces(src: str | Path, out_dir: str | Path, size: int = 256, every: int = 1, min_size: int = 0,
                  centering: str = "face", landmarks: str = "auto", device: str = "auto",
                  smooth: bool = True, progress: Callable[[int], None] | None = None,
                  reference_face: str | Path | None = None, reference_threshold: float = 0.6,
                  detector: str = "auto") -> dict:
    """Write aligned crops and `alignments.json` into out_dir; returns the summary (also in the JSON).

    every: use every N-th frame. min_size: skip faces whose detection box is smaller than this (px).
    reference_face: a photo of the one person to extract; faces further than reference_threshold are skipped.
    """
    src, out_dir = Path(src), Path(out_dir)
    if not src.exists():
        raise UserError(f"input {src} does not exist")
    if centering not in align.CENTERINGS:
        raise UserError(f"centering must be one of {', '.join(align.CENTERINGS)}, got {centering!r}")
    if size < 16 or every < 1 or min_size < 0:
        raise UserError("--size must be at least 16, --every at least 1 and --min-size not negative")
    if src.resolve() == out_dir.resolve():
        raise UserError(f"output folder {out_dir} is the input: choose another -o")
    if (out_dir / ALIGNMENTS).exists():
        raise UserError(f"{out_dir} already holds an extraction ({ALIGNMENTS}): choose another -o or remove it")
    is_video = src.is_file()
    if is_video and src.suffix.lower() not in VIDEO_EXTS:
        raise UserError(f"{src} is neither a folder of images nor a video ({', '.join(sorted(VIDEO_EXTS))})")
    frames = _video_frames(src) if is_video else _folder_frames(src)

    detector = make_detector(landmarks, device=device, min_face=min_size, detector=detector)
    # A video is one stream: track and smooth. A folder's images are unrelated: detect each one.
    tracker = FaceTracker(detector, redetect_every=8 if is_video else 1, smooth=smooth and is_video,
                          min_size=0.0)
    reference = None
    if reference_face:
        from translate.faces.identity import ReferenceFilter

        reference = ReferenceFilter.from_photo(reference_face, detector, reference_threshold)
    ensure_folder(out_dir)
    records, n_frames, n_faces, n_empty, n_small, source_size = [], 0, 0, 0, 0, None
    start = time.perf_counter()
    interrupt = StopOnInterrupt()  # Ctrl-C: stop after this frame and save the alignments of the crops written
    for index, name, frame in interrupt.iterate(frames):
        if index % every:
            continue
        n_frames += 1
        h, w = frame.shape[:2]
        source_size = source_size or [w, h]
        found = tracker(frame)
        faces = [f for f in found if max(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= min_size]
        n_small += len(found) - len(faces)
        if reference is not None:  # a video's track is re-identified only when the tracker re-detects it
            faces = [f for f in faces if reference.matches(frame, f.raw_landmarks, f.box, f.track_id if is_video
                                                           else None, fresh=f.detected)]
        stem = Path(name).with_suffix("").as_posix().replace("/", "_") if name else f"frame{index:06d}"
        entry = {"index": index, "size": [w, h], "faces": []}
        if name:
            entry["name"] = name
        for k, face in enumerate(faces):
            face_id = face.track_id if is_video else k  # a video's ids follow people; an image's count faces
            file = f"{stem}_{face_id}.png"
            rec, crop = _face_record(frame, face, face_id, size, centering, file)
            ok, png = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            (out_dir / file).write_bytes(png.tobytes())
            entry["faces"].append(rec)
        n_faces += len(faces)
        n_empty += not faces
        records.append(entry)
        if progress:
            progress(1)
    if n_frames == 0 and not interrupt.requested:
        raise UserError(f"{src} gave no frames: is the video empty or --every larger than its length?")
    summary = {"frames": n_frames, "faces": n_faces, "frames_without_faces": n_empty, "faces_too_small": n_small,
               "landmarks": detector.name, "detections": tracker.stats.detections,
               "rejected_fits": tracker.stats.rejected, "seconds": round(time.perf_counter() - start, 3)}
    if interrupt.requested:
        summary["interrupted"] = True
    if reference is not None:
        summary["other_people_skipped"] = reference.dropped
    data = {"version": 1, "source": str(src), "source_size": source_size if is_video else None,
            "size": size, "centering": centering, "landmarks": detector.name, "every": every,
            "min_size": min_size, "frames": records, "summary": summary}
    tmp = out_dir / (ALIGNMENTS + ".tmp")
    tmp.write_text(_dumps(data))
    os.replace(tmp, out_dir / ALIGNMENTS)
    if interrupt.requested:  # the CLI says 'interrupted' (exit 130); the folder holds whole crops, all listed
        raise KeyboardInterrupt
    return summary
