"""Ctrl-C (issue 19 point 3), sent as a terminal does (SIGINT to the command's process group) mid-run:
`translate video` leaves no partial output and no ffmpeg; `faces extract` leaves whole crops and an
alignments file that parses and lists exactly them."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from conftest import sigint_as_in_a_terminal

import translate.weights
from translate.faces.extract import read_alignments
from translate.video.ffmpeg import find_ffmpeg

FF = find_ffmpeg()
BUNDLED_SR = Path(translate.weights.__file__).with_name("srgan-x4.safetensors")  # offline, 0.46 MB


def start(*args: str) -> subprocess.Popen:
    """`python -m translate ARGS` in a process group of its own, like a job started from a shell."""
    return subprocess.Popen([sys.executable, "-m", "translate", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, process_group=0, preexec_fn=sigint_as_in_a_terminal)


def ctrl_c_when(proc: subprocess.Popen, ready, timeout: float = 120) -> tuple[str, str]:
    """Wait until ``ready()`` (the run is under way), then press Ctrl-C; returns (stdout, stderr)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"finished before the interrupt: {proc.communicate()}"
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    return proc.communicate(timeout=120)


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline and entry.name != str(os.getpid()):
            found.append(cmdline)
    return found


def test_ctrl_c_during_video_leaves_no_partial_output_and_no_ffmpeg(tmp_path):
    src = tmp_path / "in.mp4"
    subprocess.run([FF, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25",
                    "-frames:v", "1500", "-c:v", "libx264", "-preset", "ultrafast", str(src)], check=True)
    out = tmp_path / "out.mp4"
    proc = start("video", str(src), "--model", str(BUNDLED_SR), "-o", str(out), "--quiet", "--device", "cpu",
                 "--batch-size", "2")
    _, err = ctrl_c_when(proc, lambda: any(p.name.startswith(".out.partial-") and p.stat().st_size
                                           for p in tmp_path.iterdir()))
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] in ("aborted", "interrupted"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
    assert processes_mentioning(str(tmp_path)) == []


def test_ctrl_c_during_faces_extract_keeps_whole_crops_and_a_parsable_alignments_file(tmp_path):
    photo = skimage.data.astronaut()[40:280, 60:380]  # 320x240 around the face
    frames = np.repeat(photo[None], 150, axis=0)
    src = tmp_path / "face.mp4"
    subprocess.run([FF, "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "320x240",
                    "-r", "25", "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(src)],
                   input=frames.tobytes(), check=True)
    out = tmp_path / "faces"
    proc = start("faces", "extract", str(src), "-o", str(out), "--landmarks", "dlib", "--size", "64", "--quiet")
    _, err = ctrl_c_when(proc, lambda: out.is_dir() and any(out.glob("*.png")))
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    data = read_alignments(out / "alignments.json")
    assert data["summary"]["interrupted"] is True
    listed = {face["file"] for frame in data["frames"] for face in frame["faces"]}
    crops = {p.name for p in out.glob("*.png")}
    assert listed == crops and 0 < len(crops) < len(frames)
    assert [p.name for p in out.iterdir() if p.suffix != ".png"] == ["alignments.json"]
    for name in crops:
        crop = cv2.imread(str(out / name))
        assert crop is not None and crop.shape == (64, 64, 3), name
    assert processes_mentioning(str(tmp_path)) == []
