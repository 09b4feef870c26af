"""The face-swap autoencoder on the shared loop, trained on aligned crops of the two real faces that ship offline
(skimage's astronaut, matplotlib's grace_hopper): it learns, A to B uses B's decoder, export and resume."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from translate.data.faces import (
    ellipse_mask,
    faceswap_dataset,
    random_warp,
    resolve_centering,
)
from translate.errors import UserError
from translate.infer import Translator
from translate.methods.base import DataConfig
from translate.methods.faceswap import FaceSwap, FaceSwapConfig
from translate.training import LoopConfig, RunSpec, start_run
from translate.weights.modelfile import load_model, read_info


def grace_hopper() -> np.ndarray:
    from matplotlib import cbook

    return cv2.cvtColor(cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    """faces/A and faces/B from `faces extract` (128 px crops + alignments.json) of 4 rotated/zoomed copies each."""
    from translate.faces.extract import extract_faces

    root = tmp_path_factory.mktemp("faces")
    for name, photo in (("A", skimage.data.astronaut()[:320, 60:380]), ("B", grace_hopper())):  # no mission patch
        src = root / f"photos{name}"
        src.mkdir()
        h, w = photo.shape[:2]
        for k in range(4):
            m = cv2.getRotationMatrix2D((w / 2, h / 2), -6 + 4 * k, 0.8 + 0.1 * k)
            img = cv2.warpAffine(photo, m, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=(128, 128, 128))
            cv2.imwrite(str(src / f"{k}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        summary = extract_faces(src, root / name, size=128, landmarks="dlib")
        assert summary["faces"] == 4, summary
    return root


def spec(faces: Path, out: Path, steps: int, **kw) -> RunSpec:
    loop = dict(name="fs", out=str(out), steps=steps, batch_size=8, workers=0, seed=0, sample_every=10**6,
                save_every=10**6, log_every=10, precision="fp32")  # the bounds below were measured in fp32
    loop.update(kw.pop("loop", {}))
    model = dict(size=64, width=4, lr=2e-3, centering="face")
    model.update(kw)
    return RunSpec("faceswap", LoopConfig(**loop), DataConfig(a=str(faces / "A"), b=str(faces / "B"), size=64,
                                                              centering="face"), FaceSwapConfig(**model))


def load_crops(folder: Path, size: int = 64) -> np.ndarray:
    return np.stack([cv2.resize(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), (size, size), interpolation=cv2.INTER_AREA)
                     for p in sorted(folder.glob("*.png"))])


def test_learns_to_rebuild_faces_and_swaps_with_the_other_decoder(faces, tmp_path, one_torch_thread):
    assert start_run(spec(faces, tmp_path, steps=200), resume=False) == 0
    run = tmp_path / "fs"
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    for side in "AB":
        rec = [r[f"rec_{side}"] for r in log]
        # measured: 0.21 -> 0.105 (A), 0.195 -> 0.106 (B) with width 4, lr 2e-3, 200 steps of 8
        assert np.mean(rec[-5:]) < 0.65 * np.mean(rec[:2]), (side, rec[:3], rec[-3:])

    info = read_info(run / "model.safetensors")
    assert info.task == "faces" and info.method == "faceswap" and info.value_range == [0.0, 1.0]
    assert info.directions == {"AtoB": ["encoder", "decoder_B"], "BtoA": ["encoder", "decoder_A"]}
    assert info.extra["crop_size"] == 64 and info.extra["centering"] == "face" and info.extra["trained_steps"] == 200
    assert info.nets["encoder"]["kwargs"]["width"] == 4 and info.nets["decoder_B"]["kwargs"]["input_size"] == 64

    A, B = load_crops(faces / "A"), load_crops(faces / "B")
    loaded = load_model(run / "model.safetensors")
    x = torch.from_numpy(A).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        by_hand = loaded.nets["decoder_B"](loaded.nets["encoder"](x))
    a2b = Translator(loaded, direction="AtoB", device="cpu", precision="fp32")(A)
    expected = (by_hand * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert np.abs(a2b.astype(int) - expected).max() <= 1  # A to B = B's decoder on A's code
    # The swapped faces look like the other identity: nearer B's mean face than the A input (measured 45 vs 57),
    # and the other way round (32 vs 53); rebuilding with the own decoder stays near the input.
    a2b, b2a = a2b.astype(float), Translator(loaded, direction="BtoA", device="cpu", precision="fp32")(B).astype(float)
    assert np.abs(a2b - B.mean(0)).mean() < np.abs(a2b - A).mean()
    assert np.abs(b2a - A.mean(0)).mean() < np.abs(b2a - B).mean()
    own = Translator(loaded, direction="BtoA", device="cpu", precision="fp32")(A).astype(float)
    assert np.abs(own - A).mean() < np.abs(a2b - A).mean()
    assert (run / "samples").is_dir() and list((run / "samples").glob("*.png"))


def test_resume_continues_exactly(faces, tmp_path):
    torch.set_num_threads(1)
    full = spec(faces, tmp_path / "full", steps=8, loop={"batch_size": 4, "save_every": 4, "keep": 5})
    assert start_run(full, resume=False) == 0
    # A copy of the run as it stood at step 4, resumed to the end, must give the same weights.
    cut = tmp_path / "cut" / "fs"
    shutil.copytree(tmp_path / "full" / "fs", cut)
    ckpts = cut / "checkpoints"
    (ckpts / "last.pt").unlink()
    shutil.copy(ckpts / "step_00000004.pt", ckpts / "last.pt")
    (ckpts / "step_00000008.pt").unlink()
    (cut / "model.safetensors").unlink()
    config = json.loads((cut / "config.json").read_text())
    config["loop"]["out"] = str(tmp_path / "cut")
    (cut / "config.json").write_text(json.dumps(config))
    resumed = spec(faces, tmp_path / "cut", steps=8, loop={"batch_size": 4, "save_every": 4, "keep": 5})
    assert start_run(resumed, resume=True) == 0
    a = load_model(tmp_path / "full" / "fs" / "model.safetensors").nets
    b = load_model(cut / "model.safetensors").nets
    for name in ("encoder", "decoder_A", "decoder_B"):
        for (k, v), (_, w) in zip(a[name].state_dict().items(), b[name].state_dict().items()):
            assert torch.equal(v, w), (name, k)


def test_dataset_items_masks_and_warp(faces, tmp_path):
    ds, summary = faceswap_dataset(str(faces / "A"), str(faces / "B"), 64, None, seed=3)
    assert "landmark masks for 4" in summary and "centering face (alignments.json)" in summary
    one, again = ds[5], ds[5]
    assert all(torch.equal(one[k], again[k]) for k in ("A", "A_target", "A_mask", "B", "B_target", "B_mask"))
    assert one["A"].shape == (3, 64, 64) and one["A_mask"].shape == (1, 64, 64)
    assert 0 <= float(one["A"].min()) and float(one["A"].max()) <= 1
    assert not torch.equal(one["A"], one["A_target"])  # the input is warped, the target is not
    assert float((one["A"] - one["A_target"]).abs().mean()) < 0.15
    m = one["A_mask"][0]
    assert m[32, 32] > 0.9 and m[0, 0] == 0 and 0.2 < float(m.mean()) < 0.8

    # Without alignments.json the fixed template ellipse is the mask.
    bare = tmp_path / "bare"
    shutil.copytree(faces / "B", bare)
    (bare / "alignments.json").unlink()
    ds2, summary2 = faceswap_dataset(str(faces / "A"), str(bare), 64, "face", seed=3)
    assert "template ellipse masks" in summary2
    e = ellipse_mask(64, "face")
    assert e[32, 32] == 1.0 and e[0, 0] == 0.0 and 0.25 < e.mean() < 0.6


def test_random_warp_is_the_identity_at_zero_strength():
    img = skimage.data.astronaut()[:64, :64].copy()
    assert np.array_equal(random_warp(img, np.random.default_rng(0), 0.0), img)
    warped = random_warp(img, np.random.default_rng(0), 0.04)
    assert warped.shape == img.shape and not np.array_equal(warped, img)


def test_centering_comes_from_the_alignments_and_conflicts_are_refused(faces, tmp_path):
    assert resolve_centering([str(faces / "A"), str(faces / "B")], None) == ("face", "alignments.json")
    with pytest.raises(UserError, match="contradicts"):
        resolve_centering([str(faces / "A")], "head")
    other = tmp_path / "head"
    other.mkdir()
    data = json.loads((faces / "B" / "alignments.json").read_text())
    (other / "alignments.json").write_text(json.dumps({**data, "centering": "head"}))
    with pytest.raises(UserError, match="different centerings"):
        resolve_centering([str(faces / "A"), str(other)], None)
    assert resolve_centering([str(tmp_path)], None) == ("face", "default")


def test_tiny_nets_shapes_and_size_checks():
    m = FaceSwap(FaceSwapConfig(size=32, width=2), torch.device("cpu"))
    with torch.no_grad():
        z = m.nets["encoder"](torch.rand(2, 3, 32, 32))
        y = m.nets["decoder_A"](z)
    assert z.shape == (2, 16, 4, 4)
    assert y.shape == (2, 3, 32, 32) and 0 <= float(y.min()) and float(y.max()) <= 1
    assert set(m.optimizers) == {"A", "B"} and m.optimizers["A"].defaults["lr"] == pytest.approx(5e-5)
    assert m.optimizers["A"].defaults["betas"] == (0.5, 0.999)
    with pytest.raises(UserError, match="multiple of 16"):
        FaceSwap(FaceSwapConfig(size=40), torch.device("cpu"))


def test_train_command_records_the_folders_centering(faces, tmp_path, capsys):
    from translate.cli.main import main

    torch.set_num_threads(1)
    try:
        main(["train", "faceswap", "--a", str(faces / "A"), "--b", str(faces / "B"), "--steps", "2", "--width", "2",
              "--batch-size", "2", "--workers", "0", "--out", str(tmp_path), "--name", "cli"])
    except SystemExit as e:
        assert not e.code, capsys.readouterr().err
    info = read_info(tmp_path / "cli" / "model.safetensors")
    assert info.extra["crop_size"] == 64 and info.extra["centering"] == "face"
    config = json.loads((tmp_path / "cli" / "config.json").read_text())
    assert config["loop"]["batch_size"] == 2 and config["model"]["lr"] == pytest.approx(5e-5)
    assert config["data"]["centering"] == "face"
