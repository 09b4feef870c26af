"""Weight initialisation: the pix2pix/CycleGAN reference scheme and BasicSR's scaled Kaiming init."""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")


def init_weights(net: nn.Module, init_type: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise `net` in place as pytorch-CycleGAN-and-pix2pix does and return it.

    Conv/Linear weights: N(0, gain) for "normal" (xavier/kaiming/orthogonal as the reference), biases 0.
    BatchNorm weights N(1, gain), biases 0. Other modules (PReLU, affine-free InstanceNorm) are left alone.
    """
    if init_type not in INIT_TYPES:
        raise ValueError(f"unknown init_type {init_type!r}; valid: {', '.join(INIT_TYPES)}")
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (_ConvNd, nn.Linear)):
                _init_weight(m.weight, init_type, gain)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, _BatchNorm) and m.affine:
                nn.init.normal_(m.weight, 1.0, gain)
                nn.init.zeros_(m.bias)
    return net


def _init_weight(w: torch.Tensor, init_type: str, gain: float) -> None:
    if init_type == "normal":
        nn.init.normal_(w, 0.0, gain)
    elif init_type == "xavier":
        nn.init.xavier_normal_(w, gain=gain)
    elif init_type == "kaiming":
        nn.init.kaiming_normal_(w, a=0, mode="fan_in")
    else:
        nn.init.orthogonal_(w, gain=gain)


def scaled_kaiming_init(modules: nn.Module | Iterable[nn.Module], scale: float = 1.0) -> None:
    """BasicSR's `default_init_weights`: Kaiming-normal conv/linear weights times `scale`, zero biases.

    A small scale (0.1) keeps deep residual SR nets near identity at the start of training.
    """
    if isinstance(modules, nn.Module):
        modules = [modules]
    with torch.no_grad():
        for module in modules:
            for m in module.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.kaiming_normal_(m.weight)
                    m.weight.mul_(scale)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, _BatchNorm):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
