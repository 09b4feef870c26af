"""ST-LPIPS (Ghildyal & Liu, ECCV 2022): LPIPS on a shift-tolerant, anti-aliased VGG16.

Each VGG16 max-pool becomes max-pool 2x2 stride 1 followed by a [1, 2, 1]^2 blur subsampling by 2
(reflect padding of 2), as in the authors' ``vggnet(variant="shift_tolerant")``. The distance is LPIPS's:
inputs in [-1, 1] shifted and scaled per channel, the five relu_k features unit-normalised over channels,
squared differences weighted by the linear heads (1x1 convs), averaged over space and summed over layers.
Tensors are named as in the released ``vgg_shift_tolerant.pth``, so it loads by key.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

VGG16_CHANNELS = (64, 128, 256, 512, 512)
_CONVS_PER_SLICE = (2, 2, 3, 3, 3)


class BlurDownsample(nn.Module):
    """Reflect pad 2, depthwise [1, 2, 1] x [1, 2, 1] / 16 blur, stride 2 (the authors' Downsample, pad_more)."""

    def __init__(self, channels: int):
        super().__init__()
        a = torch.tensor([1.0, 2.0, 1.0])
        filt = a[:, None] * a[None, :]
        self.register_buffer("filt", (filt / filt.sum())[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), self.filt, stride=2, groups=x.shape[1])


def shift_tolerant_vgg16_slices() -> list[nn.Sequential]:
    """The five slices (up to relu1_2, relu2_2, relu3_3, relu4_3, relu5_3), children numbered as in the file."""
    slices, index, cin = [], 0, 3
    for k, (cout, n) in enumerate(zip(VGG16_CHANNELS, _CONVS_PER_SLICE)):
        s = nn.Sequential()
        if k:
            s.add_module(str(index), nn.MaxPool2d(2, stride=1))
            s.add_module(str(index + 1), BlurDownsample(cin))
            index += 2
        for _ in range(n):
            s.add_module(str(index), nn.Conv2d(cin, cout, 3, padding=1))
            s.add_module(str(index + 1), nn.ReLU())
            index, cin = index + 2, cout
        slices.append(s)
    return slices


class ShiftTolerantVGG16(nn.Module):
    def __init__(self):
        super().__init__()
        for k, s in enumerate(shift_tolerant_vgg16_slices(), start=1):
            self.add_module(f"slice{k}", s)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for k in range(1, 6):
            x = getattr(self, f"slice{k}")(x)
            feats.append(x)
        return feats


class ScalingLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188])[None, :, None, None])
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450])[None, :, None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) / self.scale


class LinearHead(nn.Module):
    """LPIPS's NetLinLayer: dropout (inactive in eval) then a bias-free 1x1 conv to one channel."""

    def __init__(self, channels: int):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def unit_normalise(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return x / (x.pow(2).sum(1, keepdim=True).sqrt() + eps)


class STLPIPS(nn.Module):
    """d(x0, x1) for images in [-1, 1], (N, 3, H, W) each -> (N,) distances (lower = more alike)."""

    def __init__(self):
        super().__init__()
        self.scaling_layer = ScalingLayer()
        self.net = ShiftTolerantVGG16()
        for k, c in enumerate(VGG16_CHANNELS):
            self.add_module(f"lin{k}", LinearHead(c))

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        f0, f1 = self.net(self.scaling_layer(x0)), self.net(self.scaling_layer(x1))
        total = 0
        for k, (a, b) in enumerate(zip(f0, f1)):
            diff = (unit_normalise(a) - unit_normalise(b)) ** 2
            total = total + getattr(self, f"lin{k}")(diff).mean((2, 3))
        return total.flatten()
