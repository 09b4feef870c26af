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
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from translate.device import cpu_name
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


SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
COMBOS = [("dlib", "dlib"), ("retinaface", "dlib"), ("retinaface", "fan"), ("sfd", "fan"), ("sfd", "dlib"),
          ("dlib", "fan")]


def _iou(a, b) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def bench_300w(det, detector: str, landmarks: str, host: dict) -> dict[str, dict]:
    """Faces found (IoU >= 0.5 with the box of the annotated landmarks) and their NME (outer eye corners) per set.

    AFW's _1/_2/_3 files are faces of one photo: each file is one annotated face, found when any detection matches."""
    per_face = {}
    for folder in sorted(SHARED.glob("faces/300w_*")):
        found, errors = 0, []
        files = sorted(folder.glob("*.pts"))
        for pts_file in files:
            image = next(p for p in (pts_file.with_suffix(e) for e in (".jpg", ".png")) if p.exists())
            rgb = cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2RGB)
            truth = np.loadtxt(pts_file)[:68] - 1.0  # .pts is 1-based
            gt_box = (*truth.min(0), *truth.max(0))
            faces = det.detect(rgb)
            best = max(faces, key=lambda f: _iou(f.box, gt_box), default=None)
            hit = best is not None and _iou(best.box, gt_box) >= 0.5
            if hit:  # landmarks re-fitted in a box of the landmark model's own kind: the tracker's refine path
                found += 1
                nme = float(np.linalg.norm(best.landmarks - truth, axis=1).mean() /
                            np.linalg.norm(truth[36] - truth[45]))
                errors.append(nme)
                per_face[str(pts_file)] = nme
        emit(bench="faces_300w", set=folder.name, detector=detector, landmarks=landmarks, faces=len(files),
             found=found, nme=round(float(np.mean(errors)), 4) if errors else None, **host)
    return per_face


def bench_face_videos(det, detector: str, landmarks: str, host: dict, seconds: float = 10.0) -> None:
    from translate.video.reader import FrameReader

    total, with_face = 0, 0
    for clip in sorted(SHARED.glob("video/liveportrait_*.mp4")):
        reader = FrameReader(clip, end=seconds)
        tracker = FaceTracker(det, redetect_every=8)
        try:
            for batch in reader:
                for frame in batch.frames:
                    total += 1
                    with_face += bool(tracker(frame))
        finally:
            reader.close()
    emit(bench="face_videos", detector=detector, landmarks=landmarks, frames=total, frames_with_face=with_face,
         share=round(with_face / max(total, 1), 4), seconds_per_clip=seconds, **host)


def bench_real(host: dict, combos=COMBOS) -> None:
    """Detectors x landmark models on ../shared/data (300-W faces, face videos) and at 720p."""
    frames = frames_720p(16)
    nme_by = {}
    for detector, landmarks in combos:
        try:
            det = make_detector(landmarks, detector=detector)
        except UserError as e:
            emit(bench="faces_real", detector=detector, landmarks=landmarks, skipped=str(e))
            continue
        nme_by[(detector, landmarks)] = bench_300w(det, detector, landmarks, host)
        bench_face_videos(det, detector, landmarks, host)
        det.detect(frames[0])
        t0 = time.perf_counter()
        for f in frames:
            det.detect(f)
        detect_ms = (time.perf_counter() - t0) * 1000 / len(frames)
        tracker = FaceTracker(det, redetect_every=8)
        t0 = time.perf_counter()
        for f in frames:
            tracker(f)
        emit(bench="faces_720p", detector=detector, landmarks=landmarks, detect_every_frame_ms=round(detect_ms, 1),
             tracked_ms=round((time.perf_counter() - t0) * 1000 / len(frames), 1), **host)
    base = nme_by.get(("dlib", "dlib"))
    for combo, errors in nme_by.items():
        common = sorted(set(errors) & set(base or {}))
        if base is not None and combo != ("dlib", "dlib") and common:
            emit(bench="nme_on_common_faces", detector=combo[0], landmarks=combo[1], faces=len(common),
                 nme=round(float(np.mean([errors[k] for k in common])), 4),
                 dlib_nme=round(float(np.mean([base[k] for k in common])), 4), **host)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", action="store_true",
                    help="only the real-data figures: 300-W faces found and NME, face-video frames, 720p ms/frame")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--model", help="face model for bench=video_faces (default: untrained original faceswap)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--skip-landmarks", action="store_true", help="only bench=video_faces")
    args = ap.parse_args()
    frames = frames_720p(args.frames)
    host = {"cpu": cpu_name(), "threads": cv2.getNumThreads()}
    if args.real:
        bench_real(host)
        return
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
