"""Face pipeline benchmark: JSON lines.

- landmarks ms/frame per available backend at 720p (detect on every frame, and tracked: refit only);
- end-to-end fps of the faces stage chain (FacesStage -> identity "translation" -> BlendStage) at 720p,
  against the faces stage alone.
Frames: the astronaut photo panned and zoomed inside a 1280x720 frame.

    .venv/bin/python scripts/bench/faces.py [--frames 30] [--size 256]
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from fractions import Fraction

import cv2
import numpy as np
import skimage.data

from translate.errors import UserError
from translate.faces.landmarks import make_detector
from translate.faces.stages import BlendStage, FacesStage
from translate.faces.track import FaceTracker
from translate.framebatch import FrameBatch, StreamInfo


def frames_720p(n: int) -> np.ndarray:
    photo = skimage.data.astronaut()
    out = []
    for t in range(n):
        z = 1.6 - 0.01 * t
        c = np.array([220.0 + 2 * t, 150.0 + t])
        A = np.array([[z, 0, 640 - z * c[0]], [0, z, 360 - z * c[1]]])
        out.append(cv2.warpAffine(photo, A, (1280, 720), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT))
    return np.stack(out)


def emit(**row) -> None:
    print(json.dumps(row), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()
    frames = frames_720p(args.frames)
    host = {"cpu": platform.processor() or platform.machine(), "threads": cv2.getNumThreads()}
    for backend in ("dlib", "fan"):
        try:
            det = make_detector(backend)
        except UserError as e:
            emit(bench="landmarks", backend=backend, skipped=str(e))
            continue
        det.detect(frames[0])  # warm up
        t0 = time.perf_counter()
        found = sum(len(det.detect(f)) for f in frames)
        detect_ms = (time.perf_counter() - t0) * 1000 / len(frames)
        tracker = FaceTracker(det, redetect_every=8)
        t0 = time.perf_counter()
        for f in frames:
            tracker(f)
        track_ms = (time.perf_counter() - t0) * 1000 / len(frames)
        emit(bench="landmarks", backend=backend, resolution="1280x720", frames=len(frames), faces_found=found,
             detect_every_frame_ms=round(detect_ms, 2), tracked_ms=round(track_ms, 2),
             detections=tracker.stats.detections, **host)

    info = StreamInfo(1280, 720, Fraction(25), len(frames))
    for chain in ("faces", "faces+blend"):
        faces, blender = FacesStage("auto", size=args.size), BlendStage()
        faces.open(info)
        blender.open(info)
        t0 = time.perf_counter()
        for start in range(0, len(frames), 8):
            batch = FrameBatch(frames[start:start + 8].copy(), list(range(start, min(start + 8, len(frames)))))
            batch = faces.process(batch)
            if chain == "faces+blend":
                for meta in batch.meta:
                    for f in meta["faces"]:
                        f["translated"] = f["crop"]  # identity model: measures the pipeline, not a network
                batch = blender.process(batch)
        dt = time.perf_counter() - t0
        emit(bench="chain", chain=chain, resolution="1280x720", crop=args.size,
             fps=round(len(frames) / dt, 2), **faces.close(), **host)


if __name__ == "__main__":
    main()
