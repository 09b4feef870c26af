"""The reference (pytorch-CycleGAN-and-pix2pix) discriminators: PatchGAN (`basic`, `n_layers`) and per-pixel.

Both return raw logits; the losses apply the sigmoid. Keys match the reference (`model.N.*`, `net.N.*`).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .blocks import conv_bias, norm_factory


class NLayerDiscriminator(nn.Module):
    """PatchGAN: conv4 s2 ndf (no norm), n_layers-1 more s2 convs doubling up to ndf*8, one s1 conv, conv4 -> 1.

    n_layers=3 is the 70x70 PatchGAN.
    """

    uses_gan_init = True

    def __init__(self, input_nc: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance"):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        norm_layer, bias = norm_factory(norm), conv_bias(norm)
        self.multiple = 1
        kw, padw = 4, 1
        seq: list[nn.Module] = [nn.Conv2d(input_nc, ndf, kw, stride=2, padding=padw), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            seq += [nn.Conv2d(ndf * prev, ndf * mult, kw, stride=stride, padding=padw, bias=bias),
                    norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        seq.append(nn.Conv2d(ndf * mult, 1, kw, stride=1, padding=padw))
        self.model = nn.Sequential(*seq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN: conv1 ndf, conv1 ndf*2 + norm, conv1 -> 1 (one logit per pixel).

    As the reference, the last conv has a bias only with instance norm.
    """

    uses_gan_init = True

    def __init__(self, input_nc: int = 3, ndf: int = 64, norm: str = "instance"):
        super().__init__()
        norm_layer, bias = norm_factory(norm), conv_bias(norm)
        self.multiple = 1
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, kernel_size=1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, bias=bias),
            norm_layer(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, kernel_size=1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def basic(input_nc: int = 3, ndf: int = 64, norm: str = "instance") -> NLayerDiscriminator:
    """The 70x70 PatchGAN (3 layers)."""
    return NLayerDiscriminator(input_nc, ndf, 3, norm)


def n_layers(input_nc: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance") -> NLayerDiscriminator:
    return NLayerDiscriminator(input_nc, ndf, n_layers, norm)


def pixel(input_nc: int = 3, ndf: int = 64, norm: str = "instance") -> PixelDiscriminator:
    return PixelDiscriminator(input_nc, ndf, norm)


DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {
    "basic": basic,
    "n_layers": n_layers,
    "pixel": pixel,
}
