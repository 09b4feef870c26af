"""Face pipeline benchmark: JSON lines.

- landmarks ms/frame per available backend at 720p (detect on every frame, and tracked: refit only);
- end-to-end fps of the faces stage chain (FacesStage -> identity "translation" -> BlendStage) at 720p,
  against the faces stage alone;
- end-to-end fps of `translate video --faces` (decode, faces, model, blend, encode; the same chain the CLI
  builds) against the model alone on the same aligned crops (bench=video_faces). The model is --model, or an
  untrained face-swap autoencoder of the original size (width 64, 64 px crops): speed does not depend on
  training.
Frames: the astronaut photo panned and zoomed inside a 1280x720 frame.

    .venv/bin/python scripts/bench/faces.py [--frames 30] [--size 256] [--model M] [--device auto] [--skip-landmarks]
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from translate.errors import UserError
from translate.faces.landmarks import make_detector
from translate.faces.stages import BlendStage, FacesStage
from translate.faces.track import FaceTracker
from translate.video.frames import FrameBatch, StreamInfo


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


def write_clip(path: Path, frames: np.ndarray, rate: int = 25) -> Path:
    from translate.video.ffmpeg import find_ffmpeg

    n, h, w, _ = frames.shape
    subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", f"{w}x{h}", "-r", str(rate), "-i", "-", "-c:v", "libx264", "-crf", "14", "-pix_fmt", "yuv420p",
                    str(path)], input=np.ascontiguousarray(frames).tobytes(), check=True)
    return path


def default_face_model(path: Path) -> Path:
    """The original 2017 autoencoder (width 64, 64 px crops), untrained, exported as `train faceswap` does."""
    import torch

    from translate.methods.faceswap import FaceSwap, FaceSwapConfig
    from translate.weights.modelfile import save_model

    nets, info = FaceSwap(FaceSwapConfig(size=64, width=64, centering="face"), torch.device("cpu")).export()
    info.name = "faceswap-original-untrained"
    return save_model(path, nets, info)


def bench_video_faces(frames: np.ndarray, model: str | None, device: str, batch: int, host: dict) -> None:
    """`translate video --faces` end to end vs the model alone on the crops that run produced."""
    import torch

    from translate.cli.video import video_chain
    from translate.video.runner import build_runner

    with tempfile.TemporaryDirectory() as tmp:
        src = write_clip(Path(tmp) / "in.mp4", frames)
        model = model or str(default_face_model(Path(tmp) / "faceswap.safetensors"))
        opts = dict(input=str(src), model=model, output=str(Path(tmp) / "out.mp4"), direction=None, batch_size=batch,
                    tile=0, tile_pad=10, precision="auto", device=device, start=None, end=None, codec="h264", crf=18,
                    preset="medium", no_audio=False, overwrite=True, faces=True, face_index=None, alignments=None,
                    landmarks="auto", mask="components", colour="mean", seamless=False, face_size=None, centering=None)
        runner = build_runner(video_chain(opts), progress=False)
        translate = next(s for s in runner.stages if s.name == "translate")
        crops: list[np.ndarray] = []
        original_run = translate._run

        def keep_crops(batch_frames, fb):  # record the crops the model sees (no copy cost worth measuring)
            crops.append(batch_frames)
            return original_run(batch_frames, fb)

        translate._run = keep_crops
        t0 = time.perf_counter()
        summary = runner.run()
        wall = time.perf_counter() - t0
        translator = translate.translator
        all_crops = np.concatenate(crops) if crops else np.empty((0, 64, 64, 3), np.uint8)
        translator(all_crops[:batch])  # warm up
        if translator.device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for i in range(0, len(all_crops), batch):
            translator(all_crops[i:i + batch])
        if translator.device.type == "cuda":
            torch.cuda.synchronize()
        alone = time.perf_counter() - t0
        stages = {k: v.get("seconds") for k, v in summary["stages"].items()}
        emit(bench="video_faces", resolution=f"{frames.shape[2]}x{frames.shape[1]}", frames=len(frames),
             crops=len(all_crops), crop=translate.translator.info.extra.get("crop_size", "?"),
             model=translator.model_name, device=str(translator.device),
             video_faces_fps=round(len(frames) / wall, 2),
             model_alone_crops_per_s=round(len(all_crops) / alone, 2) if alone else None,
             stage_seconds=stages, landmarks=summary["stages"]["faces"]["landmarks"], **host)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--model", help="face model for bench=video_faces (default: untrained original faceswap)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--skip-landmarks", action="store_true", help="only bench=video_faces")
    args = ap.parse_args()
    frames = frames_720p(args.frames)
    host = {"cpu": platform.processor() or platform.machine(), "threads": cv2.getNumThreads()}
    if args.skip_landmarks:
        bench_video_faces(frames, args.model, args.device, args.batch_size, host)
        return
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
    bench_video_faces(frames, args.model, args.device, args.batch_size, host)


if __name__ == "__main__":
    main()
