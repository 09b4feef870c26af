"""`translate batch` throughput: JSON lines, one per engine setting, next to a loop of `translate video`.

Workload: the first SECONDS (3) of each clip in ../shared/data/video, scaled to 256 px wide (audio kept),
through the bundled tiny upscaler (manifest name srgan-tiny; older trees call it srgan). Settings: a loop of
`translate video` over the files (one process per file, no shell), `translate batch` local with 1 and 2
workers, and on a local Ray cluster started by the command with 1 and 2 CPUs. Every figure is the whole
command's wall time (start-up included), so the figures compare what a user waits for.

    .venv/bin/python scripts/bench/batch.py [--seconds 3] [--width 256] [--clips N] [--device cpu]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("TRANSLATE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "video"


def model_name() -> str:
    from translate.weights import manifest

    return "srgan-tiny" if manifest.find("srgan-tiny") is not None else "srgan"


def prepare(clips: list[Path], folder: Path, seconds: float, width: int) -> tuple[list[Path], int]:
    """The workload clips and their total frame count."""
    from translate.video.ffmpeg import find_ffmpeg
    from translate.video.probe import probe

    folder.mkdir(parents=True)
    out, frames = [], 0
    for clip in clips:
        dst = folder / f"{clip.stem}.mp4"
        subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip), "-t", str(seconds),
                        "-vf", f"scale={width}:-2", "-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "aac",
                        str(dst)], check=True)
        out.append(dst)
        frames += probe(dst, scan=True).frame_count
    return out, frames


def translate(*args: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "translate", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"translate {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--clips", type=int, default=0, help="Only the first N clips (0 = all).")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--settings", default="loop,local1,local2,ray1,ray2")
    args = ap.parse_args()
    clips = sorted(DATA.glob("*.mp4"))[: args.clips or None]
    if not clips:
        raise SystemExit(f"no clips in {DATA}")
    model = model_name()
    common = ["--model", model, "--device", args.device, "-q"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files, frames = prepare(clips, tmp / "clips", args.seconds, args.width)
        base = {"bench": "batch", "model": model, "clips": len(files), "frames": frames, "seconds_per_clip": args.seconds,
                "width": args.width, "device": args.device, "cpus": os.cpu_count()}
        for setting in args.settings.split(","):
            out = tmp / f"out-{setting}"
            if setting == "loop":
                out.mkdir()
                workers = "1"
                wall = sum(translate("video", str(f), "-o", str(out / f.name), *common) for f in files)
            else:
                workers = setting[-1]
                extra = ["--ray", "auto"] if setting.startswith("ray") else []
                wall = translate("batch", str(tmp / "clips"), "-o", str(out), "--workers", workers, *extra, *common)
            print(json.dumps({**base, "setting": setting, "workers": int(workers), "wall_s": round(wall, 2),
                              "frames_per_s": round(frames / wall, 2)}), flush=True)


if __name__ == "__main__":
    main()
