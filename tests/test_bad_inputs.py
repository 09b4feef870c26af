"""Bad input never gives a traceback (issue 19 point 2): a corpus of broken files, paths and options across the
commands. Each case exits non-zero with one `error:` line that names the problem, prints no traceback and leaves
nothing behind. Inputs that merely look unusual (CMYK, 16-bit) must work. The data is made here; the commands
run in this process (translate_cli) except where a case needs another user."""
from __future__ import annotations

import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import translate_cli
from PIL import Image

import translate.weights
from translate.video.ffmpeg import find_ffmpeg

FF = find_ffmpeg()
BUNDLED_SR = Path(translate.weights.__file__).with_name("srgan-x4.safetensors")  # offline, 0.46 MB
BUNDLED_DETECTOR = Path(translate.weights.__file__).with_name("detector-tiny.safetensors")  # in the wheel: no fetch


def ff(*args: str) -> None:
    subprocess.run([FF, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header says width x height (a decompression bomb: tiny file, huge image)."""
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = 8 + 8  # signature, then length + "IHDR"
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4:ihdr + 13])))
    return bytes(data)


class RunsCode:
    """Unpickling this would create MARKER (the test asserts it is never created)."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


def make_data(root: Path) -> Path:
    rng = np.random.default_rng(0)
    photo = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
    # images
    (root / "empty.png").write_bytes(b"")
    Image.fromarray(photo).save(root / "good.png")
    (root / "truncated.png").write_bytes((root / "good.png").read_bytes()[:60])
    (root / "notimage.png").write_text("not an image\n" * 10)
    (root / "bomb.png").write_bytes(png_claiming(40000, 40000))
    Image.fromarray(photo).convert("CMYK").save(root / "cmyk.jpg")
    Image.fromarray((photo[..., 0].astype(np.uint16) * 257)).save(root / "gray16.png")
    for name in ("empty", "truncated", "notimage", "bomb"):  # single-image folders for train/eval
        (root / f"dir_{name}").mkdir()
        (root / f"dir_{name}" / f"{name}.png").write_bytes((root / f"{name}.png").read_bytes())
    (root / "emptydir").mkdir()
    (root / "tiny").mkdir()
    for i in range(2):
        Image.fromarray(photo[:8, :8]).save(root / "tiny" / f"t{i}.png")
    (root / "photos").mkdir()
    for i in range(2):
        Image.fromarray(np.roll(photo, i, axis=0)).save(root / "photos" / f"p{i}.png")
    # videos
    ff("-f", "lavfi", "-i", "testsrc2=size=32x24:rate=25", "-frames:v", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p",
       str(root / "in.mp4"))
    ff("-f", "lavfi", "-i", "testsrc2=size=32x24:rate=25", "-frames:v", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p",
       "-movflags", "+faststart", str(root / "fast.mp4"))
    (root / "zero.mp4").write_bytes(b"")
    (root / "text.mp4").write_text("this is not a video\n" * 20)
    full = (root / "in.mp4").read_bytes()
    (root / "cut.mp4").write_bytes(full[: len(full) // 2])
    fast = (root / "fast.mp4").read_bytes()
    (root / "header_only.mp4").write_bytes(fast[: fast.index(b"mdat") + 4])  # ftyp + moov, no frame data
    ff("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-t", "0.3", "-c:a", "aac", str(root / "audio_only.mp4"))
    (root / "x.mp4").mkdir()
    ff("-f", "lavfi", "-i", "testsrc2=size=32x24:rate=25", "-frames:v", "3", "-c:v", "libx264", str(root / "h264.mkv"))
    mkv = (root / "h264.mkv").read_bytes()
    (root / "unknown_codec.mkv").write_bytes(mkv.replace(b"V_MPEG4/ISO/AVC", b"V_NOSUCH/CODEC!"))
    # model files
    (root / "huge_header.safetensors").write_bytes(struct.pack("<Q", 2 ** 40) + b"{}")
    from safetensors.torch import save_file
    import torch

    save_file({"weight": torch.zeros(4, 4)}, str(root / "foreign.safetensors"))
    with zipfile.ZipFile(root / "random.pth", "w") as z:
        z.writestr("archive/data.pkl", rng.bytes(256))
    RunsCode.marker = str(root / "PWNED")
    (root / "evil.pth").write_bytes(pickle.dumps(RunsCode()))
    # output paths and pipelines
    (root / "file.txt").write_text("keep")
    (root / "scalar.yaml").write_text("just some words\n")
    (root / "broken.yaml").write_text("stages: [read, {translate: \n")
    (root / "unknown_stage.yaml").write_text("stages:\n  - read\n  - sharpen: {}\n  - write\n")
    (root / "wrong_type.yaml").write_text(
        f"stages:\n  - read\n  - translate: {{model: {BUNDLED_SR}, batch_size: many}}\n  - write\n")
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_data(tmp_path_factory.mktemp("bad"))


M = str(BUNDLED_SR)
# A batch records every job, failed ones too (--retry-failed reruns them): its jobs.jsonl is the one file it may leave.
BATCH_RECORD = "jobs.jsonl"
# (id, argv with {d} = the data folder and {o} = an empty output folder, what the error line must name)
CASES = [
    # images
    ("apply-empty-image", ["apply", "{d}/empty.png", "-m", M, "-o", "{o}/out"], "empty.png"),
    ("apply-truncated-image", ["apply", "{d}/truncated.png", "-m", M, "-o", "{o}/out"], "truncated.png"),
    ("apply-not-an-image", ["apply", "{d}/notimage.png", "-m", M, "-o", "{o}/out"], "notimage.png"),
    ("apply-decompression-bomb", ["apply", "{d}/bomb.png", "-m", M, "-o", "{o}/out"], "bomb.png"),
    ("detect-empty-image", ["detect", "{d}/empty.png", "-m", str(BUNDLED_DETECTOR), "-q"], "empty.png"),
    ("detect-not-an-image", ["detect", "{d}/notimage.png", "-m", str(BUNDLED_DETECTOR), "-q"], "notimage.png"),
    # videos
    ("video-zero-bytes", ["video", "{d}/zero.mp4", "-m", M, "-o", "{o}/out.mp4", "-q"], "zero.mp4"),
    ("video-truncated", ["video", "{d}/cut.mp4", "-m", M, "-o", "{o}/out.mp4", "-q"], "cut.mp4"),
    ("video-text", ["video", "{d}/text.mp4", "-m", M, "-o", "{o}/out.mp4", "-q"], "text.mp4"),
    ("video-audio-only", ["video", "{d}/audio_only.mp4", "-m", M, "-o", "{o}/out.mp4", "-q"], "no video stream"),
    ("video-header-only", ["video", "{d}/header_only.mp4", "-m", M, "-o", "{o}/out.mp4", "-q"], "header_only.mp4"),
    ("video-directory", ["video", "{d}/x.mp4", "-m", M, "-o", "{o}/out.mp4", "-q"], "x.mp4"),
    ("video-unknown-codec", ["video", "{d}/unknown_codec.mkv", "-m", M, "-o", "{o}/out.mp4", "-q"], "unknown_codec.mkv"),
    ("frames-extract-text", ["frames", "extract", "{d}/text.mp4", "-o", "{o}/frames", "-q"], "text.mp4"),
    ("frames-extract-truncated", ["frames", "extract", "{d}/cut.mp4", "-o", "{o}/frames", "-q"], "cut.mp4"),
    ("frames-encode-empty-folder", ["frames", "encode", "{d}/emptydir", "-o", "{o}/out.mp4", "--fps", "25", "-q"],
     "emptydir"),
    ("frames-encode-bad-image", ["frames", "encode", "{d}/dir_truncated", "-o", "{o}/out.mp4", "--fps", "25", "-q"],
     "truncated.png"),
    ("detect-text-video", ["detect", "{d}/text.mp4", "-m", str(BUNDLED_DETECTOR), "-q"], "text.mp4"),
    # model files
    ("weights-info-huge-header", ["weights", "info", "{d}/huge_header.safetensors"], "huge_header.safetensors"),
    ("video-model-huge-header", ["video", "{d}/in.mp4", "-m", "{d}/huge_header.safetensors", "-o", "{o}/out.mp4", "-q"],
     "huge_header.safetensors"),
    ("weights-info-foreign-safetensors", ["weights", "info", "{d}/foreign.safetensors"], "foreign.safetensors"),
    ("apply-foreign-safetensors", ["apply", "{d}/good.png", "-m", "{d}/foreign.safetensors", "-o", "{o}/out"],
     "foreign.safetensors"),
    ("weights-import-random-zip", ["weights", "import", "{d}/random.pth", "-o", "{o}/m.safetensors"], "random.pth"),
    ("weights-import-pickle-code", ["weights", "import", "{d}/evil.pth", "-o", "{o}/m.safetensors"], "evil.pth"),
    ("weights-info-pickle-code", ["weights", "info", "{d}/evil.pth"], "evil.pth"),
    ("video-wrong-task", ["video", "{d}/in.mp4", "-m", str(BUNDLED_DETECTOR), "-o", "{o}/out.mp4", "-q"], "detect"),
    ("detect-wrong-task", ["detect", "{d}/good.png", "-m", M, "-q"], "sr"),
    ("eval-sr-wrong-task", ["eval", "sr", "-m", str(BUNDLED_DETECTOR), "--data", "{d}/photos"], "detect"),
    # output paths
    ("video-output-under-a-file", ["video", "{d}/in.mp4", "-m", M, "-o", "{d}/file.txt/out.mp4", "-q"], "file.txt"),
    ("apply-output-under-a-file", ["apply", "{d}/good.png", "-m", M, "-o", "{d}/file.txt/out"], "file.txt"),
    ("frames-extract-output-under-a-file", ["frames", "extract", "{d}/in.mp4", "-o", "{d}/file.txt/frames", "-q"],
     "file.txt"),
    ("faces-extract-output-under-a-file", ["faces", "extract", "{d}/in.mp4", "-o", "{d}/file.txt/faces", "-q",
                                           "--landmarks", "dlib"], "file.txt"),
    ("video-output-is-input", ["video", "{d}/in.mp4", "-m", M, "-o", "{d}/in.mp4", "-q", "--overwrite"], "input"),
    ("frames-encode-audio-from-is-output", ["frames", "encode", "{d}/photos", "-o", "{d}/in.mp4", "--fps", "25",
                                            "--audio-from", "{d}/in.mp4", "--overwrite", "-q"], "input"),
    # pipelines
    ("run-yaml-not-a-mapping", ["run", "{d}/scalar.yaml", "{d}/in.mp4", "-o", "{o}/out.mp4", "-q"], "scalar.yaml"),
    ("run-yaml-unparsable", ["run", "{d}/broken.yaml", "{d}/in.mp4", "-o", "{o}/out.mp4", "-q"], "broken.yaml"),
    ("run-unknown-stage", ["run", "{d}/unknown_stage.yaml", "{d}/in.mp4", "-o", "{o}/out.mp4", "-q"], "sharpen"),
    ("run-wrong-option-type", ["run", "{d}/wrong_type.yaml", "{d}/in.mp4", "-o", "{o}/out.mp4", "-q"], "batch_size"),
    ("run-set-unknown-option", ["run", "upscale", "{d}/in.mp4", "-o", "{o}/out.mp4", "--set", "translate.bogus=1", "-q"],
     "bogus"),
    ("chain-unknown-stage", ["chain", "read", "{d}/in.mp4", "sharpen", "write", "{o}/out.mp4"], "sharpen"),
    # training and evaluation
    ("train-a-is-a-file", ["train", "cyclegan", "--a", "{d}/good.png", "--b", "{d}/photos", "--steps", "1",
                           "--out", "{o}/runs"], "good.png"),
    ("train-empty-folder", ["train", "cyclegan", "--a", "{d}/emptydir", "--b", "{d}/photos", "--steps", "1",
                            "--out", "{o}/runs"], "emptydir"),
    ("train-images-smaller-than-crop", ["train", "cyclegan", "--a", "{d}/tiny", "--b", "{d}/photos", "--steps", "1",
                                        "--out", "{o}/runs"], "tiny"),
    ("train-zero-steps", ["train", "cyclegan", "--a", "{d}/photos", "--b", "{d}/photos", "--steps", "0",
                          "--out", "{o}/runs"], "steps"),
    ("eval-sr-empty-folder", ["eval", "sr", "-m", M, "--data", "{d}/emptydir"], "emptydir"),
    ("eval-sr-unreadable-image", ["eval", "sr", "-m", M, "--data", "{d}/dir_notimage"], "notimage.png"),
    # many inputs, the web page
    pytest.param("batch-missing-input", ["batch", "{d}/missing.mp4", "-m", M, "-o", "{o}/batch", "-q"], "missing.mp4",
                 id="batch-missing-input"),
    pytest.param("batch-text-video", ["batch", "{d}/text.mp4", "-m", M, "-o", "{o}/batch", "-q"], "text.mp4",
                 id="batch-text-video"),
    ("ui-out-is-a-file", ["ui", "--out", "{d}/file.txt"], "file.txt"),
]
ISSUE_12_POINT_4 = {"apply-empty-image", "apply-truncated-image", "apply-not-an-image", "apply-decompression-bomb",
                    "detect-empty-image", "detect-not-an-image"}


def tree(*roots: Path) -> set[str]:
    return {str(p) for root in roots for p in root.rglob("*")}


def check_one_error_line(code: int, err: str, names: str) -> None:
    """Exit 1 with one `error: ...` line, or a usage error (exit 2) with Click's one `Error: ...` line."""
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: " if code == 1 else "Error: ")]
    assert code in (1, 2), (code, err)
    assert "Traceback" not in err, err
    assert len(errors) == 1, err
    assert names.lower() in errors[0].lower(), (names, errors[0])


@pytest.fixture(autouse=True)
def fresh_warning_handler():
    """The CLI's 'warning:' handler holds the stderr of the first in-process run; each case gets its own."""
    import logging

    logger = logging.getLogger("translate")
    for handler in [h for h in logger.handlers if getattr(h, "_translate_cli", False)]:
        logger.removeHandler(handler)
    yield


@pytest.mark.parametrize("name, argv, names", [pytest.param(*c, id=c[0]) if type(c) is tuple else c for c in CASES])
def test_bad_input_gives_one_error_line_and_leaves_nothing(name, argv, names, data, tmp_path, capsys,
                                                           isolated_weight_dirs, one_torch_thread):
    out = tmp_path / "out_here"
    out.mkdir()
    before = tree(data, tmp_path)
    args = [a.format(d=data, o=out) for a in argv]
    code, _, err = translate_cli(capsys, *args)
    check_one_error_line(code, err, names)
    left = {p for p in tree(data, tmp_path) - before if not (argv[0] == "batch" and p.endswith(BATCH_RECORD))}
    left -= {str(out / "batch")} if argv[0] == "batch" else set()
    assert not left, "left behind: " + ", ".join(sorted(left))
    assert not (data / "PWNED").exists(), "a model file ran code on load"
    assert (data / "file.txt").read_text() == "keep"


@pytest.mark.parametrize("image", ["cmyk.jpg", "gray16.png"])
def test_unusual_but_valid_images_work(image, data, tmp_path, capsys, one_torch_thread):
    code, _, err = translate_cli(capsys, "apply", str(data / image), "-m", M, "-o", str(tmp_path / "out"),
                                 "--precision", "fp32", "-q")
    assert code == 0, err
    (written,) = list((tmp_path / "out").iterdir())
    with Image.open(written) as im:
        assert im.mode == "RGB" and im.size == (128, 128)


def test_one_pixel_image_is_upscaled(data, tmp_path, capsys, one_torch_thread):
    Image.new("RGB", (1, 1), (200, 10, 10)).save(tmp_path / "dot.png")
    code, _, err = translate_cli(capsys, "apply", str(tmp_path / "dot.png"), "-m", M, "-o", str(tmp_path / "out"), "-q")
    assert code == 0, err
    (written,) = list((tmp_path / "out").iterdir())
    with Image.open(written) as im:
        assert im.size == (4, 4)


def without_root_rights(tmp_path: Path) -> tuple[list[str], object]:
    """(command prefix, preexec_fn) that run a command without root's right to write anywhere: as `nobody`
    when it can reach the interpreter and ``tmp_path``, else as root without CAP_DAC_OVERRIDE (setpriv)."""
    import pwd
    import shutil

    if os.geteuid() != 0:
        return [], None
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        nobody = None
    needed = [Path(sys.executable).resolve(), tmp_path, Path(translate.weights.__file__).resolve()]
    reachable = all(os.stat(p).st_mode & 0o001 for path in needed for p in path.parents)
    if nobody is not None and reachable:
        def drop():
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        return [], drop
    if shutil.which("setpriv"):
        return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"], None
    pytest.skip("root, with no user 'nobody' that can run this Python and no setpriv to drop root's file rights")


def test_read_only_output_folder_as_a_user_without_root(data, tmp_path):
    readonly = tmp_path / "ro"
    readonly.mkdir()
    src = tmp_path / "in.mp4"
    src.write_bytes((data / "in.mp4").read_bytes())
    for path, mode in ((tmp_path, 0o755), (src, 0o644), (readonly, 0o555)):
        os.chmod(path, mode)
    prefix, preexec = without_root_rights(tmp_path)
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run([*prefix, sys.executable, "-m", "translate", "video", str(src), "-m", M, "-o",
                           str(readonly / "out.mp4"), "-q"], capture_output=True, text=True, env=env,
                          preexec_fn=preexec, timeout=300)
    check_one_error_line(proc.returncode, proc.stderr, "ro")
    assert "writable" in proc.stderr or "ermission" in proc.stderr, proc.stderr
    assert list(readonly.iterdir()) == []
