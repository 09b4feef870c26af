"""Detector speed: JSON lines, one per (model, mode).

- bench=crops: crops/s of the model alone (224 px crops, batch --batch-size);
- bench=video: `translate detect` on a --seconds long 720p clip made here (the astronaut photo panned
  inside a 1280x720 frame, 30 fps, h264), whole frames and with --faces, with the default sampling (16 frames
  spread over the clip) unless --every is given; wall seconds of the whole command (model load, decode,
  faces, scoring) and scored frames/s.

    .venv/bin/python scripts/bench/detect.py [--models detector,detector-tiny] [--seconds 10] [--skip-faces]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from translate.detect.scorer import Scorer
from translate.device import cpu_name
from translate.video.frames import StreamInfo
from translate.video.writer import FrameWriter


def emit(**row) -> None:
    print(json.dumps(row), flush=True)


def make_clip(path: Path, seconds: float, fps: int = 30) -> None:
    photo = skimage.data.astronaut()
    n = int(seconds * fps)
    writer = FrameWriter(path, crf=20, overwrite=True)
    writer.open(StreamInfo(width=1280, height=720, fps=Fraction(fps), frame_count=n))
    for t in range(n):
        z = 1.6 - 0.002 * t
        c = np.array([220.0 + 0.3 * t, 150.0 + 0.2 * t])
        a = np.array([[z, 0, 640 - z * c[0]], [0, z, 360 - z * c[1]]])
        writer.write(cv2.warpAffine(photo, a, (1280, 720), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)[None])
    writer.close()


def bench_crops(model: str, batch: int, n: int) -> None:
    scorer = Scorer(model, device="cpu", batch_size=batch)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(n)]
    scorer.score_regions(crops[:batch])
    t = time.perf_counter()
    scorer.score_regions(crops)
    dt = time.perf_counter() - t
    emit(bench="crops", model=model, backbone=scorer.description()["backbone"], crops=n,
         crops_per_s=round(n / dt, 2), cpu=cpu_name())


def bench_video(model: str, clip: Path, seconds: float, faces: bool, every: int | None) -> None:
    cmd = [sys.executable, "-m", "translate", "detect", str(clip), "-m", model, "-q", "--json", str(clip.with_suffix(".json"))]
    cmd += ["--faces"] if faces else []
    cmd += ["--every", str(every)] if every else []
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if done.returncode not in (0, 3):
        emit(bench="video", model=model, faces=faces, error=done.stderr.strip().splitlines()[-1:])
        return
    report = json.loads(clip.with_suffix(".json").read_text())
    file = report["files"][0]
    scored = file["frames"]["scored"]
    emit(bench="video", model=model, faces=faces, clip=f"{seconds:g} s 1280x720 30 fps", wall_s=round(dt, 1),
         scored_frames=scored, scored_fps=round(scored / dt, 2), verdict=file.get("verdict"),
         sampling=f"every {every}" if every else "default (16 frames)", cpu=cpu_name())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="detector,detector-tiny")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--every", type=int, default=None, help="Score every N-th frame instead of the default sampling.")
    ap.add_argument("--crops", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--skip-faces", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip720p.mp4"
        make_clip(clip, args.seconds)
        for model in args.models.split(","):
            bench_crops(model, args.batch_size, args.crops)
            bench_video(model, clip, args.seconds, False, args.every)
            if not args.skip_faces:
                bench_video(model, clip, args.seconds, True, args.every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
