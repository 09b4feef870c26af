"""`translate video --faces`, the same chain by `chain` and `run faceswap`, on a clip panned over the astronaut
photo (with audio) and a face-less clip (coffee); crop size / centering mismatches are refused."""
from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from conftest import translate_cli

from translate.video.ffmpeg import find_ffmpeg
from translate.video.probe import probe
from translate.video.reader import FrameReader, decode_audio_pcm
from translate.video.writer import FrameWriter

FF = find_ffmpeg()
N = 10


def write_clip(path: Path, frames: np.ndarray, rate: int = 25, audio: bool = True) -> Path:
    """uint8 RGB frames -> h264 (+ AAC sine from lavfi) through an ffmpeg pipe."""
    n, h, w, _ = frames.shape
    args = [FF, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
            "-r", str(rate), "-i", "-"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-c:a", "aac", "-t", str(n / rate)]
    args += ["-frames:v", str(n), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "12", str(path)]
    subprocess.run(args, input=np.ascontiguousarray(frames).tobytes(), check=True)
    return path


def pan(photo: np.ndarray, n: int, w: int = 320, h: int = 240) -> np.ndarray:
    """A window panning over the photo (3 px right, 1.5 px down per frame)."""
    out = []
    for t in range(n):
        cx, cy = 230 + 3 * t, 160 + 1.5 * t
        m = np.array([[1.0, 0, w / 2 - cx], [0, 1.0, h / 2 - cy]])
        out.append(cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return np.stack(out)


def decode(path: Path) -> np.ndarray:
    reader = FrameReader(path)
    try:
        return np.concatenate([b.frames for b in reader])
    finally:
        reader.close()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    coffee = cv2.resize(skimage.data.coffee(), (320, 240), interpolation=cv2.INTER_AREA)
    return {"face": write_clip(root / "face.mp4", pan(skimage.data.astronaut(), N)),
            "coffee": write_clip(root / "coffee.mp4", pan(coffee, 6, 320, 240))}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A tiny CycleGAN-style generator trained (so to speak) on 128 px crops, a tiny untrained faceswap model
    (64 px, face centering) as the method exports it, and a translate model that records no size."""
    import torch

    from translate.methods.faceswap import FaceSwap, FaceSwapConfig
    from translate.nets import build_generator
    from translate.weights.modelfile import ModelInfo, save_model

    root = tmp_path_factory.mktemp("models")
    net = build_generator("resnet_6blocks", ngf=4)
    info = lambda extra: ModelInfo(task="translate", method="cyclegan", nets={}, directions={"AtoB": ["G_A"]},  # noqa: E731
                                   name="tiny", multiple=4, extra=extra)
    torch.manual_seed(0)
    nets, fs_info = FaceSwap(FaceSwapConfig(size=64, width=2, centering="face"), torch.device("cpu")).export()
    fs_info.name = "fs"
    return {"translate": save_model(root / "tiny.safetensors", {"G_A": net}, info({"train_size": 128})),
            "nosize": save_model(root / "nosize.safetensors", {"G_A": net}, info({})),
            "faceswap": save_model(root / "fs.safetensors", nets, fs_info)}


def test_video_faces_keeps_frames_rate_audio_and_finds_every_face(tmp_path, capsys, clips, models):
    from translate.weights.digest import file_sha256

    src, out = clips["face"], tmp_path / "out.mkv"
    code, stdout, err = translate_cli(capsys, "video", str(src), "--faces", "--model", str(models["translate"]), "-o",
                                      str(out), "--device", "cpu", "--codec", "ffv1", "-q")
    assert code == 0, err
    assert f"faces: {N} in {N} frames, 0 frames without a face" in stdout, stdout
    assert "128 px face crops (from the model)" in stdout  # a translate-task model: its train_size
    a, b = probe(src, scan=True), probe(out, scan=True)
    assert b.frame_count == a.frame_count == N and b.fps == a.fps == Fraction(25)
    pcm_src, pcm_out = decode_audio_pcm(src), decode_audio_pcm(out)
    # Copied, not re-encoded. Debian's ffmpeg 5 decodes the AAC encoder delay (one 1024-sample priming frame) that
    # an mp4's edit list hides once the stream sits in Matroska; ffmpeg 7 hides it there too. Same samples after it.
    lead = len(pcm_out) - len(pcm_src)
    assert lead in (0, 1024) and np.array_equal(pcm_out[lead:], pcm_src)
    tags = {k.lower(): v for k, v in b.tags.items()}  # Matroska upper-cases tag names
    assert tags["translate_model_sha256"] == file_sha256(models["translate"]) and "128px face crops" in tags["faces"]
    before, after = decode(src), decode(out)
    changed = np.abs(after.astype(int) - before).max(-1) > 0
    assert changed[:, 60:200, 100:220].mean() > 0.3  # the face (about x 110-210, y 70-190) is replaced
    assert not changed[:, :, :40].any() and not changed[:, 215:].any()  # far from it, pixels are untouched


def test_identity_model_leaves_the_frames_nearly_unchanged(tmp_path, clips):
    """faces -> translate (a stub translator that returns the crop) -> blend through the runner: PSNR bound."""
    from translate.faces.stages import BlendStage, FacesStage
    from translate.video.runner import Runner
    from translate.video.stages import TranslateStage
    from translate.weights.modelfile import ModelInfo

    class Identity:
        scale, model_name, model_sha256 = 1, "identity", "0" * 64
        info = ModelInfo(task="faces", method="stub", nets={}, extra={"crop_size": 128, "centering": "face"})

        def __call__(self, crops):
            return crops.copy()

    faces, translate, blender = FacesStage("dlib", size=None, centering=None), TranslateStage(Identity()), BlendStage()
    faces.link([translate, blender])
    assert (faces.size, faces.centering) == (128, "face")
    out = tmp_path / "identity.mkv"
    summary = Runner(FrameReader(clips["face"]), [faces, translate, blender],
                     FrameWriter(out, codec="ffv1"), progress=False).run()
    assert summary["stages"]["faces"]["faces"] == N and summary["stages"]["blend"]["faces_blended"] == N
    before, after = decode(clips["face"]), decode(out)
    values = [psnr(x, y) for x, y in zip(before, after)]
    assert min(values) > 40, values  # only the blend's resampling inside the face mask differs


def test_faceless_video_passes_through_unchanged_and_is_counted(tmp_path, capsys, clips, models):
    out = tmp_path / "coffee.mkv"
    code, stdout, err = translate_cli(capsys, "video", str(clips["coffee"]), "--faces", "-m", str(models["faceswap"]),
                                      "-o", str(out), "--device", "cpu", "--codec", "ffv1", "-q")
    assert code == 0, err
    assert "faces: 0 in 6 frames, 6 frames without a face passed through unchanged" in stdout, stdout
    assert np.array_equal(decode(out), decode(clips["coffee"]))


@pytest.mark.parametrize("model, extra, message", [
    ("faceswap", ["--face-size", "128"], "trained on 64 px crops, not 128 px"),
    ("faceswap", ["--centering", "head"], "trained on 'face' centered crops, not 'head'"),
    ("nosize", [], "records no training size"),
])
def test_crop_mismatch_is_refused_with_one_line(tmp_path, capsys, clips, models, model, extra, message):
    out = tmp_path / "out.mp4"
    code, _, err = translate_cli(capsys, "video", str(clips["face"]), "--faces", "-m", str(models[model]), "-o", str(out),
                                 "--device", "cpu", "-q", *extra)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert not out.exists()


def test_face_model_without_faces_and_face_options_without_faces_are_refused(tmp_path, capsys, clips, models):
    out = tmp_path / "out.mp4"
    code, _, err = translate_cli(capsys, "video", str(clips["face"]), "-m", str(models["faceswap"]), "-o", str(out), "-q")
    assert code == 1 and "add --faces" in err and not out.exists()
    code, _, err = translate_cli(capsys, "video", str(clips["face"]), "-m", str(models["translate"]), "-o", str(out),
                                 "--seamless", "-q")
    assert code == 2 and "only apply with --faces" in err


def test_chain_and_run_give_the_frames_of_video_faces(tmp_path, capsys, clips, models):
    src, model = str(clips["face"]), str(models["faceswap"])
    outs = [tmp_path / f"{name}.mkv" for name in ("video", "chain", "run")]
    runs = [
        ["video", src, "--faces", "--model", model, "-o", str(outs[0]), "--device", "cpu", "--codec", "ffv1", "-q"],
        ["chain", "-q", "read", src, "faces", "--device", "cpu", "translate", "--model", model, "--device", "cpu",
         "blend", "write", "--codec", "ffv1", str(outs[1])],
        ["run", "faceswap", src, "-o", str(outs[2]), "-q", "--set", f"translate.model={model}",
         "--set", "translate.device=cpu", "--set", "faces.device=cpu", "--set", "write.codec=ffv1"],
    ]
    for args in runs:
        code, stdout, err = translate_cli(capsys, *args)
        assert code == 0, (args[0], err)
        assert f"faces: {N} in {N} frames" in stdout and "64 px face crops (from the model)" in stdout, stdout
    first = decode(outs[0])
    assert len(first) == N and not np.array_equal(first, decode(clips["face"]))
    for other in outs[1:]:
        assert np.array_equal(decode(other), first), other.name
