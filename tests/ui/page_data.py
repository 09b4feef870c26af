"""Data for the page's tests: a short clip with audio, a photo, bad uploads and a tiny x2 upscaler of our own."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

CLIP_FRAMES = 10


def make_clip(path: Path, frames: int = CLIP_FRAMES) -> Path:
    from translate.video.ffmpeg import find_ffmpeg

    subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100", "-c:a", "aac", "-t", str(frames / 25),
                    "-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def make_tiny_sr(path: Path) -> Path:
    """An x2 SRVGG with 4 features: independent of the bundled model's name and weights."""
    import torch

    from translate.nets import build_generator
    from translate.weights.modelfile import ModelInfo, save_model

    torch.manual_seed(0)
    net = build_generator("srvgg", num_feat=4, num_conv=1, upscale=2)
    return save_model(path, {"G": net}, ModelInfo(task="sr", method="srgan", nets={}, directions={"AtoB": ["G"]},
                                                  value_range=[0.0, 1.0], scale=2, name="tiny-sr"))


@pytest.fixture(scope="session")
def ui_data(tmp_path_factory) -> dict[str, Path]:
    import skimage.data
    from PIL import Image

    d = tmp_path_factory.mktemp("ui-data")
    (d / "weights").mkdir()
    clip = make_clip(d / "clip.mp4")
    (d / "text.mp4").write_text("not a video, just text renamed .mp4\n")
    (d / "truncated.mp4").write_bytes(clip.read_bytes()[:3000])
    (d / "empty.png").write_bytes(b"")
    Image.fromarray(np.ascontiguousarray(skimage.data.chelsea()[::4, ::4])).save(d / "cat.png")
    return {"dir": d, "clip": clip, "text": d / "text.mp4", "truncated": d / "truncated.mp4", "empty": d / "empty.png",
            "photo": d / "cat.png", "model": make_tiny_sr(d / "weights" / "tiny-sr.safetensors")}
