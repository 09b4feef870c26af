"""DiscoGAN (Kim et al. 2017) generator and discriminator, as the paper's code, for images in [-1, 1].

Attribute names follow the original code (`main`; `conv1`..`conv5`, `bn2`..`bn4`).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class DiscoGenerator(nn.Module):
    """Encoder conv4 s2 ngf, 2ngf, 4ngf, 8ngf (LeakyReLU 0.2, BN from the second) and a mirrored decoder of
    ConvTranspose4 s2 8ngf -> 4ngf -> 2ngf -> ngf (BN + ReLU) -> output_nc (tanh). Convs have no bias.
    """

    uses_gan_init = True

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = 64):
        super().__init__()
        self.multiple = 16
        c = [ngf, ngf * 2, ngf * 4, ngf * 8]
        layers: list[nn.Module] = [nn.Conv2d(input_nc, c[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for cin, cout in zip(c[:-1], c[1:]):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True)]
        for cin, cout in zip(c[:0:-1], c[-2::-1]):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(c[0], output_nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


class DiscoDiscriminator(nn.Module):
    """conv4 s2 ndf (no BN), 2ndf, 4ndf, 8ndf (BN), LeakyReLU 0.2, then conv4 s1 p0 -> 1.

    Returns logits (a 64 px input gives N x 1 x 1 x 1); unlike the original code there is no sigmoid inside:
    the losses take logits. `forward_features` also returns the three post-BN activations the original
    exposes for its feature-matching loss. Inputs must be at least 64 px.
    """

    uses_gan_init = True

    def __init__(self, input_nc: int = 3, ndf: int = 64):
        super().__init__()
        self.multiple = 16
        self.conv1 = nn.Conv2d(input_nc, ndf, 4, 2, 1, bias=False)
        self.conv2 = nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(ndf * 2)
        self.conv3 = nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(ndf * 4)
        self.conv4 = nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False)
        self.bn4 = nn.BatchNorm2d(ndf * 8)
        self.conv5 = nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False)
        self.lrelu = nn.LeakyReLU(0.2)  # not in place: the features are returned

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = self.lrelu(self.conv1(x))
        f2 = self.lrelu(self.bn2(self.conv2(h)))
        f3 = self.lrelu(self.bn3(self.conv3(f2)))
        f4 = self.lrelu(self.bn4(self.conv4(f3)))
        return self.conv5(f4), [f2, f3, f4]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]


def discogan(input_nc: int = 3, output_nc: int = 3, ngf: int = 64) -> DiscoGenerator:
    return DiscoGenerator(input_nc, output_nc, ngf)


def discogan_d(input_nc: int = 3, ndf: int = 64) -> DiscoDiscriminator:
    return DiscoDiscriminator(input_nc, ndf)


GENERATORS: dict[str, Callable[..., nn.Module]] = {"discogan": discogan}
DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {"discogan_d": discogan_d}
