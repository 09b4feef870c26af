"""Named feature networks (``task = "features"`` manifest entries): fetched on first use, loaded frozen.

Their converted files are self-describing model files holding one net called ``net``.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from translate.errors import UserError
from translate.weights.modelfile import ModelInfo, load_model, save_model

FEATURE_NET = "net"


def save_feature_net(dest: Path, net: nn.Module, method: str, extra: dict) -> Path:
    """``net`` (built by nets.build_net) as a model file with task "features"."""
    info = ModelInfo(task="features", method=method, nets={}, value_range=[0.0, 1.0], extra=extra)
    return save_model(dest, {FEATURE_NET: net}, info)


def load_feature_file(path: str | Path, arch: str, device: torch.device | str = "cpu") -> nn.Module:
    """The frozen, eval-mode net of a converted feature file; a UserError when it holds another architecture."""
    loaded = load_model(path, device)
    spec = loaded.info.nets.get(FEATURE_NET, {})
    if loaded.info.task != "features" or spec.get("arch") != arch:
        raise UserError(f"{path} holds {spec.get('arch') or loaded.info.task}, not the {arch} feature network; "
                        "fetch it again with 'translate weights fetch'")
    return loaded.nets[FEATURE_NET].eval().requires_grad_(False)


def load_feature_net(name: str, arch: str, device: torch.device | str = "cpu") -> nn.Module:
    """The feature net of manifest entry ``name``, fetched (and converted) on first use."""
    from translate.weights.fetch import ensure

    return load_feature_file(ensure(name), arch, device)
