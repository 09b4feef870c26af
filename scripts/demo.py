"""`make demo`: the headline job on an embedded default.

Makes a 2-second clip with audio from a photo that ships inside scikit-image (windows panned across it and
down-scaled by area, never up-scaled, so the source carries no up-sampling trace), upscales it x4 with the
paper-grade `srgan` model (SRGAN x4 trained on DIV2K; `make setup` fetched it, else it is fetched on first use)
through `translate video`, then asks the bundled detector about both files.
"""
from __future__ import annotations

import subprocess
import sys
import time
import wave
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from translate.video.frames import StreamInfo
from translate.video.writer import FrameWriter

OUT = Path("demo-output")
FPS = 24
FRAMES = 48
WINDOW = (240, 160)  # (w, h) taken from the photo, then halved by area averaging -> 120x80 frames


def make_tone(path: Path, seconds: float, rate: int = 44100) -> None:
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * np.minimum(1, 4 * (seconds - t))).astype(np.float32)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((tone * 32767).astype(np.int16).tobytes())


def make_clip(path: Path, n_frames: int = FRAMES) -> None:
    photo = data.chelsea()  # 300 x 451 RGB; not in DIV2K, nor in the bundled srgan-tiny's training photos
    h, w = photo.shape[:2]
    ww, wh = WINDOW
    frames = []
    for i in range(n_frames):
        x = int(round((w - ww) * i / (FRAMES - 1)))
        y = int(round((h - wh) * (0.5 + 0.4 * np.sin(2 * np.pi * i / FRAMES))))
        crop = photo[y:y + wh, x:x + ww]
        frames.append(cv2.resize(crop, (ww // 2, wh // 2), interpolation=cv2.INTER_AREA))
    tone = path.with_suffix(".wav")
    make_tone(tone, n_frames / FPS)
    writer = FrameWriter(path, crf=16, preset="medium", audio_from=tone, overwrite=True)
    writer.open(StreamInfo(width=ww // 2, height=wh // 2, fps=Fraction(FPS), frame_count=n_frames))
    writer.write(np.stack(frames))
    writer.close()
    tone.unlink()


def translate(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "translate", *args]
    print("$ translate " + " ".join(args), flush=True)
    return subprocess.run(cmd, text=True)


def main() -> int:
    OUT.mkdir(exist_ok=True)
    clip, upscaled = OUT / "clip.mp4", OUT / "clip_x4.mp4"
    make_clip(clip)
    print(f"input:  {clip} ({WINDOW[0] // 2}x{WINDOW[1] // 2}, {FRAMES} frames at {FPS} fps, with audio)")
    t0 = time.time()
    r = translate("video", str(clip), "--model", "srgan", "-o", str(upscaled), "--overwrite")
    if r.returncode:
        return r.returncode
    print(f"output: {upscaled} (x4, audio kept) in {time.time() - t0:.1f} s")
    from translate.weights.manifest import find, locate

    entry = find("detector")
    if entry is not None and locate(entry) is not None:
        r = translate("detect", str(clip), str(upscaled), "--json", str(OUT / "detect.json"))
        if r.returncode not in (0, 3):
            return r.returncode
        print(f"detector report: {OUT / 'detect.json'}")
    print(f"\ndone: open {upscaled.resolve()} (and {clip.resolve()} to compare)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
