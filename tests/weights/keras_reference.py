"""An independent numpy forward pass of krasserm's Keras SRResNet / SRGAN nets (NHWC, HWIO, TF "same" padding),
and a writer of Keras-layout h5 files with synthetic weights, for the converter tests."""
from __future__ import annotations

import h5py
import numpy as np

EPS = 1e-3


def conv_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int = 1) -> np.ndarray:
    """TF Conv2D(padding="same") on one NHWC image (H, W, C) with an HWIO kernel."""
    k = kernel.shape[0]
    pads = []
    for n in x.shape[:2]:
        total = max((-(-n // stride) - 1) * stride + k - n, 0)
        pads.append((total // 2, total - total // 2))
    xp = np.pad(x, pads + [(0, 0)])
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(0, 1))[::stride, ::stride]  # H W C kh kw
    return np.einsum("hwcij,ijco->hwo", win, kernel, optimize=True) + bias


def bn(x, w):
    return (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + EPS) * w["gamma"] + w["beta"]


def prelu(x, w):
    a = w["alpha"].reshape(-1)
    return np.where(x >= 0, x, x * a)


def depth_to_space(x: np.ndarray, r: int = 2) -> np.ndarray:
    """tf.nn.depth_to_space (DCR): out[h*r+i, w*r+j, c] = in[h, w, (i*r+j)*C + c]."""
    h, w, d = x.shape
    c = d // (r * r)
    return x.reshape(h, w, r, r, c).transpose(0, 2, 1, 3, 4).reshape(h * r, w * r, c)


def generator_forward(layers: list[tuple[str, dict]], img255: np.ndarray) -> np.ndarray:
    """sr_resnet(): x / 255, conv9 PReLU, res blocks, conv BN + skip, 2 x (conv, depth_to_space, PReLU), conv9 tanh."""
    it = iter(w for _, w in layers)
    conv = lambda x, s=1: (lambda w: conv_same(x, w["kernel"], w["bias"], s))(next(it))  # noqa: E731
    x = img255.astype(np.float64) / 255
    x = x1 = prelu(conv(x), next(it))
    n_blocks = (sum(1 for _, w in layers if "moving_mean" in w) - 1) // 2
    for _ in range(n_blocks):
        y = prelu(bn(conv(x), next(it)), next(it))
        x = x + bn(conv(y), next(it))
    x = x1 + bn(conv(x), next(it))
    for _ in range(2):
        x = prelu(depth_to_space(conv(x)), next(it))
    return (np.tanh(conv(x)) + 1) * 127.5


def discriminator_forward(layers: list[tuple[str, dict]], img255: np.ndarray) -> float:
    """discriminator(): x / 127.5 - 1, 8 conv blocks (BN from the second), Flatten (HWC), dense 1024, dense 1, sigmoid."""
    ws = [w for _, w in layers]
    x = img255.astype(np.float64) / 127.5 - 1
    i = 0
    for block in range(8):
        x = conv_same(x, ws[i]["kernel"], ws[i]["bias"], 2 if block % 2 else 1)
        i += 1
        if block:
            x = bn(x, ws[i])
            i += 1
        x = np.where(x >= 0, x, 0.2 * x)
    x = x.reshape(-1) @ ws[i]["kernel"] + ws[i]["bias"]
    x = np.where(x >= 0, x, 0.2 * x)
    x = x @ ws[i + 1]["kernel"] + ws[i + 1]["bias"]
    return float(1 / (1 + np.exp(-x[0])))


def _conv(rng, k, cin, cout, scale=0.5):
    return {"kernel": rng.normal(0, scale / np.sqrt(k * k * cin), (k, k, cin, cout)).astype(np.float32),
            "bias": rng.normal(0, 0.1, cout).astype(np.float32)}


def _bn(rng, c):
    return {"gamma": rng.uniform(0.5, 1.5, c).astype(np.float32), "beta": rng.normal(0, 0.1, c).astype(np.float32),
            "moving_mean": rng.normal(0, 0.1, c).astype(np.float32),
            "moving_variance": rng.uniform(0.5, 2.0, c).astype(np.float32)}


def _prelu(rng, c):
    return {"alpha": rng.uniform(0.05, 0.4, (1, 1, c)).astype(np.float32)}


def synthetic_generator(rng, nf: int = 8, n_blocks: int = 2) -> list[tuple[str, dict]]:
    layers = [("conv2d", _conv(rng, 9, 3, nf)), ("p_re_lu", _prelu(rng, nf))]
    for b in range(n_blocks):
        layers += [(f"conv2d_a{b}", _conv(rng, 3, nf, nf)), (f"bn_a{b}", _bn(rng, nf)), (f"p_re_lu_{b}", _prelu(rng, nf)),
                   (f"conv2d_b{b}", _conv(rng, 3, nf, nf)), (f"bn_b{b}", _bn(rng, nf))]
    layers += [("conv2d_t", _conv(rng, 3, nf, nf)), ("bn_t", _bn(rng, nf))]
    for u in range(2):
        layers += [(f"conv2d_u{u}", _conv(rng, 3, nf, 4 * nf)), (f"p_re_lu_u{u}", _prelu(rng, nf))]
    return layers + [("conv2d_last", _conv(rng, 9, nf, 3))]


def synthetic_discriminator(rng, ndf: int = 4) -> list[tuple[str, dict]]:
    layers, cin = [], 3
    for block in range(8):
        cout = ndf * 2 ** (block // 2)
        layers.append((f"conv2d_{block}", _conv(rng, 3, cin, cout, 1.0)))
        if block:
            layers.append((f"bn_{block}", _bn(rng, cout)))
        cin = cout
    layers.append(("dense", {"kernel": rng.normal(0, 1 / np.sqrt(36 * cin), (36 * cin, 1024)).astype(np.float32),
                             "bias": rng.normal(0, 0.1, 1024).astype(np.float32)}))
    return layers + [("dense_1", {"kernel": rng.normal(0, 1 / 32, (1024, 1)).astype(np.float32),
                                  "bias": np.zeros(1, np.float32)})]


def write_keras_h5(path, layers: list[tuple[str, dict]]) -> None:
    """Keras 2 save_weights layout: attrs layer_names, per layer weight_names, datasets layer/layer/name:0."""
    with h5py.File(path, "w") as f:
        names = ["input_1", "lambda"] + [n for n, _ in layers]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.2.4-tf"
        for n in names[:2]:
            f.create_group(n).attrs["weight_names"] = np.array([], dtype="S1")
        for n, weights in layers:
            g = f.create_group(n)
            g.attrs["weight_names"] = np.array([f"{n}/{k}:0".encode() for k in weights])
            for k, v in weights.items():
                g.create_dataset(f"{n}/{k}:0", data=v)
