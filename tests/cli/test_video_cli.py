"""`translate video`, `frames`, `chain`, `run` end to end with a tiny real model (resnet_6blocks, ngf=4)."""
from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import translate_cli

from translate.video.ffmpeg import find_ffmpeg
from translate.video.probe import probe
from translate.video.reader import decode_audio_pcm

FF = find_ffmpeg()


def make_clip(path: Path, frames=12, rate="30000/1001", audio=True, size="64x48") -> Path:
    args = [FF, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100", "-c:a", "aac", "-t", str(float(frames / Fraction(rate)))]
    args += ["-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(args, check=True)
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from translate.nets import build_generator
    from translate.weights.modelfile import ModelInfo, save_model

    net = build_generator("resnet_6blocks", ngf=4)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    info = ModelInfo(task="translate", method="cyclegan", nets={}, directions={"AtoB": ["G_A"]}, name="tiny",
                     multiple=getattr(net, "multiple", 4))
    return save_model(path, {"G_A": net}, info)


def check_output(src: Path, out: Path, sha: str | None = None) -> None:
    a, b = probe(src, scan=True), probe(out, scan=True)
    assert b.frame_count == a.frame_count and b.fps == a.fps
    assert abs(b.duration - a.duration) <= 1 / float(a.fps)
    assert b.has_audio == a.has_audio
    if a.has_audio:
        assert np.array_equal(decode_audio_pcm(src), decode_audio_pcm(out))
    if sha:
        assert b.tags.get("translate_model") == "tiny" and b.tags.get("translate_model_sha256") == sha


def test_video_command(tmp_path, capsys, tiny_model):
    from translate.weights.digest import file_sha256

    src = make_clip(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    code, stdout, err = translate_cli(capsys, "video", str(src), "--model", str(tiny_model), "-o", str(out), "--device", "cpu",
                                      "--batch-size", "3", "--quiet")
    assert code == 0, err
    assert "wrote" in stdout and "12 frames" in stdout and "30000/1001 fps" in stdout and "copied (aac)" in stdout
    check_output(src, out, file_sha256(tiny_model))
    assert str(tiny_model.parent) not in str(probe(out).tags)


def test_video_tiled_matches_frame_count(tmp_path, capsys, tiny_model):
    src = make_clip(tmp_path / "in.mp4", frames=2, audio=False, size="96x64")
    out = tmp_path / "out.mkv"
    code, _, err = translate_cli(capsys, "video", str(src), "-m", str(tiny_model), "-o", str(out), "--device", "cpu",
                                 "--tile", "48", "--tile-pad", "8", "--codec", "ffv1", "-q")
    assert code == 0, err
    check_output(src, out)


def test_chain_command(tmp_path, capsys, tiny_model):
    src = make_clip(tmp_path / "in.mp4", frames=8)
    out = tmp_path / "out.mp4"
    code, stdout, err = translate_cli(capsys, "chain", "-q", "read", str(src), "translate", "--model", str(tiny_model),
                                      "--device", "cpu", "write", str(out))
    assert code == 0, err
    check_output(src, out)


def test_run_command(tmp_path, capsys, tiny_model):
    src = make_clip(tmp_path / "in.mp4", frames=8, rate="25")
    out = tmp_path / "out.mp4"
    code, stdout, err = translate_cli(capsys, "run", "upscale", str(src), "-o", str(out), "-q",
                                      "--set", f"translate.model={tiny_model}", "--set", "translate.device=cpu",
                                      "--set", "write.crf=23")
    assert code == 0, err
    check_output(src, out)


@pytest.mark.parametrize("kind", ["zero", "text", "truncated"])
def test_bad_input_is_one_error_line_and_no_output(tmp_path, capsys, tiny_model, kind):
    bad = tmp_path / "bad.mp4"
    if kind == "zero":
        bad.write_bytes(b"")
    elif kind == "text":
        bad.write_text("not a video\n" * 50)
    else:
        full = make_clip(tmp_path / "full.mp4", frames=20)
        bad.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    out = tmp_path / "out" / "out.mp4"
    code, stdout, err = translate_cli(capsys, "video", str(bad), "--model", str(tiny_model), "-o", str(out), "-q")
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad.mp4" in lines[0], err
    assert "Traceback" not in err
    assert not out.exists() and not (out.parent.exists() and list(out.parent.iterdir()))


def test_output_equal_input_and_existing_output(tmp_path, capsys, tiny_model):
    src = make_clip(tmp_path / "in.mp4", frames=3, audio=False)
    before = src.read_bytes()
    code, _, err = translate_cli(capsys, "video", str(src), "-m", str(tiny_model), "-o", str(src), "--overwrite", "-q")
    assert code == 1 and "is the input" in err and src.read_bytes() == before
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    code, _, err = translate_cli(capsys, "video", str(src), "-m", str(tiny_model), "-o", str(out), "-q")
    assert code == 1 and "--overwrite" in err and out.read_bytes() == b"precious"


def test_frames_extract_and_encode_commands(tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4", frames=6)
    code, stdout, err = translate_cli(capsys, "frames", "extract", str(src), "-o", str(tmp_path / "frames"), "-q")
    assert code == 0, err and "wrote 6 frame(s)" in stdout
    out = tmp_path / "back.mp4"
    code, stdout, err = translate_cli(capsys, "frames", "encode", str(tmp_path / "frames"), "-o", str(out),
                                      "--fps", "30000/1001", "--audio-from", str(src), "-q")
    assert code == 0, err
    check_output(src, out)
    code, _, err = translate_cli(capsys, "frames", "encode", str(tmp_path / "frames"), "-o", str(tmp_path / "x.mp4"),
                                 "--fps", "fast", "-q")
    assert code == 1 and "frame rate" in err


@pytest.mark.parametrize("command", [["video"], ["frames", "extract"], ["frames", "encode"], ["chain"], ["run"]])
def test_help_has_an_example(capsys, command):
    code, stdout, _ = translate_cli(capsys, *command, "--help")
    assert code == 0 and "Example" in stdout and "translate " in stdout
