"""Self-describing model files: safetensors weights plus the architecture and every constructor argument.

A model file holds one or more nets, stored as ``<net>.<param>`` tensors, and a JSON header under the
safetensors metadata key ``translate``:

    {"format": 1, "task": "translate"|"sr"|"faces"|"detect", "method": "cyclegan", "name": "...",
     "nets": {"G_A": {"arch": "resnet_9blocks", "kwargs": {...}}, ...},
     "directions": {"AtoB": ["G_A"], "BtoA": ["G_B"]},   # nets applied in order
     "value_range": [-1, 1], "scale": 1, "multiple": 4, "inference_mode": "eval", "extra": {...},
     "version": "0.1.0"}

Loading needs no flags: ``load_model(path)`` rebuilds every net from its header.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from translate._version import __version__
from translate.errors import UserError
from translate.weights.digest import file_sha256

FORMAT_VERSION = 1
TASKS = ("translate", "sr", "faces", "detect")
INFERENCE_MODES = ("eval", "reference-test")


@dataclass
class ModelInfo:
    """Everything needed to rebuild and run a model, stored in the file header."""

    task: str
    method: str
    nets: dict[str, dict]  # name -> {"arch": str, "kwargs": dict}
    directions: dict[str, list[str]] = field(default_factory=dict)
    name: str = ""
    value_range: list[float] = field(default_factory=lambda: [-1.0, 1.0])
    scale: int = 1
    multiple: int = 1  # input sides must be a multiple of this (padding is added and cropped back)
    inference_mode: str = "eval"
    extra: dict = field(default_factory=dict)
    version: str = __version__
    format: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelInfo":
        data = json.loads(text)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class LoadedModel:
    info: ModelInfo
    nets: dict[str, nn.Module]
    path: Path | None = None
    sha256: str = ""


def net_spec(module: nn.Module) -> dict:
    """The {"arch", "kwargs"} that build_net needs to rebuild ``module`` (set by nets.build_*)."""
    spec = getattr(module, "_translate_spec", None)
    if spec is None:
        raise ValueError(f"{type(module).__name__} was not built by translate.nets.build_*; its architecture is unknown")
    return {"arch": spec[0], "kwargs": dict(spec[1])}


def save_model(path: str | Path, nets: dict[str, nn.Module], info: ModelInfo, half: bool = False) -> Path:
    """Write nets and header atomically (temporary name, then rename). ``half`` stores floats as fp16."""
    path = Path(path)
    info.nets = {name: net_spec(module) for name, module in nets.items()}
    tensors: dict[str, torch.Tensor] = {}
    for name, module in nets.items():
        for key, value in module.state_dict().items():
            value = value.detach().to("cpu")
            if half and value.is_floating_point():
                value = value.half()
            tensors[f"{name}.{key}"] = value.contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    save_file(tensors, str(tmp), metadata={"translate": info.to_json()})
    os.replace(tmp, path)
    return path


def read_info(path: str | Path) -> ModelInfo:
    """The header of a model file, without loading the weights."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise UserError(f"{path} is not a readable safetensors model file ({e}); re-export it or import it with 'translate weights import'") from None
    if "translate" not in meta:
        raise UserError(f"{path} has no translate header; bring foreign weights in with 'translate weights import {path} -o MODEL.safetensors'")
    return ModelInfo.from_json(meta["translate"])


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild every net from the header and load its weights (in fp32)."""
    from translate.nets import build_net  # nets sit below modelfile

    path = Path(path)
    info = read_info(path)
    state = load_file(str(path), device="cpu")
    nets: dict[str, nn.Module] = {}
    for name, spec in info.nets.items():
        net = build_net(spec["arch"], **spec["kwargs"])
        prefix = f"{name}."
        sd = {k[len(prefix):]: v.float() if v.is_floating_point() else v for k, v in state.items() if k.startswith(prefix)}
        missing, unexpected = net.load_state_dict(sd, strict=False)
        if missing or unexpected:
            raise UserError(f"{path}: weights of {name} do not fit {spec['arch']} (missing {len(missing)}, unexpected {len(unexpected)} keys); the file is damaged")
        nets[name] = net.to(device)
    return LoadedModel(info=info, nets=nets, path=path, sha256=file_sha256(path))


def apply_inference_mode(net: nn.Module, mode: str) -> nn.Module:
    """Put ``net`` in the state ``info.inference_mode`` asks for and return it.

    "eval": BatchNorm on running statistics, dropout off. "reference-test": as pytorch-CycleGAN-and-pix2pix's
    test.py without --eval: BatchNorm on the batch's statistics and dropout on (pix2pix's noise source).
    """
    if mode not in INFERENCE_MODES:
        raise ValueError(f"unknown inference mode {mode!r}; valid: {', '.join(INFERENCE_MODES)}")
    net.eval()
    if mode == "reference-test":
        for m in net.modules():
            if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd)):
                m.train()
    return net
