"""Scorer: loads detect models only, batches crops, applies the stored calibration, regions per frame."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from translate.detect.calibrate import sigmoid
from translate.errors import UserError
from translate.weights.modelfile import ModelInfo, save_model


def tiny_detector(path, temperature=2.0, threshold=0.6, fpr=0.01, task="detect", uncertain=None):
    """A tiny random detector file; ``uncertain`` None writes a one-threshold file (as before the band)."""
    from translate.nets import build_discriminator

    torch.manual_seed(0)
    net = build_discriminator("detector", width=4, n_blocks=1, spectrum_bins=8, spectrum_hidden=8)
    info = ModelInfo(task=task, method="detector", nets={}, name="tiny-detector",
                     extra={"temperature": temperature, "threshold": threshold, "threshold_fpr": fpr,
                            **({} if uncertain is None else {"uncertain_threshold": uncertain, "uncertain_fpr": 0.1})})
    return save_model(path, {"detector": net}, info)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_detector(tmp_path_factory.mktemp("m") / "det.safetensors")


@pytest.fixture(scope="module")
def scorer(model):
    from translate.detect.scorer import Scorer

    return Scorer(model, device="cpu", batch_size=3)


def frames(n, h=40, w=48, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_calibration_from_the_model_file(scorer):
    assert scorer.calibrated and scorer.threshold == 0.6 and scorer.calibration.temperature == 2.0
    crops = list(frames(2))
    np.testing.assert_allclose(scorer.score_regions(crops), sigmoid(scorer.logits(crops) / 2.0))
    facts = scorer.facts()
    assert facts["name"] == "tiny-detector" and len(facts["sha256"]) == 64 and facts["threshold_fpr"] == 0.01


def test_batching_and_mixed_sizes_give_the_same_scores(scorer):
    imgs = list(frames(5)) + list(frames(2, 32, 32, seed=1))
    together = scorer.score_frames(imgs)
    alone = [scorer.score_image(im) for im in imgs]
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)
    assert all(0.0 <= s <= 1.0 for s in together)


def test_faces_are_scored_with_max_and_large_frames_tiled(scorer):
    frame = frames(1, 600, 700)[0]
    regions = scorer.regions(frame.shape[:2])
    assert len(regions) > 1 and all(r.kind == "tile" for r in regions)
    assert np.isclose(scorer.score_image(frame), np.mean(scorer.score_regions([r.crop(frame) for r in regions])))
    boxes = [(10, 10, 110, 110), (300, 300, 420, 420)]
    face_regions = scorer.regions(frame.shape[:2], boxes)
    assert [r.kind for r in face_regions] == ["face", "face"]
    per_face = scorer.score_regions([r.crop(frame) for r in face_regions])
    assert np.isclose(scorer.score_image(frame, boxes), per_face.max())
    # a face too small to score falls back to the whole frame (tiles here)
    assert np.isclose(scorer.score_image(frame, [(5, 5, 8, 8)]), scorer.score_image(frame))


def test_refuses_other_tasks_and_tiny_images(tmp_path, scorer):
    from translate.detect.scorer import Scorer

    other = tiny_detector(tmp_path / "sr.safetensors", task="sr")
    with pytest.raises(UserError, match="detect"):
        Scorer(other, device="cpu")
    with pytest.raises(UserError, match="too small"):
        scorer.score_image(np.zeros((4, 4, 3), np.uint8))


def test_uncalibrated_model_uses_half(tmp_path):
    from translate.detect.scorer import Scorer
    from translate.nets import build_discriminator

    net = build_discriminator("detector", width=4, n_blocks=1, spectrum_bins=8, spectrum_hidden=8)
    path = save_model(tmp_path / "raw.safetensors", {"detector": net}, ModelInfo(task="detect", method="detector", nets={}))
    s = Scorer(path, device="cpu")
    assert not s.calibrated and s.threshold == 0.5 and s.calibration.temperature == 1.0


def test_bundled_default_detector_loads_calibrated():
    from translate.detect.scorer import Scorer
    from translate.weights import manifest

    entry = manifest.find("detector")
    if entry is None or manifest.locate(entry) is None:
        pytest.skip("the bundled detector is not on this machine")
    s = Scorer(device="cpu")
    assert s.info.task == "detect" and s.calibrated
    assert s.calibration.threshold_fpr == entry.figures["threshold_fpr"]  # the manifest states what the file holds
    assert abs(s.threshold - entry.figures["threshold"]) < 1e-3
    assert 0.0 < s.threshold < 1.0


def test_the_model_file_says_how_frames_are_cut(tmp_path):
    """A model trained on 224 px tiles (CLIP, EfficientNet) is scored on 224 px tiles, at most max_tiles of them."""
    from translate.detect.scorer import Scorer

    path = tiny_detector(tmp_path / "d.safetensors")
    info_extra = {"tile": 32, "max_side": 32, "max_tiles": 3}
    from translate.weights.modelfile import load_model

    loaded = load_model(path)
    loaded.info.extra.update(info_extra)
    s = Scorer(loaded, device="cpu")
    regions = s.regions((100, 120))
    assert len(regions) == 3 and {(r.x1 - r.x0, r.y1 - r.y0) for r in regions} == {(32, 32)}
    assert [r.kind for r in s.regions((30, 30))] == ["image"]
    assert len(Scorer(path, device="cpu").regions((100, 120))) == 1  # no keys: the defaults (whole up to 512 px)


def test_a_tile_trained_model_scores_small_images_and_big_faces_as_it_was_trained(tmp_path):
    """Trained on exactly tile-sized crops (reflect-padded when smaller, centre-cropped when larger), a model
    whose file says max_side == tile scores a small image or a big face box the same way: padding changes
    its score, so scoring the bare small image would measure something the model never saw."""
    import cv2

    from translate.detect.scorer import Scorer
    from translate.weights.modelfile import load_model

    loaded = load_model(tiny_detector(tmp_path / "d.safetensors"))
    loaded.info.extra.update({"tile": 32, "max_side": 32})
    s = Scorer(loaded, device="cpu")
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    padded = cv2.copyMakeBorder(small, 6, 6, 4, 4, cv2.BORDER_REFLECT_101)
    assert s.score_image(small) == pytest.approx(float(s.score_regions([padded])[0]), abs=1e-6)
    assert abs(s.score_image(small) - float(s.score_regions([small])[0])) > 1e-4
    frame = rng.integers(0, 256, (80, 80, 3), dtype=np.uint8)
    face = [np.array([10.0, 10.0, 70.0, 70.0])]  # a 60 px box (x1.3: 78 px): its centre 32 px is scored
    region = s.regions(frame.shape[:2], face)[0]
    crop = region.crop(frame)
    y, x = (crop.shape[0] - 32) // 2, (crop.shape[1] - 32) // 2
    assert s.score_image(frame, face) == pytest.approx(float(s.score_regions([crop[y:y + 32, x:x + 32]])[0]), abs=1e-6)


def test_bundled_detector_falls_back_to_the_tiny_one_offline(monkeypatch, tmp_path):
    """A default detector on a fetched backbone (CLIP), with no CLIP weights and no network: it scores with
    detector-tiny and says so; the same file named explicitly is an error instead."""
    import translate.detect.scorer as scorer_module
    import translate.weights.fetch
    from translate.detect.scorer import FALLBACK_MODEL, Scorer
    from translate.nets import build_discriminator
    from translate.weights import manifest

    head = build_discriminator("embedding-probe", in_dim=512, hidden=0)
    probe = save_model(tmp_path / "probe.safetensors", {"detector": head},
                       ModelInfo(task="detect", method="detector", nets={}, name="probe",
                                 extra={"backbone": "clip", "backbone_weights": "clip-vit-b16-int8",
                                        "temperature": 1.0, "threshold": 0.5, "threshold_fpr": 0.02}))

    def offline(name, *a, **k):
        raise UserError(f"cannot fetch {name}: no network")

    monkeypatch.setattr(translate.weights.fetch, "ensure", offline)
    monkeypatch.setattr(scorer_module, "DEFAULT_MODEL", str(probe))
    s = Scorer(str(probe), device="cpu")
    assert s.embedder is None and FALLBACK_MODEL in s.fallback_note and "translate weights fetch" in s.fallback_note
    assert s.calibrated and 0 <= s.score_image(frames(1, 64, 64)[0]) <= 1
    assert manifest.find(FALLBACK_MODEL) is not None
    other = tmp_path / "other.safetensors"
    other.write_bytes(probe.read_bytes())
    with pytest.raises(UserError, match="no network"):
        Scorer(str(other), device="cpu")
