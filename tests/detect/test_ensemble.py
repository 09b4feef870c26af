"""Detector ensembles (translate/detect/ensemble.py): one file, members that read the same crops, their
calibrated log-odds summed; a member scores alone, at its own thresholds, when CLIP cannot be had.

A stand-in CLIP encoder (colour and high-frequency energy as the "embedding") keeps this free of the 90 MB
ONNX file."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from translate.detect import ensemble
from translate.errors import UserError


class StandInClip:
    def __init__(self, *a, **k):
        pass

    def embed(self, images):
        out = []
        for im in images:
            x = im.astype(np.float32) / 255.0
            out.append([np.abs(np.diff(x, axis=1)).mean(), x.mean(), 1.0, 0.0])
        e = np.asarray(out, np.float32)
        return e / np.linalg.norm(e, axis=1, keepdims=True)


def calibration(t: float, threshold: float, band: float) -> dict:
    return {"temperature": t, "threshold": threshold, "threshold_fpr": 0.02, "uncertain_threshold": band,
            "uncertain_fpr": 0.1}


@pytest.fixture()
def ensemble_file(tmp_path, monkeypatch):
    import translate.weights.fetch
    import translate.weights.onnx_models
    from translate.nets import build_discriminator

    torch.manual_seed(0)
    pixels = build_discriminator("detector", width=8, n_blocks=2, spectrum_bins=16, spectrum_hidden=8)
    probe = build_discriminator("embedding-probe", in_dim=4, hidden=0)
    members = [ensemble.member({"backbone": "srm", **calibration(2.0, 0.7, 0.55)}, "detector", 1.0),
               ensemble.member({"backbone": "clip", "backbone_weights": "clip-vit-b16-int8", **calibration(0.5, 0.8, 0.6)},
                               "probe", 0.5)]
    facts = {**calibration(1.5, 0.75, 0.5), "validation": {"auc": 0.9}}
    extra = ensemble.ensemble_extra(members, facts, "test data", {"tile": 32, "max_side": 32, "max_tiles": 4})
    path = ensemble.save_ensemble(tmp_path / "ens.safetensors", {"detector": pixels, "probe": probe}, extra, "ens")
    monkeypatch.setattr(translate.weights.onnx_models, "ClipImageEncoder", StandInClip)
    monkeypatch.setattr(translate.weights.fetch, "ensure", lambda name, *a, **k: tmp_path / f"{name}.onnx")
    return path


def crops(n: int = 6, size: int = 32) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def test_combined_logit_is_the_weighted_sum_of_calibrated_member_logits():
    members = [{"weight": 1.0, "temperature": 2.0}, {"weight": 0.5, "temperature": 0.25}]
    z = ensemble.combine([np.array([2.0, -4.0]), np.array([1.0, 0.5])], members)
    assert z == pytest.approx([2.0 / 2 + 0.5 * 1.0 / 0.25, -4.0 / 2 + 0.5 * 0.5 / 0.25])
    with pytest.raises(ValueError):
        ensemble.combine([np.zeros(2)], members)
    with pytest.raises(ValueError, match="no net for member"):
        ensemble.save_ensemble("x.safetensors", {"detector": torch.nn.Linear(1, 1)},
                               {"members": [{"net": "detector"}, {"net": "probe"}]}, "x")


def test_ensemble_file_scores_with_both_members_and_its_own_calibration(ensemble_file):
    from translate.detect.scorer import Scorer
    from translate.weights.modelfile import load_model

    s = Scorer(str(ensemble_file), device="cpu")
    assert s.fallback_note is None and s.calibrated
    assert s.facts()["backbone"] == "ensemble" and s.facts()["members"] == ["srm", "clip"]
    assert (s.threshold, s.uncertain_threshold, s.calibration.temperature) == pytest.approx((0.75, 0.5, 1.5))
    c = crops()
    # each member on its own: the pixel net on [-1, 1] pixels, the probe on the stand-in embeddings
    nets = {k: v.eval() for k, v in load_model(ensemble_file).nets.items()}
    with torch.no_grad():
        x = torch.from_numpy(np.stack(c)).permute(0, 3, 1, 2).float() / 127.5 - 1
        z_pixels = nets["detector"](x).numpy()
        z_clip = nets["probe"](torch.from_numpy(StandInClip().embed(c))).numpy()
    assert s.logits(c) == pytest.approx(z_pixels / 2.0 + 0.5 * z_clip / 0.5, abs=1e-4)
    probs = s.score_regions(c)
    assert probs == pytest.approx(1 / (1 + np.exp(-s.logits(c) / 1.5)), abs=1e-6)


def test_without_clip_the_pixel_member_scores_alone_at_its_own_thresholds(ensemble_file, monkeypatch):
    import translate.weights.fetch
    from translate.detect.scorer import Scorer

    def offline(name, *a, **k):
        raise UserError(f"cannot fetch {name}: no network")

    full = Scorer(str(ensemble_file), device="cpu")
    monkeypatch.setattr(translate.weights.fetch, "ensure", offline)
    s = Scorer(str(ensemble_file), device="cpu")
    assert s.embedder is None and [m["backbone"] for m in s.members] == ["srm"]
    assert "clip-vit-b16-int8" in s.fallback_note and "translate weights fetch" in s.fallback_note
    assert (s.threshold, s.uncertain_threshold, s.calibration.temperature) == pytest.approx((0.7, 0.55, 2.0))
    c = crops()
    assert not np.allclose(s.logits(c), full.logits(c))  # the probe no longer counts
    assert np.all((0 <= s.score_regions(c)) & (s.score_regions(c) <= 1))
