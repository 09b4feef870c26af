"""Issue 12 as a user types it: outputs beside the input without -o, one error line per unreadable named file,
plain progress lines in logs, and the charter's `detect` and `train` lines as they are written."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import translate_cli
from PIL import Image
from test_video_cli import make_clip


@pytest.fixture(scope="module")
def run_model(tmp_path_factory) -> Path:
    """A finished run folder (runs/h2z/model.safetensors) holding a tiny resnet_6blocks: the model's name is h2z."""
    from translate.nets import build_generator
    from translate.weights.modelfile import ModelInfo, save_model

    run = tmp_path_factory.mktemp("runs") / "h2z"
    run.mkdir()
    info = ModelInfo(task="translate", method="cyclegan", nets={}, directions={"AtoB": ["G_A"]}, name="tiny", multiple=4)
    save_model(run / "model.safetensors", {"G_A": build_generator("resnet_6blocks", ngf=4)}, info)
    return run


def photo(path: Path, seed: int = 0, size=(24, 32)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return path


def bomb_png(path: Path, side: int = 40000) -> Path:
    """A PNG whose header claims side x side pixels (a decompression bomb), with almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


def bad_files(folder: Path) -> dict[str, Path]:
    """Each kind of unreadable image the issue names."""
    folder.mkdir(parents=True, exist_ok=True)
    good = photo(folder / "whole.png", 1).read_bytes()
    (folder / "empty.png").write_bytes(b"")
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "notanimage.jpg").write_text("this is text\n" * 20)
    bomb_png(folder / "bomb.png")
    (folder / "whole.png").unlink()
    return {name: folder / name for name in ("empty.png", "truncated.png", "notanimage.jpg", "bomb.png")}


def test_video_without_o_writes_beside_the_input_named_after_the_model(tmp_path, capsys, run_model, one_torch_thread):
    src = make_clip(tmp_path / "in.mp4", frames=3, audio=False, size="32x24")
    code, out, err = translate_cli(capsys, "video", str(src), "--model", str(run_model), "-q", "--device", "cpu")
    assert code == 0, err
    written = tmp_path / "in.h2z.mp4"
    assert written.is_file() and f"wrote {written}" in out
    before = written.read_bytes()
    code, _, err = translate_cli(capsys, "video", str(src), "--model", str(run_model), "-q", "--device", "cpu")
    assert code == 1 and "--overwrite" in err and written.read_bytes() == before  # the default never replaces


def test_apply_without_o_writes_beside_each_input(tmp_path, capsys, run_model, one_torch_thread):
    one = photo(tmp_path / "photo.jpg")
    photo(tmp_path / "photos" / "sub" / "a.png", 2)
    code, out, err = translate_cli(capsys, "apply", str(one), str(tmp_path / "photos"), "--model", str(run_model),
                                   "-q", "--device", "cpu", "--precision", "fp32")
    assert code == 0, err
    assert (tmp_path / "photo.h2z.png").is_file() and (tmp_path / "photos.h2z" / "sub" / "a.png").is_file()
    assert "wrote 2 image(s)" in out and str(tmp_path / "photo.h2z.png") in out and str(tmp_path / "photos.h2z") in out
    code, _, err = translate_cli(capsys, "apply", str(one), "--model", str(run_model), "-q")
    assert code == 1 and "--overwrite" in err


def test_frames_extract_without_o(tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4", frames=3, audio=False, size="32x24")
    code, out, err = translate_cli(capsys, "frames", "extract", str(src), "-q")
    assert code == 0, err
    assert len(list((tmp_path / "in.frames").glob("frame_*.png"))) == 3 and str(tmp_path / "in.frames") in out


def test_apply_one_error_line_per_unreadable_named_file(tmp_path, capsys, run_model, one_torch_thread):
    bad = bad_files(tmp_path / "bad")
    good = photo(tmp_path / "good.png")
    out_dir = tmp_path / "out"
    code, out, err = translate_cli(capsys, "apply", str(good), *map(str, bad.values()), "--model", str(run_model),
                                   "-o", str(out_dir), "-q", "--device", "cpu")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == len(bad) and all(line.startswith("error: ") for line in lines), err
    for name, line in zip(bad, lines):
        assert name in line
    assert "Traceback" not in err and "wrote 1 image(s)" in out
    assert sorted(p.name for p in out_dir.iterdir()) == ["good.png"]  # no output of their own
    # inside a folder: skipped and counted, exit 0 while something was written
    photo(tmp_path / "bad" / "fine.png", 3)
    code, out, err = translate_cli(capsys, "apply", str(tmp_path / "bad"), "--model", str(run_model),
                                   "-o", str(tmp_path / "out2"), "-q")
    assert code == 0 and "wrote 1 image(s)" in out and f"({len(bad)} unreadable skipped)" in out, err
    (tmp_path / "bad" / "fine.png").unlink()
    code, out, err = translate_cli(capsys, "apply", str(tmp_path / "bad"), "--model", str(run_model),
                                   "-o", str(tmp_path / "out3"), "-q")
    assert code == 1 and out == "" and err.strip().splitlines()[-1].startswith("error: nothing was written")


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detect"))
    from test_scorer import tiny_detector

    return tiny_detector(tmp_path_factory.mktemp("det") / "det.safetensors")


def test_detect_one_error_line_per_unreadable_named_file(tmp_path, capsys, detector, one_torch_thread):
    bad = bad_files(tmp_path / "bad")
    good = photo(tmp_path / "good.png")
    code, out, err = translate_cli(capsys, "detect", str(good), *map(str, bad.values()), "--model", str(detector), "-q")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == len(bad) and all(line.startswith("error: ") for line in lines), err
    assert "good.png" in out and not any(name in out for name in bad)
    code, out, err = translate_cli(capsys, "detect", str(bad["bomb.png"]), "--model", str(detector), "-q")
    assert code == 1 and out == "" and err.startswith("error: ") and "bomb.png" in err and len(err.splitlines()) == 1


def test_detect_progress_in_a_log_is_a_few_plain_lines(tmp_path, capsys, detector, one_torch_thread):
    for i in range(40):
        photo(tmp_path / "many" / f"p{i:03d}.png", i, size=(16, 16))
    code, out, err = translate_cli(capsys, "detect", str(tmp_path / "many"), "--model", str(detector))  # no -q
    assert code == 0 and len(out.splitlines()) == 41
    assert "\r" not in err
    progress = [line for line in err.splitlines() if line.startswith("detect:")]
    assert 1 <= len(progress) <= 6 and progress[-1].startswith("detect: 40/40"), err


def test_detect_clip_as_typed(tmp_path, capsys, monkeypatch, one_torch_thread):
    """`translate detect clip.mp4`: the bundled detector, no other option."""
    make_clip(tmp_path / "clip.mp4", frames=4, audio=False, size="64x48")
    monkeypatch.chdir(tmp_path)
    code, out, err = translate_cli(capsys, "detect", "clip.mp4")
    assert code == 0, err
    assert out.splitlines()[0].split()[:3] == ["file", "score", "verdict"] and out.splitlines()[1].startswith("clip.mp4")


def test_train_cyclegan_as_typed(tmp_path, capsys, monkeypatch):
    """`translate train cyclegan --a horses --b zebras` parses into the reference's run; -q turns the bar off."""
    import translate.training

    for name in ("horses", "zebras"):
        photo(tmp_path / name / "x.png")
    started = []
    monkeypatch.setattr(translate.training, "start_run",
                        lambda spec, resume, explicit, progress=True: started.append((spec, progress)) or 0)
    monkeypatch.chdir(tmp_path)
    code, _, err = translate_cli(capsys, "train", "cyclegan", "--a", "horses", "--b", "zebras")
    assert code == 0, err
    spec, progress = started[-1]
    assert (spec.loop.name, spec.loop.out, spec.data.a, spec.data.b) == ("cyclegan-horses-zebras", "runs", "horses", "zebras")
    assert (spec.model.netG, spec.loop.epochs, spec.loop.decay_epochs, spec.data.size) == ("resnet_9blocks", 100, 100, 256)
    assert progress is True
    code, _, err = translate_cli(capsys, "train", "cyclegan", "--a", "horses", "--b", "zebras", "-q")
    assert code == 0 and started[-1][1] is False


@pytest.mark.parametrize("command", [
    ["train", "cyclegan"], ["train", "pix2pix"], ["train", "srgan"], ["train", "discogan"], ["train", "faceswap"],
    ["train", "detector"], ["apply"], ["video"], ["frames", "extract"], ["frames", "encode"], ["chain"], ["run"],
    ["detect"], ["faces", "extract"], ["eval", "detector"], ["weights", "fetch"]])
def test_every_command_with_a_progress_bar_takes_quiet(capsys, command):
    code, out, _ = translate_cli(capsys, *command, "--help")
    assert code == 0 and "-q, --quiet" in out
