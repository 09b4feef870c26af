"""The detector trains on the shared loop, separates real from up-sampled images of held-out source photos,
and stores its calibration (temperature, threshold at the stated FPR, validation figures) in the model file."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from synthetic import images

from translate.methods.base import DataConfig
from translate.weights.modelfile import read_info


def noisy(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 'camera' image: procedural content plus per-pixel sensor noise (what up-sampling destroys)."""
    return np.clip(img.astype(np.float32) + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def upsampled(img: np.ndarray) -> np.ndarray:
    """A 'generated' image: half resolution, then nearest-neighbour x2 (the up-sampling trace)."""
    small = np.asarray(Image.fromarray(img).resize((img.shape[1] // 2, img.shape[0] // 2), Image.BILINEAR))
    return small.repeat(2, 0).repeat(2, 1)


def make_sets(root, n_sources: int = 24, size: int = 48, seed: int = 0):
    rng = np.random.default_rng(seed)
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir(parents=True)
    for i, img in enumerate(images(2 * n_sources, size, seed)):
        src = i // 2
        if i % 2 == 0:
            Image.fromarray(noisy(img, rng)).save(root / "real" / f"photo{src:02d}__{i}.png")
        else:
            Image.fromarray(upsampled(noisy(img, rng))).save(root / "fake" / f"photo{src:02d}__{i}.png")
    return root / "real", root / "fake"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from translate.detect.data import Degradations
    from translate.methods import detector as detector_method
    from translate.methods.detector import DetectorConfig
    from translate.training import LoopConfig, RunSpec, start_run

    torch.set_num_threads(1)
    # h264 re-encoding runs ffmpeg per crop (tested in test_detect_data); JPEG/blur/resize stay on here
    mp = pytest.MonkeyPatch()
    mp.setattr(detector_method, "TRAIN_DEGRADATIONS", Degradations(p_h264=0.0))
    root = tmp_path_factory.mktemp("det")
    real, fake = make_sets(root)
    loop = LoopConfig(name="det", out=str(root / "runs"), steps=50, batch_size=16, workers=0, sample_every=1000,
                      save_every=1000, log_every=10, seed=1, precision="fp32")
    data = DataConfig(a=str(real), b=str(fake), size=32, load_size=32, preprocess="crop", val_split=0.25)
    model = DetectorConfig(width=8, n_blocks=2, spectrum_bins=16, spectrum_hidden=16, lr=3e-3, fpr=0.05)
    try:
        assert start_run(RunSpec("detector", loop, data, model), resume=False) == 0
    finally:
        mp.undo()
    return root, root / "runs" / "det" / "model.safetensors"


def test_model_file_carries_calibration_and_validation_figures(trained):
    _, path = trained
    info = read_info(path)
    assert info.task == "detect" and info.method == "detector"
    extra = info.extra
    assert extra["threshold_fpr"] == 0.05
    assert 0.05 <= extra["temperature"] <= 20.0
    assert 0.0 <= extra["threshold"] <= 1.0
    v = extra["validation"]
    assert v["n_real"] > 0 and v["n_fake"] > 0
    assert v["fpr"] <= 0.05 + 1e-9  # the threshold keeps the stated false-positive rate on the reals
    assert v["auc"] >= 0.9, v


def test_separates_held_out_source_photos(trained, tmp_path):
    """Fresh source photos (never seen, not even in validation) are ranked correctly by the Scorer."""
    from translate.detect.scorer import Scorer
    from translate.eval.metrics import roc_auc

    real, fake = make_sets(tmp_path / "test", n_sources=12, seed=99)
    scorer = Scorer(trained[1], device="cpu")
    reals = [np.asarray(Image.open(p)) for p in sorted(real.iterdir())]
    fakes = [np.asarray(Image.open(p)) for p in sorted(fake.iterdir())]
    scores = scorer.score_frames(reals + fakes)
    auc = roc_auc([0] * len(reals) + [1] * len(fakes), scores)
    assert auc >= 0.9, (auc, scores)


def test_split_keeps_sources_apart(trained):
    from translate.detect.data import source_of
    from translate.methods.detector import split_items

    root, _ = trained
    train, val, summary = split_items(str(root / "real"), str(root / "fake"), 0.25, 1, "crop")
    assert {source_of(p) for p, _ in train}.isdisjoint({source_of(p) for p, _ in val})
    assert {0, 1} == {label for _, label in val}
    assert "split by source photo" in summary


def test_balanced_batches_and_exact_positions(trained):
    from translate.methods.detector import BalancedDetectorData, split_items

    root, _ = trained
    train, _, _ = split_items(str(root / "real"), str(root / "fake"), 0.25, 1, "crop")
    ds = BalancedDetectorData(train, 32, seed=1)
    labels = [float(ds[p]["label"]) for p in range(8)]
    assert labels == [0.0, 1.0] * 4
    a, b = ds[123]["image"], BalancedDetectorData(train, 32, seed=1)[123]["image"]
    assert torch.equal(a, b)  # a pure function of the position: resume is exact


def test_bad_folders_are_user_errors(tmp_path):
    from translate.errors import UserError
    from translate.methods.detector import split_items

    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no images"):
        split_items(str(tmp_path / "empty"), str(tmp_path / "empty"), 0.2, 0, "crop")
    with pytest.raises(UserError, match="only 'crop'|crop"):
        split_items(str(tmp_path), str(tmp_path), 0.2, 0, "resize")
