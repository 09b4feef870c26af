"""Tiny clips, a tiny model and checks shared by the batch tests."""
from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np

from translate.video.ffmpeg import find_ffmpeg
from translate.video.probe import probe
from translate.video.reader import decode_audio_pcm

FF = find_ffmpeg()


def ff(*args: str) -> None:
    subprocess.run([FF, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_clip(path: Path, frames: int = 12, rate: str = "30000/1001", size: str = "64x48", audio: bool = True,
              gop: int = 250, source: str = "testsrc2") -> Path:
    """A lavfi clip of exactly ``frames`` frames (+ an AAC tone), a keyframe every ``gop`` frames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["-f", "lavfi", "-i", f"{source}=size={size}:rate={rate}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100", "-c:a", "aac",
                 "-t", str(float(frames / Fraction(rate)))]
    ff(*args, "-frames:v", str(frames), "-g", str(gop), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))
    return path


def make_vfr(path: Path, gop: int = 4) -> Path:
    """10 frames at 12.5 fps then 10 at 25 fps (average 50/3), a keyframe every ``gop`` frames (as tests/test_video.py)."""
    graph = ("testsrc2=size=64x48:rate=25,trim=end_frame=10,setpts=2*N/25/TB[a];"
             "testsrc2=size=64x48:rate=25,trim=end_frame=10,setpts=N/25/TB[b];[a][b]concat=n=2:v=1:a=0[v]")
    ff("-filter_complex", graph, "-map", "[v]", "-fps_mode", "passthrough", "-g", str(gop), "-c:v", "libx264",
       "-pix_fmt", "yuv420p", str(path))
    return path


def tiny_sr_model(path: Path) -> Path:
    """An x2 SRVGG net with 4 features (fast on any CPU)."""
    from translate.nets import build_generator
    from translate.weights.modelfile import ModelInfo, save_model

    net = build_generator("srvgg", num_feat=4, num_conv=1, upscale=2)
    return save_model(path, {"G": net}, ModelInfo(task="sr", method="srgan", nets={}, directions={"AtoB": ["G"]},
                                                   value_range=[0.0, 1.0], scale=2, name="tiny-sr"))


def records(out_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (out_dir / "jobs.jsonl").read_text().splitlines()]


def partials(out_dir: Path) -> list[Path]:
    return [p for p in out_dir.rglob(".*") if "partial" in p.name or "chunks" in p.name]


def assert_same_video(src: Path, out: Path, scale: int = 2) -> None:
    """Every frame, the exact rate and the very same audio samples; frames ``scale`` x larger."""
    a, b = probe(src, scan=True), probe(out, scan=True)
    assert b.frame_count == a.frame_count and b.fps == a.fps
    assert (b.width, b.height) == (a.width * scale, a.height * scale)
    assert b.has_audio == a.has_audio
    if a.has_audio:
        assert np.array_equal(decode_audio_pcm(src), decode_audio_pcm(out))
