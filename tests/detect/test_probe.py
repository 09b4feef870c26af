"""The clip backbone's probe: trains on cached embeddings, calibrates, and `Scorer` embeds before the head.

A stand-in encoder (mean colour and high-frequency energy as the "embedding") keeps this test free of the
90 MB CLIP file; the real encoder is H4's, tested with the weights code."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from translate.detect.probe import ProbeConfig, train_probe


class StandIn:
    def __init__(self):
        self.calls = 0

    def embed(self, images):
        self.calls += len(images)
        out = []
        for im in images:
            x = im.astype(np.float32) / 255.0
            hf = np.abs(np.diff(x, axis=1)).mean()
            out.append([hf, x.mean(), 1.0, 0.0])
        e = np.asarray(out, np.float32)
        return e / np.linalg.norm(e, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe")
    rng = np.random.default_rng(0)
    for k in range(20):
        smooth = np.kron(rng.integers(0, 256, (8, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)  # "real": smooth
        (root / "real").mkdir(exist_ok=True)
        (root / "fake").mkdir(exist_ok=True)
        Image.fromarray(smooth).save(root / "real" / f"p{k}.png")
        noisy = np.clip(smooth + rng.normal(0, 40, smooth.shape), 0, 255).astype(np.uint8)  # "generated": noisy
        Image.fromarray(noisy).save(root / "fake" / f"p{k}__gen.png")
    return root


def test_probe_trains_calibrates_and_scores_through_its_backbone(folders, tmp_path, monkeypatch):
    from translate.detect.scorer import Scorer
    from translate.weights.modelfile import load_model

    encoder = StandIn()
    cfg = ProbeConfig(crop=48, views=2, steps=200, val_split=0.3, fpr=0.02, uncertain_fpr=0.1)
    path = train_probe(str(folders / "real"), str(folders / "fake"), tmp_path / "run", cfg, encoder=encoder)
    info = load_model(path).info
    assert info.extra["backbone"] == "clip" and info.extra["backbone_weights"] == "clip-vit-b16-int8"
    assert info.extra["validation"]["auc"] > 0.9 and "split by source" in info.extra["training_data"]
    assert info.extra["uncertain_threshold"] <= info.extra["threshold"]
    first = encoder.calls
    train_probe(str(folders / "real"), str(folders / "fake"), tmp_path / "run", cfg, encoder=encoder)
    assert encoder.calls == first  # the second run embeds nothing: every crop is in the cache

    import translate.weights.fetch
    import translate.weights.onnx_models

    monkeypatch.setattr(translate.weights.onnx_models, "ClipImageEncoder", lambda *a, **k: encoder)
    monkeypatch.setattr(translate.weights.fetch, "ensure", lambda name, *a, **k: tmp_path / f"{name}.onnx")
    scorer = Scorer(path, device="cpu")
    real = np.asarray(Image.open(folders / "real" / "p0.png"))
    fake = np.asarray(Image.open(folders / "fake" / "p0__gen.png"))
    s_real, s_fake = scorer.score_frames([real, fake])
    assert s_fake > s_real and scorer.facts()["backbone"] == "clip"
